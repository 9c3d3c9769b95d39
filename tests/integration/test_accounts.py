"""Accounts on both engines: Argon2id, throttling, TOTP, session lifetimes, tokens, the users CLI."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gwanje.accounts import service
from gwanje.accounts.models import LoginThrottle, User, WebSession
from gwanje.cli import main
from gwanje.core.audit import Actor, AuditEntry, verify_chain
from gwanje.core.clock import utcnow
from gwanje.core.errors import Conflict, NotAuthenticated, TooManyAttempts, ValidationFailed

PW = "a-long-password-1"


def _add(db, policy, username="agent", role="monitoring_agent", department=None):
    with db.uow() as uow:
        user, secret = service.add_user(
            uow,
            Actor.system("t"),
            policy,
            service.NewUser(username=username, display_name=username, role=role, password=PW, department=department),
        )
        uow.commit()
    return user, secret


def _login(db, policy, username, password=PW, code=None):
    with db.uow() as uow:
        return service.login(uow, policy, username, password, code)


def test_passwords_are_stored_as_argon2id(db, policy):
    user, secret = _add(db, policy)
    assert user.password_hash.startswith("$argon2id$")
    assert PW not in user.password_hash
    assert secret is None  # monitoring agents need no second factor


def test_bad_account_data_is_refused_with_the_field(db, policy):
    _add(db, policy)
    cases = [
        (dict(username="agent"), Conflict, "username"),
        (dict(username="bad name!"), ValidationFailed, "username"),
        (dict(role="wizard"), ValidationFailed, "role"),
        (dict(role="department_officer"), ValidationFailed, "department"),
        (dict(role="police_officer", department="sanitation"), ValidationFailed, "department"),
        (dict(password="short"), ValidationFailed, "password"),
    ]
    for overrides, error, field in cases:
        args = dict(username="new", display_name="n", role="monitoring_agent", password=PW) | overrides
        with pytest.raises(error) as info, db.uow() as uow:
            service.add_user(uow, Actor.system("t"), policy, service.NewUser(**args))
        assert info.value.field == field


def _throttle(db, kind="account"):
    with db.reading() as s:
        return s.scalars(sa.select(LoginThrottle).where(LoginThrottle.kind == kind)).all()


def _pass_time(db, seconds=0, failures_ago=None):
    """Move every throttle's wait (and, with ``failures_ago``, its last failure) into the past."""
    with db.uow() as uow:
        for row in uow.session.scalars(sa.select(LoginThrottle)):
            if row.blocked_until is not None:
                row.blocked_until = utcnow() - timedelta(seconds=seconds + 1)
            if failures_ago is not None:
                row.last_failure_at = utcnow() - failures_ago
        uow.commit()


def test_failed_logins_throttle_with_growing_waits_and_never_lock(db, policy):
    """Finding 8: five anonymous wrong passwords no longer lock an account until an administrator
    comes; each attempt past the threshold waits (429), the wait doubles, and it ends by itself."""
    _add(db, policy)
    sec = policy.security
    for _ in range(sec.throttle_after_failed_logins):
        with pytest.raises(NotAuthenticated):
            _login(db, policy, "agent", "wrong-password")
    with pytest.raises(TooManyAttempts) as first:
        _login(db, policy, "agent")  # even the right password waits
    assert 0 < first.value.retry_after <= sec.throttle_base_seconds and first.value.status == 429
    with db.reading() as s:
        assert not s.scalar(sa.select(User).where(User.username == "agent")).locked
    _pass_time(db)
    with pytest.raises(NotAuthenticated):
        _login(db, policy, "agent", "wrong-password")
    with pytest.raises(TooManyAttempts) as second:
        _login(db, policy, "agent", "wrong-password")
    assert sec.throttle_base_seconds < second.value.retry_after <= 2 * sec.throttle_base_seconds
    _pass_time(db)
    assert _login(db, policy, "agent").user.username == "agent"  # the wait is over: no administrator needed
    assert _throttle(db) == []  # a success clears the account name's count
    assert sec.throttle_seconds(10_000, 5) == sec.throttle_max_seconds  # capped
    with db.reading() as s:
        actions = [a for (a,) in s.execute(sa.select(AuditEntry.action).order_by(AuditEntry.seq))]
        assert actions.count("auth.login_failed") == 6 and actions.count("auth.login_throttled") == 2
        assert "user.lock" not in actions
        assert verify_chain(s).ok


def test_failures_are_forgotten_after_the_policy_time(db, policy):
    _add(db, policy)
    for _ in range(policy.security.throttle_after_failed_logins):
        with pytest.raises(NotAuthenticated):
            _login(db, policy, "agent", "wrong-password")
    _pass_time(db, failures_ago=timedelta(minutes=policy.security.failure_memory_minutes + 1))
    with pytest.raises(NotAuthenticated):  # counted afresh: one failure, no wait
        _login(db, policy, "agent", "wrong-password")
    assert [r.failures for r in _throttle(db)] == [1]
    assert _login(db, policy, "agent")


def test_one_source_is_throttled_across_account_names(db, policy):
    _add(db, policy)
    for i in range(policy.security.throttle_source_after_failed_logins):
        with pytest.raises(NotAuthenticated), db.uow() as uow:
            service.login(uow, policy, f"guess{i}", "wrong-password", None, source="198.51.100.7")
    with pytest.raises(TooManyAttempts), db.uow() as uow:
        service.login(uow, policy, "agent", PW, None, source="198.51.100.7")
    with db.uow() as uow:  # another address is not held up
        assert service.login(uow, policy, "agent", PW, None, source="198.51.100.8").user.username == "agent"


def test_unknown_users_wrong_passwords_and_locked_accounts_get_the_same_answer(harness):
    """Finding 8: 423 against 401 told which usernames exist; now every refusal reads the same, and
    an unknown name is throttled exactly like a real one."""
    from tests.conftest import PASSWORD

    harness.user("agent1", "monitoring_agent")
    harness.user("locked1", "monitoring_agent")
    with harness.db.uow() as uow:
        service.set_locked(uow, Actor.system("t"), "locked1", True)

    def attempt(username, password):
        resp = harness.client.post("/api/auth/token", json={"username": username, "password": password})
        body = resp.json()
        body.pop("request_id", None)
        return resp.status_code, body

    unknown = attempt("nobody", PASSWORD)
    wrong = attempt("agent1", "wrong-password")
    locked = attempt("locked1", PASSWORD)  # the right password of a locked account
    assert unknown[0] == wrong[0] == locked[0] == 401
    assert unknown[1] == wrong[1] == locked[1]
    for _ in range(harness.policy.security.throttle_after_failed_logins - 1):
        attempt("nobody", "x")
    resp = harness.client.post("/api/auth/token", json={"username": "nobody", "password": "x"})
    assert resp.status_code == 429 and int(resp.headers["retry-after"]) >= 1
    assert resp.json()["error"] == "too_many_attempts"
    with harness.db.reading() as s:
        assert all(len(r.key) == 64 for r in s.scalars(sa.select(LoginThrottle)))  # names are not kept


def test_a_totp_code_works_once(db, policy):
    """Finding 8: the same one-time code cannot sign in twice; the next time-step's code can."""
    user, secret = _add(db, policy, "boss", "district_manager")
    code = pyotp.TOTP(secret).now()
    assert _login(db, policy, "boss", code=code)
    with pytest.raises(NotAuthenticated, match="already used"):
        _login(db, policy, "boss", code=code)
    totp = pyotp.TOTP(secret)
    following = totp.generate_otp(totp.timecode(utcnow()) + 1)
    assert _login(db, policy, "boss", code=following)
    with pytest.raises(NotAuthenticated, match="already used"):
        _login(db, policy, "boss", code=code)  # an older step than the last one used is refused too


def test_sessions_end_after_the_absolute_lifetime_however_active(db, policy):
    _add(db, policy)
    result = _login(db, policy, "agent")
    with db.uow() as uow:
        ws = uow.session.scalar(sa.select(WebSession))
        ws.created_at = utcnow() - timedelta(hours=policy.security.session_absolute_hours, minutes=1)
        ws.last_seen_at = utcnow()  # active a moment ago
        uow.commit()
    with db.reading() as s:
        assert service.peek_session(s, policy, result.session_token) is None
    with db.uow() as uow:
        assert service.resolve_session(uow, policy, result.session_token) is None
    with db.reading() as s:
        assert s.scalar(sa.select(WebSession)).ended_at is not None


def test_tokens_have_short_default_lives_and_are_listed_and_revoked(harness):
    """Finding 8: a token for credentials lives the policy's default; owners list and revoke theirs,
    managers everyone's; a revocation is audited and the token stops working at once."""
    from tests.conftest import PASSWORD

    harness.user("agent1", "monitoring_agent")
    harness.user("agent2", "monitoring_agent")
    issued = harness.client.post("/api/auth/token", json={"username": "agent1", "password": PASSWORD, "name": "cli"})
    assert issued.status_code == 200, issued.text
    expires = datetime.fromisoformat(issued.json()["expires_at"])
    hours = harness.policy.security.token_default_hours
    assert abs((expires - utcnow()) - timedelta(hours=hours)) < timedelta(minutes=1)
    too_long = {"username": "agent1", "password": PASSWORD, "days": harness.policy.security.token_max_days + 1}
    assert harness.client.post("/api/auth/token", json=too_long).status_code == 422
    own = {"Authorization": f"Bearer {issued.json()['token']}"}
    other = harness.client.post("/api/auth/token", json={"username": "agent2", "password": PASSWORD})
    theirs = {"Authorization": f"Bearer {other.json()['token']}"}

    mine = harness.client.get("/api/tokens", headers=own).json()
    assert [(t["username"], t["name"], t["active"]) for t in mine] == [("agent1", "cli", True)]
    assert "token" not in mine[0]
    their_id = harness.client.get("/api/tokens", headers=theirs).json()[0]["id"]
    assert harness.client.delete(f"/api/tokens/{their_id}", headers=own).status_code == 404  # not mine
    assert harness.client.delete("/api/tokens/99999999999", headers=own).status_code == 422

    manager = harness.token("district_manager")
    listed = {t["username"] for t in harness.client.get("/api/tokens", headers=manager).json()}
    assert {"agent1", "agent2"} <= listed
    gone = harness.client.delete(f"/api/tokens/{their_id}", headers=manager)
    assert gone.status_code == 200 and not gone.json()["active"] and gone.json()["revoked_at"]
    assert harness.client.get("/api/me", headers=theirs).status_code == 401
    assert harness.client.delete(f"/api/tokens/{mine[0]['id']}", headers=own).status_code == 200
    assert harness.client.get("/api/tokens", headers=own).status_code == 401  # revoked: it no longer works
    auditor = harness.client.get("/api/tokens", headers=harness.token("auditor")).json()
    assert {t["username"] for t in auditor} == {"u1_auditor"}  # only its own
    with harness.db.reading() as s:
        revokes = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "token.revoke")).all()
        assert len(revokes) == 2 and verify_chain(s).ok


def test_successful_login_resets_the_failure_count(db, policy):
    _add(db, policy)
    for _ in range(4):
        with pytest.raises(NotAuthenticated):
            _login(db, policy, "agent", "wrong-password")
    _login(db, policy, "agent")
    for _ in range(4):
        with pytest.raises(NotAuthenticated):
            _login(db, policy, "agent", "wrong-password")
    assert _login(db, policy, "agent")


@pytest.mark.parametrize("role", ["district_manager", "police_officer", "police_112", "police_investigator"])
def test_managers_and_police_need_a_valid_totp_code(db, policy, role):
    user, secret = _add(db, policy, "p1", role)
    assert secret
    with pytest.raises(NotAuthenticated, match="TOTP"):
        _login(db, policy, "p1")
    with pytest.raises(NotAuthenticated):
        _login(db, policy, "p1", code="000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    assert _login(db, policy, "p1", code=pyotp.TOTP(secret).now()).user.role == role


def test_idle_sessions_expire(db, policy):
    _add(db, policy)
    result = _login(db, policy, "agent")
    with db.uow() as uow:
        assert service.resolve_session(uow, policy, result.session_token) is not None
    idle = policy.security.session_idle_timeout_minutes
    with db.uow() as uow:
        ws = uow.session.scalar(sa.select(WebSession))
        ws.last_seen_at = utcnow() - timedelta(minutes=idle + 1)
        uow.commit()
    with db.uow() as uow:
        assert service.resolve_session(uow, policy, result.session_token) is None
    with db.uow() as uow:
        assert service.resolve_session(uow, policy, "forged-token") is None


def test_tokens_stop_working_when_expired_or_the_user_is_locked(db, policy):
    user, _ = _add(db, policy)
    with db.uow() as uow:
        token = service.issue_token(uow, Actor.system("t"), uow.session.get(User, user.id), "cli", days=1)
        uow.commit()
    with db.reading() as s:
        assert service.resolve_token(s, token).username == "agent"
        assert service.resolve_token(s, token + "x") is None
    with db.uow() as uow:
        service.set_locked(uow, Actor.system("t"), "agent", True)
        uow.commit()
    with db.reading() as s:
        assert service.resolve_token(s, token) is None


def test_users_cli_adds_lists_locks_and_unlocks(db, monkeypatch):
    monkeypatch.setenv("GWANJE_DATABASE_URL", db.url)
    runner = CliRunner()
    out = runner.invoke(main, ["users", "add", "kim", "--role", "police_officer", "--password", PW])
    assert out.exit_code == 0, out.output
    assert "otpauth://" in out.output
    assert runner.invoke(main, ["users", "add", "kim", "--role", "police_officer", "--password", PW]).exit_code == 2
    bad = runner.invoke(main, ["users", "add", "lee", "--role", "wizard", "--password", PW])
    assert bad.exit_code == 2 and "unknown role" in bad.output
    assert runner.invoke(main, ["users", "lock", "kim"]).exit_code == 0
    listing = runner.invoke(main, ["users", "list"]).output
    assert "kim" in listing and "LOCKED" in listing
    assert runner.invoke(main, ["users", "unlock", "kim"]).exit_code == 0
    assert "LOCKED" not in runner.invoke(main, ["users", "list"]).output
    missing = runner.invoke(main, ["users", "lock", "nobody"])
    assert missing.exit_code == 3 and "not found" in missing.output
    otp = runner.invoke(main, ["users", "otp", "kim"])
    assert otp.exit_code == 0 and otp.output.strip().isdigit()


def test_a_role_change_is_audited_and_ends_the_sessions(db, policy, monkeypatch):
    _add(db, policy)
    session = _login(db, policy, "agent")
    monkeypatch.setenv("GWANJE_DATABASE_URL", db.url)
    out = CliRunner().invoke(main, ["users", "role", "agent", "police_officer"])
    assert out.exit_code == 0, out.output
    assert "otpauth://" in out.output  # police need a second factor
    with db.uow() as uow:
        assert service.resolve_session(uow, policy, session.session_token) is None
    with db.reading() as s:
        entry = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "user.role")).one()
        assert '"role":"monitoring_agent"' in entry.before and '"role":"police_officer"' in entry.after
    bad = CliRunner().invoke(main, ["users", "role", "agent", "department_officer"])
    assert bad.exit_code == 2 and "department" in bad.output


def test_demo_accounts_are_the_policys_and_each_can_sign_in(db, policy):
    import dataclasses

    from gwanje.accounts.demo import create_demo_accounts
    from gwanje.policy import load_policy
    from tests.fixtures.districts import HANBIT_POLICY

    made = create_demo_accounts(db, policy)
    assert [(a.username, a.role) for a in made] == [(a.username, a.role) for a in policy.demo_accounts]
    with db.reading() as s:
        dept = s.scalar(sa.select(User).where(User.username == "dept"))
        assert (dept.display_name, dept.department) == ("정부서 (자치행정과 담당)", "autonomous_admin")
    agent = next(a for a in made if a.role == "monitoring_agent")
    assert _login(db, policy, agent.username, agent.password).user.username == agent.username
    assert [a.username for a in create_demo_accounts(db, policy)] == [a.username for a in made]  # idempotent

    # Without a demo_accounts section: one account per role, named after the role code.
    hanbit = dataclasses.replace(load_policy(HANBIT_POLICY), demo_accounts=())
    by_role = {a.role: a for a in create_demo_accounts(db, hanbit)}
    assert sorted(by_role) == sorted(r.code for r in hanbit.roles)
    assert all(a.username == role for role, a in by_role.items())
    with db.reading() as s:
        staff = s.scalar(sa.select(User).where(User.username == "dept_staff"))
    assert staff.organisation == "gu_office" and hanbit.department(staff.department).organisation == "gu_office"
