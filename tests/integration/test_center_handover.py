"""Duty logs (근무일지) and handovers (인수인계), issue 10 §2, over HTTP on both engines: a signed log
cannot change and an edit in SQL after signing reads ``intact: false``; the handover gathers the open
incidents and pending deadlines; the incoming leader acknowledges it, the outgoing one cannot; another
organisation is refused; every step is audited."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from gwanje.access.provisions import service as provisions
from gwanje.center.handover.models import DutyLogEntry
from gwanje.core.audit import AuditEntry
from gwanje.core.clock import utcnow
from tests.integration.test_access import World


def _headers(h, username, role):
    from gwanje.accounts import service
    from gwanje.core.audit import Actor

    user = h.user(username, role)
    with h.db.uow() as uow:
        token = service.issue_token(uow, Actor.system("test"), user, "test")
        uow.commit()
    return user, {"Authorization": f"Bearer {token}"}


def _open(h, headers, team="A조"):
    start = utcnow() - timedelta(hours=8)
    r = h.client.post(
        "/api/center/duty-logs",
        json={
            "team": team,
            "period_start": start.isoformat(),
            "period_end": (start + timedelta(hours=12)).isoformat(),
            "members": ["홍길동", "김철수"],
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_a_signed_log_cannot_change_and_an_sql_edit_shows(harness):
    """Issue 10 §2 (annex-2): after the leader signs, no entry is added and it cannot be signed again
    (409); an UPDATE in SQL afterwards makes ``intact`` false."""
    h = harness
    _, lead = _headers(h, "lead1", "monitoring_agent")
    log = _open(h, lead)
    r = h.client.post(f"/api/center/duty-logs/{log['id']}/entries", json={"text": "순찰 영상 확인"}, headers=lead)
    assert r.status_code == 201, r.text
    r = h.client.post(f"/api/center/duty-logs/{log['id']}/sign", headers=lead)
    assert r.status_code == 200, r.text
    signed = r.json()
    assert signed["status"] == "signed" and signed["intact"] is True and len(signed["signed_hash"]) == 64

    r = h.client.post(f"/api/center/duty-logs/{log['id']}/entries", json={"text": "추가"}, headers=lead)
    assert r.status_code == 409 and r.json()["message"]["ko"]
    assert h.client.post(f"/api/center/duty-logs/{log['id']}/sign", headers=lead).status_code == 409
    assert h.client.get(f"/api/center/duty-logs/{log['id']}", headers=lead).json()["intact"] is True

    with h.db.engine.begin() as conn:
        conn.execute(sa.update(DutyLogEntry).where(DutyLogEntry.log_id == log["id"]).values(text="고쳐 씀"))
    again = h.client.get(f"/api/center/duty-logs/{log['id']}", headers=lead).json()
    assert again["intact"] is False and again["signed_hash"] == signed["signed_hash"]

    with h.db.reading() as s:
        actions = set(s.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "duty_log")))
        row = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "duty_log.signed")).one()
    assert {"duty_log.opened", "duty_log.entry_added", "duty_log.signed"} <= actions
    assert signed["signed_hash"] in (row.after or "")


def test_handover_gathers_open_incidents_and_deadlines_and_the_incoming_leader_acknowledges(harness):
    """Issue 10 §2: the outgoing shift's open incidents and pending access deadlines (Art. 11 ①'s
    document) become handover items; the outgoing leader cannot acknowledge; the incoming does."""
    h = harness
    world = World(h.db, h.policy)
    out_user, outgoing = _headers(h, "officer_out", "police_officer")
    _, incoming = _headers(h, "officer_in", "police_officer")
    cam = world.camera("H-1")
    incident = world.incident(camera_id=cam)
    start = utcnow() - timedelta(hours=1)
    emergency = provisions.open_emergency_access(
        h.db,
        h.policy,
        out_user,
        provisions.OpenEmergencyAccess(
            camera_ids=(cam,),
            period_start=start,
            period_end=start + timedelta(minutes=30),
            purpose="crime_prevention",
            legal_ground="urgent_life_body_property",
            reason="강도 신고",
            incident_id=incident,
        ),
    )

    log = _open(h, outgoing, team="경찰 주간")
    r = h.client.post(
        f"/api/center/duty-logs/{log['id']}/handover", json={"notes": ["순찰차 2대 출동 중"]}, headers=outgoing
    )
    assert r.status_code == 201, r.text
    handover = r.json()
    kinds = {(i["kind"], i["ref"]) for i in handover["items"]}
    assert ("incident", f"incident:{incident}") in kinds
    assert ("document", f"provision:{emergency.id}") in kinds
    assert ("note", None) in kinds and handover["status"] == "draft"

    # offering needs the signed log; signing freezes the items (and covers them in its hash)
    assert h.client.post(f"/api/center/handovers/{handover['id']}/offer", headers=outgoing).status_code == 409
    assert h.client.post(f"/api/center/duty-logs/{log['id']}/sign", headers=outgoing).status_code == 200
    assert h.client.post(f"/api/center/duty-logs/{log['id']}/handover", json={}, headers=outgoing).status_code == 409
    r = h.client.post(f"/api/center/handovers/{handover['id']}/offer", headers=outgoing)
    assert r.status_code == 200 and r.json()["status"] == "offered"

    own = h.client.post(f"/api/center/handovers/{handover['id']}/acknowledge", json={}, headers=outgoing)
    assert own.status_code == 403
    r = h.client.post(
        f"/api/center/handovers/{handover['id']}/acknowledge",
        json={"note": "인수 완료", "items": [{"position": 1, "note": "현장 확인 예정"}]},
        headers=incoming,
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "acknowledged" and done["acknowledged_by"] == "officer_in" and done["acknowledged_at"]
    assert done["items"][0]["ack_note"] == "현장 확인 예정"
    again = h.client.post(f"/api/center/handovers/{handover['id']}/acknowledge", json={}, headers=incoming)
    assert again.status_code == 409
    assert h.client.get(f"/api/center/duty-logs/{log['id']}", headers=incoming).json()["intact"] is True
    with h.db.reading() as s:
        actions = set(s.scalars(sa.select(AuditEntry.action).where(AuditEntry.object_type == "handover")))
    assert {"handover.prepared", "handover.offered", "handover.acknowledged"} <= actions


def test_another_organisation_is_refused_and_a_member_cannot_sign(harness):
    """Issue 10 §2 (annex-2): police may not write or sign the district's log (403), nor see it; a
    role that does not lead the shift may not open a log; the auditor reads every log."""
    h = harness
    _, district = _headers(h, "dm", "district_manager")
    _, police = _headers(h, "po", "police_officer")
    _, member = _headers(h, "p112", "police_112")
    _, auditor = _headers(h, "aud", "auditor")
    log = _open(h, district)
    assert (
        h.client.post(f"/api/center/duty-logs/{log['id']}/entries", json={"text": "x"}, headers=police).status_code
        == 403
    )
    assert h.client.post(f"/api/center/duty-logs/{log['id']}/sign", headers=police).status_code == 403
    assert h.client.post(f"/api/center/duty-logs/{log['id']}/handover", json={}, headers=police).status_code == 403
    assert h.client.get(f"/api/center/duty-logs/{log['id']}", headers=police).status_code == 404
    assert [row["id"] for row in h.client.get("/api/center/duty-logs", headers=police).json()] == []
    start = utcnow()
    r = h.client.post(
        "/api/center/duty-logs",
        json={"team": "B", "period_start": start.isoformat(), "period_end": (start + timedelta(hours=8)).isoformat()},
        headers=member,
    )
    assert r.status_code == 403
    assert h.client.get(f"/api/center/duty-logs/{log['id']}", headers=auditor).status_code == 200
    assert (
        h.client.post(f"/api/center/duty-logs/{log['id']}/entries", json={"text": "x"}, headers=auditor).status_code
        == 403
    )
    bad = h.client.post(
        "/api/center/duty-logs",
        json={"team": "B", "period_start": start.isoformat(), "period_end": start.isoformat()},
        headers=district,
    )
    assert bad.status_code == 422


def test_console_pages_show_the_log_and_a_change_after_signing(harness):
    """Issue 10 §5: the list, the log page and the printable page; a log changed after signing reads
    "서명 후 변경됨"."""
    h = harness
    _, lead = _headers(h, "lead_page", "district_manager")
    log = _open(h, lead, team="야간 B조")
    h.client.post(f"/api/center/duty-logs/{log['id']}/entries", json={"text": "야간 순찰 영상 확인"}, headers=lead)
    h.client.post(f"/api/center/duty-logs/{log['id']}/sign", headers=lead)
    page = h.client.get(f"/center/duty-logs/{log['id']}", headers=lead)
    assert page.status_code == 200 and "야간 순찰 영상 확인" in page.text and "서명 후 변경됨" not in page.text
    assert "야간 B조" in h.client.get("/center/duty-logs", headers=lead).text
    with h.db.engine.begin() as conn:
        conn.execute(sa.update(DutyLogEntry).where(DutyLogEntry.log_id == log["id"]).values(text="고쳐 씀"))
    printed = h.client.get(f"/center/duty-logs/{log['id']}/print", headers=lead)
    assert printed.status_code == 200 and "서명 후 변경됨" in printed.text
