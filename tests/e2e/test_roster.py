"""The roster over HTTP on both engines (issue 10 §1, agreement Art. 9 ①·②): an XLSX month of 4조 2교대
with bad rows reported by line, the long CSV format, idempotent re-import, overlaps, who keeps whose
roster, and the planned gaps."""

from __future__ import annotations

import io
from datetime import date

import sqlalchemy as sa
from openpyxl import Workbook

from gwanje.center.presence import service as presence
from gwanje.center.roster import rules
from gwanje.center.roster.models import Shift
from gwanje.core.audit import AuditEntry

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _agent(harness, username, trained=True):
    """A monitoring agent; with its required courses and security pledge on file (Art. 9 ④) unless not ``trained``."""
    agent = harness.user(username, "monitoring_agent")
    if trained:
        recorder = harness.user(f"rec_{username}"[:60], "district_manager")
        for course in ("security", "privacy", "operating_system"):
            presence.record_training(harness.db, harness.policy, recorder, agent.id, course, date(2026, 11, 1))
        presence.record_pledge(harness.db, harness.policy, recorder, agent.id, date(2026, 11, 1), "김관리")
    return agent


def _month_xlsx(policy, people):
    """A center's own month grid: a title row, renamed headers, 31 day columns, a repeated row,
    an unknown person and an unknown code."""
    pattern = policy.roster.pattern("4조2교대")
    first, last = rules.month_days("2026-12")
    book = Workbook()
    sheet = book.active
    sheet.append(["2026년 12월 관제센터 근무표"])  # line 1: a title, not the header
    sheet.append(["성명", "사용자ID", "근무조", "직무", *[f"{d}일" for d in range(1, 32)]])  # line 2
    rows = []
    for username, team in people:  # lines 3..6
        codes = [code for _, code in rules.expand_pattern(pattern, team, first, last)]
        rows.append([username, username, team, "모니터링 요원", *codes])
        sheet.append(rows[-1])
    sheet.append(["유령", "ghost", "1조", "", "주"])  # line 7: unknown person
    bad = [code for _, code in rules.expand_pattern(pattern, "2조", first, last)]
    bad[bad.index("주")] = "X"  # a working day
    sheet.append(["extra", "extra", "2조", "", *bad])  # line 8: one unknown code, the rest kept
    sheet.append(rows[0])  # line 9: repeats line 3
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_month_of_four_team_two_shift_keeps_good_rows_and_reports_bad_by_line(harness):
    """Art. 9 ①: a month of 4조 2교대 from XLSX; bad rows are reported by line, good rows kept, re-import idempotent."""
    people = [("agent1", "1조"), ("agent2", "2조"), ("agent3", "3조"), ("agent4", "4조")]
    for username, _ in [*people, ("extra", "")]:
        _agent(harness, username)
    manager = harness.token("district_manager")
    data = _month_xlsx(harness.policy, people)
    r = harness.client.post(
        "/api/center/roster/import",
        params={"filename": "2026-12.xlsx", "month": "2026-12"},
        content=data,
        headers={**manager, "Content-Type": XLSX},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    # 31 days, each team works 주 or 야 on half of them: 15 or 16 shifts.
    with harness.db.reading() as session:
        per_person = dict(session.execute(sa.select(Shift.username, sa.func.count()).group_by(Shift.username)).all())
    assert set(per_person) == {"agent1", "agent2", "agent3", "agent4", "extra"}
    assert all(15 <= per_person[u] <= 16 for u, _ in people)
    assert per_person["extra"] == per_person["agent2"] - 1  # the bad cell's day only
    lines = {e["line"]: e for e in report["errors"]}
    assert set(lines) == {7, 8}
    assert "ghost" in lines[7]["en"] and "X" in lines[8]["en"] and lines[8]["ko"]
    assert report["shifts_created"] == sum(per_person.values())
    assert report["rows_read"] == 7
    assert report["unchanged"] == per_person["agent1"]  # line 9 repeats line 3
    with harness.db.reading() as session:
        night = session.scalars(sa.select(Shift).where(Shift.code == "야").limit(1)).one()
        assert night.ends_at - night.starts_at == __import__("datetime").timedelta(hours=15)
        assert night.source == "2026-12.xlsx" and night.source_line in (3, 4, 5, 6, 8)
        assert session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "roster.imported")) == 1

    again = harness.client.post(
        "/api/center/roster/import",
        params={"filename": "2026-12.xlsx", "month": "2026-12"},
        content=data,
        headers={**manager, "Content-Type": XLSX},
    ).json()
    assert again["shifts_created"] == 0 and again["unchanged"] == report["shifts_created"] + per_person["agent1"]
    with harness.db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Shift)) == report["shifts_created"]


def test_csv_long_format_and_grid_without_month(harness):
    """Issue 10 §1: the long format (아이디, 일자, 근무 or 시작/종료) from CSV; day columns need a month."""
    harness.user("officer1", "police_officer")
    police = harness.token("police_officer")
    csv = (
        "아이디,일자,근무,시작,종료\n"
        "officer1,2026-12-01,야,,\n"
        "officer1,2026-12-02,,10:00,14:00\n"
        "officer1,2026-12-02,주,,\n"
        "officer1,12/40,주,,\n"
    )
    r = harness.client.post(
        "/api/center/roster/import",
        params={"filename": "long.csv"},
        content=csv.encode("utf-8-sig"),
        headers={**police, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["layout"] == "long" and body["shifts_created"] == 2
    assert sorted(e["line"] for e in body["errors"]) == [4, 5]  # line 4 overlaps 야 of the 1st; line 5 bad date
    shifts = harness.client.get(
        "/api/center/shifts",
        params={"from": "2026-12-01T00:00:00+09:00", "to": "2026-12-03T00:00:00+09:00"},
        headers=police,
    ).json()
    assert [(s["code"], s["starts_at"][:16]) for s in shifts] == [("야", "2026-12-01T09:00"), ("-", "2026-12-02T01:00")]

    grid = "이름,1,2\nofficer1,주,주\n"
    r = harness.client.post(
        "/api/center/roster/import",
        params={"filename": "grid.csv"},
        content=grid.encode(),
        headers={**police, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200 and r.json()["shifts_created"] == 0 and r.json()["errors"][0]["line"] == 1


def test_overlap_refused_and_each_roster_kept_by_its_own_organisation(harness):
    """Art. 9 ①: the district keeps its agents' roster, the police its officers'; overlaps are refused (409)."""
    _agent(harness, "agent9")
    harness.user("officer9", "police_officer")
    manager = harness.token("district_manager")
    police = harness.token("police_officer")
    r = harness.client.post(
        "/api/center/shifts", json={"username": "agent9", "day": "2026-12-24", "code": "야"}, headers=manager
    )
    assert r.status_code == 201, r.text
    shift_id = r.json()["id"]
    assert r.json()["starts_at"].startswith("2026-12-24T09:00")
    clash = harness.client.post(
        "/api/center/shifts",
        json={"username": "agent9", "starts_at": "2026-12-25T08:00:00+09:00", "ends_at": "2026-12-25T12:00:00+09:00"},
        headers=manager,
    )
    assert clash.status_code == 409
    after = harness.client.post(
        "/api/center/shifts", json={"username": "agent9", "day": "2026-12-25", "code": "주"}, headers=manager
    )
    assert after.status_code == 201  # 09:00 start, right when the night ends
    assert (
        harness.client.post(
            "/api/center/shifts", json={"username": "agent9", "day": "2026-12-26", "code": "휴"}, headers=manager
        ).status_code
        == 422
    )

    assert (
        harness.client.post(
            "/api/center/shifts", json={"username": "agent9", "day": "2026-12-27", "code": "주"}, headers=police
        ).status_code
        == 403
    )
    assert harness.client.delete(f"/api/center/shifts/{shift_id}", headers=police).status_code == 403
    assert (
        harness.client.post(
            "/api/center/shifts", json={"username": "officer9", "day": "2026-12-27", "code": "주"}, headers=manager
        ).status_code
        == 403
    )
    assert (
        harness.client.post(
            "/api/center/shifts", json={"username": "officer9", "day": "2026-12-27", "code": "주"}, headers=police
        ).status_code
        == 201
    )
    agent = harness.token("monitoring_agent")
    assert (
        harness.client.post(
            "/api/center/shifts", json={"username": "agent9", "day": "2026-12-28", "code": "주"}, headers=agent
        ).status_code
        == 403
    )

    assert harness.client.delete(f"/api/center/shifts/{shift_id}", headers=manager).status_code == 204
    with harness.db.reading() as session:
        actions = list(session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("shift.%"))))
    assert actions.count("shift.planned") == 3 and actions.count("shift.removed") == 1


def test_planned_gaps_of_a_period(harness):
    """Art. 9 ②: at least one stationed officer on duty; the hours with none planned are gaps."""
    harness.user("officer5", "police_officer")
    police = harness.token("police_officer")
    assert (
        harness.client.post(
            "/api/center/shifts", json={"username": "officer5", "day": "2026-12-24", "code": "주"}, headers=police
        ).status_code
        == 201
    )
    gaps = harness.client.get(
        "/api/center/roster/gaps",
        params={"from": "2026-12-24T00:00:00+09:00", "to": "2026-12-25T00:00:00+09:00"},
        headers=police,
    )
    assert gaps.status_code == 200, gaps.text
    police_gaps = [g for g in gaps.json() if g["organisation"] == "police"]
    assert [(g["starts_at"][:16], g["ends_at"][:16], g["planned"], g["minimum"]) for g in police_gaps] == [
        ("2026-12-23T15:00", "2026-12-24T00:00", 0, 1),
        ("2026-12-24T09:00", "2026-12-24T15:00", 0, 1),
    ]
    # the policy's other rule (at least one monitoring agent): nobody planned, the whole day is a gap
    agent_gaps = [g for g in gaps.json() if g["organisation"] == "district"]
    assert [(g["starts_at"][:16], g["ends_at"][:16], g["roles"]) for g in agent_gaps] == [
        ("2026-12-23T15:00", "2026-12-24T15:00", ["monitoring_agent"])
    ]
    too_long = harness.client.get(
        "/api/center/roster/gaps",
        params={"from": "2026-01-01T00:00:00+09:00", "to": "2026-12-25T00:00:00+09:00"},
        headers=police,
    )
    assert too_long.status_code == 422


def test_calendar_page_shows_shifts_and_gaps(harness):
    """Issue 10 §5: the roster calendar lists people × days with codes, and planned gaps in red."""
    harness.user("officer7", "police_officer")
    police = harness.token("police_officer")
    r = harness.client.post(
        "/api/center/shifts", json={"username": "officer7", "day": "2026-12-24", "code": "주"}, headers=police
    )
    assert r.status_code == 201
    page = harness.client.get("/center/roster", params={"month": "2026-12"}, headers=police)
    assert page.status_code == 200, page.text
    assert "officer7" in page.text and "planned-gaps" in page.text and "gap-day" in page.text
    css = harness.client.get("/center/roster/codes.css", headers=police)
    assert css.status_code == 200 and ".shift-c0" in css.text


def test_an_agent_whose_training_lapsed_or_without_a_pledge_is_not_rostered(harness):
    """Art. 9 ④: an agent without the required courses and pledge cannot be put on a shift, by hand or by import."""
    _agent(harness, "agent_new", trained=False)
    manager = harness.token("district_manager")
    r = harness.client.post(
        "/api/center/shifts", json={"username": "agent_new", "day": "2026-12-24", "code": "야"}, headers=manager
    )
    assert r.status_code == 403, r.text
    assert r.json()["message"]["ko"] and r.json()["clause"] == "art-9-4"
    csv_body = "username,date,code\nagent_new,2026-12-24,주\n".encode()
    r = harness.client.post(
        "/api/center/roster/import",
        params={"filename": "late.csv"},
        content=csv_body,
        headers={**manager, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["shifts_created"] == 0 and r.json()["errors"][0]["line"] == 2
    with harness.db.reading() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Shift)) == 0
