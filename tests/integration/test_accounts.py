"""Accounts on both engines: Argon2id, lockout, TOTP, idle time-out, tokens, the users CLI."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from gwanje.accounts import service
from gwanje.accounts.models import User, WebSession
from gwanje.cli import main
from gwanje.core.audit import Actor, AuditEntry, verify_chain
from gwanje.core.clock import utcnow
from gwanje.core.errors import AccountLocked, Conflict, NotAuthenticated, ValidationFailed

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


def test_five_failed_logins_lock_the_account_and_the_lock_sticks(db, policy):
    _add(db, policy)
    for _ in range(4):
        with pytest.raises(NotAuthenticated):
            _login(db, policy, "agent", "wrong-password")
    with pytest.raises(AccountLocked):
        _login(db, policy, "agent", "wrong-password")
    with pytest.raises(AccountLocked):
        _login(db, policy, "agent")  # the right password no longer helps
    with db.reading() as s:
        actions = [a for (a,) in s.execute(sa.select(AuditEntry.action).order_by(AuditEntry.seq))]
        assert actions.count("auth.login_failed") == 5 and "user.lock" in actions
        assert verify_chain(s).ok
    with db.uow() as uow:
        service.set_locked(uow, Actor.system("t"), "agent", False)
        uow.commit()
    assert _login(db, policy, "agent").user.username == "agent"


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
