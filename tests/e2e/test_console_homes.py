"""Issue 9 §5: each role lands on the page of its work, the 112 room's board link, device accounts
refused at the console sign-in, the audit-log page, clause titles on error pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from gwanje.accounts import service as accounts
from gwanje.core.audit import Actor, AuditEntry
from gwanje.policy import load_policy, parse_policy
from gwanje.policy.model import PolicyError
from tests.conftest import PASSWORD, fresh_totp
from tests.integration.test_audit_chain import _bypass_triggers

HTML = {"accept": "text/html,application/xhtml+xml"}


def _role_with_home(policy, home):
    return next(r.code for r in policy.roles if r.home == home)


def _sign_in(harness, role, username=None, next_url=None):
    username = username or f"h_{role}"[:60]
    with harness.db.uow() as uow:
        _, secret = accounts.add_user(
            uow,
            Actor.system("test"),
            harness.policy,
            accounts.NewUser(username=username, display_name=username, role=role, password=PASSWORD),
        )
        uow.commit()
    page = harness.client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    data = {"username": username, "password": PASSWORD, "login_csrf": token}
    if secret:
        data["otp"] = fresh_totp(secret)
    if next_url is not None:
        data["next"] = next_url
    return harness.client.post("/login", data=data, follow_redirects=False)


# ------------------------------------------------------------------ landing pages, 112 board


@pytest.mark.parametrize(
    ("home", "path"), [("board_112", "/board/112"), ("audit", "/audit"), ("board", "/board"), ("ingest", "/ingest")]
)
def test_each_role_lands_on_the_page_its_policy_names(harness, home, path):
    role = _role_with_home(harness.policy, home)
    resp = _sign_in(harness, role)
    assert resp.status_code == 303
    landing = harness.client.get(resp.headers["location"], follow_redirects=False)
    assert landing.status_code == 303 and landing.headers["location"] == path
    assert harness.client.get(path, headers=HTML).status_code == 200


def test_an_explicit_next_still_wins_and_strangers_are_sent_to_sign_in(harness):
    assert harness.client.get("/", headers=HTML, follow_redirects=False).headers["location"] == "/login"
    role = _role_with_home(harness.policy, "audit")
    resp = _sign_in(harness, role, next_url="/cameras")
    assert resp.headers["location"] == "/cameras"


def test_the_112_rooms_board_link_opens_its_own_board(harness):
    role = _role_with_home(harness.policy, "board_112")
    _sign_in(harness, role)
    page = harness.client.get("/cameras", headers=HTML).text
    assert re.search(r'<a href="/board/112" id="nav-board"', page)
    other = _role_with_home(harness.policy, "board")
    harness.client.cookies.clear()
    _sign_in(harness, other)
    assert re.search(r'<a href="/board" id="nav-board"', harness.client.get("/cameras", headers=HTML).text)


def test_policy_refuses_an_unknown_home_and_one_the_role_may_not_open(policy):
    text = Path(policy.source).read_text(encoding="utf-8")
    with pytest.raises(PolicyError) as unknown:
        parse_policy(text.replace("home: audit", "home: somewhere", 1))
    assert "somewhere" in str(unknown.value) and "home" in str(unknown.value)
    board_role = _role_with_home(policy, "board_112")
    # The 112 room may not read the audit log: landing it there is refused.
    with pytest.raises(PolicyError) as unreachable:
        parse_policy(text.replace("home: board_112", "home: audit", 1))
    assert board_role in str(unreachable.value) and "audit.read" in str(unreachable.value)
    assert load_policy(policy.source).role(board_role).home == "board_112"


# ------------------------------------------------------------------ device accounts


def test_a_device_account_is_refused_at_the_console_but_its_token_works(harness):
    device = next(r.code for r in harness.policy.roles if not r.console)
    resp = _sign_in(harness, device, username="bell_gw_1")
    assert resp.status_code == 403
    assert "gwanje_session=" not in " ".join(resp.headers.get_list("set-cookie"))
    assert "장치·API 전용 계정" in resp.text
    with harness.db.reading() as session:
        row = session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "auth.login_refused").order_by(AuditEntry.seq.desc())
        ).first()
        logins = session.scalar(
            sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "auth.login")
        )
    assert row is not None and row.object_id == "bell_gw_1" and '"no_console"' in row.after
    assert logins == 0
    # English reader, same refusal in English.
    harness.client.cookies.set("lang", "en")
    page = harness.client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    again = harness.client.post(
        "/login", data={"username": "bell_gw_1", "password": PASSWORD, "login_csrf": token}, follow_redirects=False
    )
    assert again.status_code == 403 and "device / API-only account" in again.text
    # A wrong password gets the ordinary answer: the refusal tells a stranger nothing.
    token = re.search(r'name="login_csrf" value="([^"]+)"', harness.client.get("/login").text).group(1)
    wrong = harness.client.post(
        "/login", data={"username": "bell_gw_1", "password": "nope", "login_csrf": token}, follow_redirects=False
    )
    assert wrong.status_code == 401
    # Its API token keeps working: the event endpoint lets it in (and then judges the message).
    headers = harness.token(device)
    assert harness.client.post("/api/events", content=b"{}", headers=headers).status_code not in (401, 403)


# ------------------------------------------------------------------ the audit page


def _audit(harness, n, action="test.thing", actor="tester", clause=None):
    from gwanje.core.audit import AuditLog, Change

    with harness.db.uow() as uow:
        log = AuditLog(uow.session)
        for i in range(n):
            log.append(Actor(None, actor), Change(action, "camera", f"C-{i}", clause=clause))
        uow.commit()


def test_the_audit_page_is_only_for_roles_that_read_the_audit_log(harness):
    readers = harness.policy.permission("audit.read").roles
    stranger = next(r.code for r in harness.policy.roles if r.console and r.code not in readers)
    _sign_in(harness, stranger)
    assert harness.client.get("/audit", headers=HTML).status_code == 403
    harness.client.cookies.clear()
    _sign_in(harness, _role_with_home(harness.policy, "audit"))
    page = harness.client.get("/audit", headers=HTML)
    assert page.status_code == 200 and 'id="audit-log"' in page.text and 'id="nav-audit"' in page.text


def test_the_audit_page_filters_on_the_server_and_pages(harness):
    _sign_in(harness, _role_with_home(harness.policy, "audit"))
    _audit(harness, 60, action="test.bulk", actor="bulk-writer")
    _audit(harness, 3, action="test.cited", actor="someone", clause="art-9-5")
    page = harness.client.get("/audit", params={"action": "test.bulk"}, headers=HTML).text
    seqs = [int(s) for s in re.findall(r'<tr data-seq="(\d+)">', page)]
    assert len(seqs) == 50 and seqs == sorted(seqs, reverse=True)
    older = re.search(r'id="audit-older" href="|href="([^"]+)" id="audit-older"', page).group(1).replace("&amp;", "&")
    second = harness.client.get(older, headers=HTML).text
    rest = [int(s) for s in re.findall(r'<tr data-seq="(\d+)">', second)]
    assert len(rest) == 10 and max(rest) < min(seqs) and 'id="audit-older"' not in second
    by_clause = harness.client.get("/audit", params={"clause": "art-9-5"}, headers=HTML).text
    assert len(re.findall(r'<tr data-seq="', by_clause)) == 3 and "test.bulk" not in by_clause
    by_actor = harness.client.get("/audit", params={"actor": "bulk", "object_id": "C-7"}, headers=HTML).text
    assert len(re.findall(r'<tr data-seq="', by_actor)) == 1
    future = harness.client.get("/audit", params={"since": "2999-01-01T00:00"}, headers=HTML).text
    assert 'id="audit-empty"' in future
    bad = harness.client.get("/audit", params={"since": "yesterday"}, headers=HTML)
    assert bad.status_code == 422 and "일시 형식" in bad.text


def test_the_audit_page_time_filter_reads_kst(harness):
    _sign_in(harness, _role_with_home(harness.policy, "audit"))
    _audit(harness, 1, action="test.kst")
    with harness.db.reading() as session:
        at = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "test.kst")).one().at
    from gwanje.core.clock import to_kst

    kst = to_kst(at).replace(second=0, microsecond=0)
    since = kst.strftime("%Y-%m-%dT%H:%M")
    hit = harness.client.get("/audit", params={"action": "test.kst", "since": since}, headers=HTML).text
    assert len(re.findall(r'<tr data-seq="', hit)) == 1
    # The same wall-clock time read as UTC would be nine hours later: nothing.
    from datetime import timedelta

    later = (kst + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    miss = harness.client.get("/audit", params={"action": "test.kst", "since": later}, headers=HTML).text
    assert 'id="audit-empty"' in miss


def test_the_audit_page_verifies_the_chain_and_shows_a_break(harness):
    _sign_in(harness, _role_with_home(harness.policy, "audit"))
    _audit(harness, 3)
    ok = harness.client.get("/audit/verify", headers=HTML)
    assert ok.status_code == 200 and 'data-ok="true"' in ok.text and 'id="latest-checkpoint"' in ok.text
    from gwanje.audit import service as audit_service

    _, checkpoint = audit_service.checkpoint_now(harness.db)
    assert checkpoint is not None
    signed = harness.client.get("/audit/verify", headers=HTML).text
    assert f"최근 서명 체크포인트 {checkpoint.number}번: {checkpoint.rows}행" in signed
    with harness.db.reading() as session:
        seq = session.scalar(sa.select(sa.func.max(AuditEntry.seq)).where(AuditEntry.action == "test.thing"))
    _bypass_triggers(harness.db, [f"UPDATE audit_log SET object_id = 'forged' WHERE seq = {int(seq)}"])
    broken = harness.client.get("/audit/verify", headers=HTML)
    assert 'data-ok="false"' in broken.text and "감사기록 사슬이 손상되었습니다" in broken.text


# ------------------------------------------------------------------ error pages cite clauses by title


def test_error_pages_show_the_clause_title_not_its_id(harness):
    readers = harness.policy.permission("audit.read").roles
    stranger = next(r.code for r in harness.policy.roles if r.console and r.code not in readers)
    _sign_in(harness, stranger)
    page = harness.client.get("/audit", headers=HTML)
    assert page.status_code == 403
    clause = harness.policy.clause(harness.policy.permission("audit.read").clause)
    assert clause.ko in page.text
    assert f"{clause.id}:" not in page.text


def test_the_audit_api_takes_the_same_filters(harness):
    _audit(harness, 4, action="test.api", actor="api-writer", clause="art-9-5")
    _audit(harness, 2, action="test.api", actor="other")
    headers = harness.token(_role_with_home(harness.policy, "audit"))
    rows = harness.client.get("/api/audit", params={"actor": "api-", "clause": "art-9-5"}, headers=headers).json()
    assert len(rows) == 4 and all(r["actor_name"] == "api-writer" for r in rows)
    typed = harness.client.get("/api/audit", params={"object_type": "camera", "action": "test.api"}, headers=headers)
    assert len(typed.json()) == 6
    later = harness.client.get("/api/audit", params={"since": "2999-01-01T00:00:00+09:00"}, headers=headers)
    assert later.status_code == 200 and later.json() == []
    naive = harness.client.get("/api/audit", params={"since": "2026-01-01T00:00:00"}, headers=headers)
    assert naive.status_code == 422 and naive.json()["message"]["ko"].startswith("시간대가 있는 일시")
    backwards = harness.client.get(
        "/api/audit",
        params={"since": "2026-02-01T00:00:00+09:00", "until": "2026-01-01T00:00:00+09:00"},
        headers=headers,
    )
    assert backwards.status_code == 422
