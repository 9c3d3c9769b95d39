"""Rooms over HTTP on both engines (Annex 2 출입관리): the IT officer grants and revokes entry with an
expiry, only the policy's roles read the 출입관리대장 and print it, door readers post ``room_access``
messages to ``POST /api/events`` (a replay is stored once, an unknown door is kept as rejected), and an
unauthorised entry, a refused badge and a door held or forced open raise one incident to the room's manager."""

from __future__ import annotations

import io
import subprocess
import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from gwanje.center.rooms.models import RoomAccessEntry
from gwanje.core.audit import AuditEntry
from gwanje.core.clock import to_kst, utcnow
from gwanje.situations.models import Incident

API = "/api/center/rooms"
SYSTEM_DOOR = "door-system-room"


def _iso(delta: timedelta = timedelta(0)) -> str:
    return (utcnow() + delta).isoformat()


def _body(**over: Any) -> dict:
    body = {
        "room": "system_room",
        "person_name": "김수리",
        "organisation": "유지보수 업체",
        "badge": "CARD-1",
        "purpose": "서버 유지보수",
        "valid_from": _iso(-timedelta(minutes=1)),
        "valid_until": _iso(timedelta(days=30)),
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def _grant(h, **over):
    r = h.client.post(f"{API}/authorisations", json=_body(**over), headers=h.token("district_it_officer"))
    assert r.status_code == 201, r.text
    return r.json()


def _bilingual(r: Any, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["message"]["ko"] and body["message"]["en"], body
    return body


def _door(h, event, badge=None, *, door=SYSTEM_DOOR, message_id=None, held=None):
    payload = {"door": door, "event": event}
    if badge is not None:
        payload["badge"] = badge
    if held is not None:
        payload["held_seconds"] = held
    message = {
        "message_id": message_id or f"door-{uuid.uuid4().hex[:12]}",
        "type": "room_access",
        "payload": payload,
    }
    return h.client.post("/api/events", json=message, headers=h.token("device"))


def _log(h: Any) -> list[RoomAccessEntry]:
    with h.db.reading() as s:
        return list(s.scalars(sa.select(RoomAccessEntry).order_by(RoomAccessEntry.id)))


def _open_alarms(h: Any) -> list[Incident]:
    with h.db.reading() as s:
        return list(
            s.scalars(
                sa.select(Incident)
                .where(Incident.type == "room_access", Incident.status != "closed")
                .order_by(Incident.id)
            )
        )


def _actions(h: Any, object_type: str) -> list[str]:
    with h.db.reading() as s:
        return list(
            s.scalars(
                sa.select(AuditEntry.action).where(AuditEntry.object_type == object_type).order_by(AuditEntry.seq)
            )
        )


# ---- authorisations ------------------------------------------------------------------------------


def test_the_it_officer_grants_entry_and_no_one_else_can(harness):
    """annex-2: entry to the system room is granted by 전산정보과 (rooms.authorise), no one else."""
    for role in ("police_officer", "monitoring_agent", "auditor", "district_manager", "device"):
        r = harness.client.post(f"{API}/authorisations", json=_body(), headers=harness.token(role))
        _bilingual(r, 403)
    _bilingual(harness.client.post(f"{API}/authorisations", json=_body()), 401)
    with harness.db.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(sa.text("center_room_authorisations"))) == 0

    granted = _grant(harness)
    assert granted["room"] == "system_room" and granted["badge"] == "CARD-1" and granted["revoked_at"] is None
    assert granted["granted_by"].endswith("district_it_officer")
    listed = harness.client.get(f"{API}/authorisations?current=true", headers=harness.token("district_manager"))
    assert listed.status_code == 200 and [a["id"] for a in listed.json()] == [granted["id"]]
    rooms = harness.client.get(API, headers=harness.token("district_it_officer")).json()
    assert {r["code"]: r["authorised_now"] for r in rooms} == {"system_room": 1, "situation_room": 0}
    assert _actions(harness, "room_authorisation") == ["room.entry_granted"]


def test_an_account_is_granted_under_its_name_on_file(harness):
    officer = harness.user("cop-rooms", "police_officer")
    granted = _grant(harness, room="situation_room", person_name=None, organisation=None, account_id=officer.id)
    assert granted["account_id"] == officer.id and granted["person_name"] == officer.display_name
    missing = harness.client.post(
        f"{API}/authorisations",
        json=_body(person_name=None, organisation=None, account_id=999_999),
        headers=harness.token("district_it_officer"),
    )
    assert _bilingual(missing, 404)["field"] == "account_id"


def test_expiry_is_bounded_by_the_policy_and_not_in_the_past(harness):
    """annex-2: an authorisation has an expiry, at most the policy's max_authorisation_days."""
    days = harness.policy.rooms_access.max_authorisation_days
    it = harness.token("district_it_officer")
    too_long = harness.client.post(
        f"{API}/authorisations", json=_body(valid_until=_iso(timedelta(days=days + 1))), headers=it
    )
    assert _bilingual(too_long, 422)["field"] == "valid_until"
    assert str(days) in too_long.json()["message"]["ko"] and str(days) in too_long.json()["message"]["en"]
    past = harness.client.post(
        f"{API}/authorisations",
        json=_body(valid_from=_iso(-timedelta(hours=5)), valid_until=_iso(-timedelta(hours=1))),
        headers=it,
    )
    assert _bilingual(past, 422)["field"] == "valid_until"
    backwards = harness.client.post(
        f"{API}/authorisations",
        json=_body(valid_from=_iso(timedelta(days=2)), valid_until=_iso(timedelta(days=1))),
        headers=it,
    )
    _bilingual(backwards, 422)
    naive = harness.client.post(f"{API}/authorisations", json=_body(valid_until="2030-01-01T00:00:00"), headers=it)
    _bilingual(naive, 422)
    unknown = harness.client.post(f"{API}/authorisations", json=_body(room="server_room_9"), headers=it)
    assert 400 <= unknown.status_code < 500 and _bilingual(unknown, unknown.status_code)["field"] == "room"
    assert harness.client.get(f"{API}/authorisations?room=server_room_9", headers=it).status_code == 422
    assert harness.client.get(f"{API}/authorisations", headers=it).json() == [], "nothing was granted"
    exactly = _grant(harness, valid_until=_iso(timedelta(days=days) - timedelta(minutes=2)))
    assert exactly["id"]


def test_revoking_ends_entry_and_is_audited(harness):
    granted = _grant(harness)
    url = f"{API}/authorisations/{granted['id']}/revoke"
    for role in ("police_officer", "district_manager", "auditor"):
        _bilingual(harness.client.post(url, json={"reason": "계약 종료"}, headers=harness.token(role)), 403)
    _bilingual(harness.client.post(url, json={"reason": "계약 종료"}), 401)
    it = harness.token("district_it_officer")
    _bilingual(harness.client.post(url, json={"reason": "  "}, headers=it), 422)
    _bilingual(harness.client.post(url, json={}, headers=it), 422)
    r = harness.client.post(url, json={"reason": "계약 종료"}, headers=it)
    assert r.status_code == 200, r.text
    assert r.json()["revoked_at"] and r.json()["revoke_reason"] == "계약 종료"
    _bilingual(harness.client.post(url, json={"reason": "다시"}, headers=it), 409)
    _bilingual(harness.client.post(f"{API}/authorisations/999999/revoke", json={"reason": "x"}, headers=it), 404)
    assert harness.client.get(f"{API}/authorisations?current=true", headers=it).json() == []
    assert _actions(harness, "room_authorisation") == ["room.entry_granted", "room.entry_revoked"]
    with harness.db.reading() as s:
        entry = s.scalar(sa.select(AuditEntry).where(AuditEntry.action == "room.entry_revoked"))
    assert entry.object_id == str(granted["id"]) and entry.role == "district_it_officer" and entry.clause == "annex-2"
    # The badge no longer opens the room.
    after = _door(harness, "entry", "CARD-1")
    assert after.status_code == 202 and after.json()["incident_id"] is not None


# ---- who reads the log ----------------------------------------------------------------------------


def test_only_the_policys_roles_read_the_access_log(harness):
    """annex-2: rooms.access_log.read — the IT officer, the district manager and the auditor."""
    readers = next(p.roles for p in harness.policy.permissions if p.code == "rooms.access_log.read")
    assert set(readers) == {"district_it_officer", "district_manager", "auditor"}
    for role in readers:
        r = harness.client.get(f"{API}/access-log", headers=harness.token(role))
        assert r.status_code == 200 and r.json() == {"entries": []}, (role, r.text)
    for role in ("police_officer", "monitoring_agent", "police_112", "device"):
        for path in ("/access-log", "/access-log.xlsx", "/access-log.pdf"):
            _bilingual(harness.client.get(f"{API}{path}", headers=harness.token(role)), 403)
    for path in ("", "/access-log", "/access-log.xlsx", "/access-log.pdf", "/authorisations", "/visitors"):
        _bilingual(harness.client.get(f"{API}{path}"), 401)
    assert harness.client.get(f"{API}/access-log?room=nowhere", headers=harness.token("auditor")).status_code == 422


# ---- door readers -----------------------------------------------------------------------------------


def test_an_authorised_badge_is_logged_quietly_and_a_stranger_raises_one_incident(harness):
    """annex-2: entry by someone not authorised raises the room's situation, once while it is open."""
    _grant(harness)
    ok = _door(harness, "entry", "CARD-1")
    assert ok.status_code == 202, ok.text
    assert ok.json()["status"] == "stored" and ok.json()["incident_id"] is None
    first = _door(harness, "entry", "CARD-X")
    assert first.status_code == 202 and first.json()["incident_id"] is not None
    second = _door(harness, "entry", "CARD-X")
    assert second.status_code == 202 and second.json()["incident_id"] == first.json()["incident_id"]
    [alarm] = _open_alarms(harness)
    assert alarm.id == first.json()["incident_id"] and alarm.assigned_role == "district_it_officer"
    log = _log(harness)
    assert [(e.event, e.badge, e.authorised, e.incident_id) for e in log] == [
        ("entry", "CARD-1", True, None),
        ("entry", "CARD-X", False, alarm.id),
        ("entry", "CARD-X", False, alarm.id),
    ]
    assert log[0].person_name == "김수리" and log[0].door == SYSTEM_DOOR
    assert all(e.source.startswith("device:") for e in log)
    read = harness.client.get(f"{API}/access-log?room=system_room", headers=harness.token("auditor")).json()
    assert [e["id"] for e in read["entries"]] == [e.id for e in log]
    rooms = {r["code"]: r for r in harness.client.get(API, headers=harness.token("district_manager")).json()}
    assert set(rooms["system_room"]["inside_now"]) == {"김수리", "CARD-X"}


def test_a_replayed_door_message_is_stored_once(harness):
    first = _door(harness, "entry", "CARD-X", message_id="door-replay-1")
    assert first.status_code == 202, first.text
    replay = _door(harness, "entry", "CARD-X", message_id="door-replay-1")
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    assert len(_log(harness)) == 1 and len(_open_alarms(harness)) == 1
    assert _actions(harness, "room_access") == ["room.access_logged"]


def test_an_unknown_door_is_refused_and_kept_as_rejected(harness):
    r = _door(harness, "entry", "CARD-1", door="door-nowhere", message_id="door-unknown-1")
    body = _bilingual(r, 422)
    assert body["error"] == "message_rejected" and "door-nowhere" in r.text
    bare = _door(harness, "entry", door=SYSTEM_DOOR, message_id="door-no-badge")
    assert _bilingual(bare, 422)["error"] == "message_rejected"
    assert _log(harness) == [] and _open_alarms(harness) == []
    shelf = harness.client.get("/api/inbox/rejected", headers=harness.token("district_it_officer"))
    assert shelf.status_code == 200, shelf.text
    kept = {m["message_id"]: m for m in shelf.json()}
    assert {"door-unknown-1", "door-no-badge"} <= set(kept)
    assert "door-nowhere" in kept["door-unknown-1"]["error"]
    bad_event = _door(harness, "opened", "CARD-1")
    assert _bilingual(bad_event, 422)["error"] == "message_rejected"


def test_a_held_or_forced_door_and_a_refused_badge_raise(harness):
    limit = harness.policy.rooms_access.held_open_seconds
    short = _door(harness, "held_open", held=limit - 1)
    assert short.status_code == 202 and short.json()["incident_id"] is None
    held = _door(harness, "held_open", held=limit + 30)
    forced = _door(harness, "forced")
    refused = _door(harness, "refused", "CARD-Z")
    ids = [r.json()["incident_id"] for r in (held, forced, refused)]
    assert all(ids) and len(set(ids)) == 3, ids
    assert {i.id for i in _open_alarms(harness)} == set(ids)
    log = _log(harness)
    assert [(e.event, bool(e.incident_id)) for e in log] == [
        ("held_open", False),
        ("held_open", True),
        ("forced", True),
        ("refused", True),
    ]
    assert str(limit) in (log[0].note or "")


def test_the_incident_goes_to_the_rooms_manager_per_the_duty_table(harness):
    """annex-2: the duty table's room_access situation — recognised by 전산정보과, the district manager behind."""
    situation = next(s for s in harness.policy.duty.situations if s.type == "room_access")
    incident_id = _door(harness, "entry", "CARD-X").json()["incident_id"]
    it = harness.client.get(f"/api/incidents/{incident_id}", headers=harness.token("district_it_officer"))
    assert it.status_code == 200, it.text
    assert situation.recognise_role.day == situation.recognise_role.night == "district_it_officer"
    assert it.json()["type"] == "room_access" and it.json()["assigned_role"] == "district_it_officer"
    assert set(it.json()["responding_roles"]) == set(situation.respond_roles)
    assert "시스템실" in it.json()["title"]
    listed = harness.client.get("/api/incidents", headers=harness.token("district_manager")).json()
    assert incident_id in {i["id"] for i in listed}
    # The 112 room sees only what is routed to the police; a room alarm is the district's.
    routed = harness.client.get("/api/incidents", headers=harness.token("police_112"))
    assert routed.status_code == 200 and incident_id not in {i["id"] for i in routed.json()}
    assert harness.client.get(f"/api/incidents/{incident_id}", headers=harness.token("police_112")).status_code in (
        403,
        404,
    )
    # Roles whose board is "all" see it but do not act on it; the room's manager does.
    for role in ("police_officer", "monitoring_agent"):
        act = harness.client.post(
            f"/api/incidents/{incident_id}/actions/acknowledge", json={}, headers=harness.token(role)
        )
        _bilingual(act, 403)
    ack = harness.client.post(
        f"/api/incidents/{incident_id}/actions/acknowledge", json={}, headers=harness.token("district_it_officer")
    )
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged", ack.text


# ---- the log is append-only ----------------------------------------------------------------------------


def test_the_access_log_refuses_update_and_delete_in_the_database(harness):
    """annex-2: the 출입관리대장 cannot be rewritten, even by someone with database access."""
    _door(harness, "entry", "CARD-X")
    for statement in (
        "UPDATE center_room_access_log SET authorised = true, person_name = '지움'",
        "DELETE FROM center_room_access_log",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), harness.db.engine.begin() as conn:
            conn.execute(sa.text(statement))
    [entry] = _log(harness)
    assert entry.authorised is False and entry.person_name is None and entry.badge == "CARD-X"
    # No route rewrites it either.
    manager = harness.token("district_manager")
    for method in ("PUT", "PATCH", "DELETE"):
        r = harness.client.request(method, f"{API}/access-log", headers=manager, json={})
        assert r.status_code == 405, (method, r.status_code)


# ---- the console's lines and the printed log ---------------------------------------------------------------


def test_console_lines_need_write_and_name_one_person(harness):
    auth = _grant(harness)
    line = {"room": "system_room", "event": "entry", "authorisation_id": auth["id"]}
    for role in ("police_officer", "monitoring_agent", "auditor"):
        _bilingual(harness.client.post(f"{API}/access-log", json=line, headers=harness.token(role)), 403)
    manager = harness.token("district_manager")
    r = harness.client.post(f"{API}/access-log", json=line, headers=manager)
    assert r.status_code == 201 and r.json()["authorised"] and r.json()["source"] == "console"
    both = harness.client.post(f"{API}/access-log", json={**line, "person_name": "둘"}, headers=manager)
    assert _bilingual(both, 422)["field"] == "person"
    future = harness.client.post(f"{API}/access-log", json={**line, "at": _iso(timedelta(hours=1))}, headers=manager)
    assert _bilingual(future, 422)["field"] == "at"
    stranger = harness.client.post(
        f"{API}/access-log",
        json={"room": "system_room", "event": "entry", "person_name": "모르는 사람"},
        headers=manager,
    )
    assert stranger.status_code == 201 and not stranger.json()["authorised"] and stranger.json()["incident_id"]
    forced = harness.client.post(f"{API}/access-log", json={**line, "event": "forced"}, headers=manager)
    _bilingual(forced, 422)
    assert _actions(harness, "room_access") == ["room.access_logged", "room.access_logged"]


def test_the_access_log_exports_as_xlsx_and_pdf_in_korean(harness):
    """annex-2: 출입관리대장, as a workbook and printable."""
    _grant(harness)
    _door(harness, "entry", "CARD-1")
    _door(harness, "exit", "CARD-1")
    _door(harness, "entry", "CARD-X")
    auditor = harness.token("auditor")
    r = harness.client.get(f"{API}/access-log.xlsx?room=system_room", headers=auditor)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["content-disposition"] and ".xlsx" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert sheet.title == "출입관리대장" and rows[0][0] == "시스템실 출입관리대장"
    assert "3건" in rows[1][0]
    header = list(rows[2])
    assert header[:5] == ["번호", "일시", "실", "구분", "성명"] and "인가" in header and "비고" in header
    data = [dict(zip(header, row, strict=True)) for row in rows[3:]]
    assert [(d["구분"], d["성명"] or d["카드"], d["인가"]) for d in data] == [
        ("입실", "김수리", "예"),
        ("퇴실", "김수리", "예"),
        ("입실", "CARD-X", "아니오"),
    ]
    assert data[0]["실"] == "시스템실" and data[0]["출입문·기록"] == SYSTEM_DOOR
    assert "상황" in data[2]["비고"]
    assert data[0]["일시"] == f"{to_kst(_log(harness)[0].at):%Y-%m-%d %H:%M:%S}", "times in KST"

    pdf = harness.client.get(f"{API}/access-log.pdf?room=system_room", headers=auditor)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True, timeout=60)
    words = out.stdout.decode("utf-8")
    assert "출입관리대장" in words and "시스템실" in words and "김수리" in words and "입실" in words

    empty = harness.client.get(f"{API}/access-log.xlsx?room=situation_room", headers=auditor)
    assert empty.status_code == 200 and "김수리" not in "\n".join(
        str(c) for row in load_workbook(io.BytesIO(empty.content)).active.iter_rows(values_only=True) for c in row
    )
    assert harness.client.get(f"{API}/access-log.pdf?room=nowhere", headers=auditor).status_code == 422


# ---- visitors ----------------------------------------------------------------------------------------------


def test_visitors_come_with_a_purpose_and_an_authorised_escort(harness):
    """annex-2: with visitors_need_escort, a visitor is escorted by someone authorised for the room."""
    assert harness.policy.rooms_access.visitors_need_escort
    escort = _grant(harness, person_name="박전산", badge="E-1")
    visit = {
        "room": "system_room",
        "name": "방문객",
        "organisation": "감사원",
        "purpose": "정기 점검",
        "expected_from": _iso(),
        "expected_until": _iso(timedelta(hours=2)),
    }
    manager = harness.token("district_manager")
    alone = harness.client.post(f"{API}/visitors", json=visit, headers=manager)
    assert _bilingual(alone, 422)["field"] == "escort"
    _bilingual(
        harness.client.post(f"{API}/visitors", json={**visit, "escort_authorisation_id": 99999}, headers=manager), 404
    )
    nopurpose = {**visit, "escort_authorisation_id": escort["id"], "purpose": ""}
    _bilingual(harness.client.post(f"{API}/visitors", json=nopurpose, headers=manager), 422)
    escorted = {**visit, "escort_authorisation_id": escort["id"], "badge": "V-1"}
    for role in ("police_officer", "monitoring_agent", "auditor"):
        _bilingual(harness.client.post(f"{API}/visitors", json=escorted, headers=harness.token(role)), 403)
    r = harness.client.post(f"{API}/visitors", json=escorted, headers=manager)
    assert r.status_code == 201, r.text
    assert r.json()["escort_name"] == "박전산" and r.json()["purpose"] == "정기 점검"
    longer = {**escorted, "badge": None, "expected_until": _iso(timedelta(days=40))}
    _bilingual(harness.client.post(f"{API}/visitors", json=longer, headers=manager), 422)
    # The visitor's temporary badge opens the door while the visit lasts, escorted.
    entry = _door(harness, "entry", "V-1")
    assert entry.status_code == 202 and entry.json()["incident_id"] is None
    [line] = _log(harness)
    assert line.visitor_id == r.json()["id"] and line.escort_name == "박전산" and line.authorised
    listed = harness.client.get(f"{API}/visitors?room=system_room", headers=harness.token("auditor"))
    assert [v["name"] for v in listed.json()] == ["방문객"]
    assert _actions(harness, "room_visitor") == ["room.visitor_registered"]
