"""Situations on both engines: every Annex 2 row routed day and night, the lifecycle, hot list."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from gwanje.policy import load_policy
from gwanje.registry.seed import seed_seongdong
from gwanje.situations import inbox, service
from gwanje.situations.events import IncidentRaised
from gwanje.situations.models import InboxMessage, Incident
from tests.conftest import Harness

DAY = "2026-11-20T12:00:00+09:00"
NIGHT = "2026-11-20T23:30:00+09:00"
CAMERA = "SD-AD-001-1"


def _msg(mid: str, type_: str, payload: dict, at: str = DAY) -> dict:
    return {"message_id": mid, "type": type_, "occurred_at": at, "payload": payload}


PAYLOADS = {
    "emergency_bell": {"bell_id": "B-1", "latitude": 37.5636, "longitude": 127.0369},
    "u_seoul_safety": {
        "person_id": "P-9",
        "category": "child",
        "latitude": 37.55,
        "longitude": 127.04,
        "accuracy_m": 15,
    },
    "video_analytics": {
        "camera": CAMERA,
        "rule": "loitering",
        "object_class": "person",
        "box": [0.1, 0.2, 0.1, 0.3],
        "confidence": 0.91,
    },
    "plate_read": {"camera": CAMERA, "plate": "12가3456", "confidence": 0.97},
    "camera_fault": {"camera": CAMERA, "fault": "video_loss"},
    "manual_report": {"title": "행당동 주취자 신고", "latitude": 37.557, "longitude": 127.03},
}

# Annex 2 (별표2): situation → responsible, who recognises (day / night), who responds.
EXPECTED = {
    "emergency_bell": (
        "emergency_bell",
        "police",
        ("maintenance_staff", "monitoring_agent"),
        ["police_112", "police_officer"],
        "annex-2",
    ),
    "u_seoul_safety": (
        "u_seoul_safety",
        "district",
        ("monitoring_agent", "monitoring_agent"),
        ["monitoring_agent"],
        "annex-2",
    ),
    "video_analytics": (
        "intelligent_event",
        "police",
        ("monitoring_agent", "monitoring_agent"),
        ["police_officer"],
        "annex-2",
    ),
    "plate_read": (
        "wanted_vehicle",
        "police",
        ("police_officer", "police_officer"),
        ["police_112", "police_officer"],
        "annex-2",
    ),
    "camera_fault": (
        "camera_fault",
        "district",
        ("maintenance_staff", "maintenance_staff"),
        ["maintenance_staff"],
        "annex-2",
    ),
    "manual_report": (
        "manual_report",
        "police",
        ("monitoring_agent", "monitoring_agent"),
        ["police_officer"],
        "art-10",
    ),
}


@pytest.fixture
def board(harness):
    seed_seongdong(harness.db, harness.policy)
    police = harness.token("police_officer")
    resp = harness.client.put(
        "/api/hotlist",
        content="차량번호,구분,사건번호,비고\n12가3456,수배,2026-001,\n34나5678,도난,2026-002,흰색 승용\n".encode(
            "utf-8"
        ),
        headers=police,
    )
    assert resp.status_code == 200, resp.text
    return harness


def _post(h: Harness, body: dict, device: str = "device") -> dict:
    resp = h.client.post("/api/events", json=body, headers=h.token(device))
    assert resp.status_code in (200, 202, 422), resp.text
    return resp.json()


def _incident(h: Harness, incident_id: int) -> dict:
    return h.client.get(f"/api/incidents/{incident_id}", headers=h.token("district_manager")).json()


@pytest.mark.parametrize("message_type", sorted(EXPECTED))
@pytest.mark.parametrize("when", ["day", "night"])
def test_every_annex2_row_routes_to_whom_the_agreement_says(board, message_type, when):
    at = DAY if when == "day" else NIGHT
    out = _post(board, _msg(f"{message_type}-{when}", message_type, PAYLOADS[message_type], at))
    assert out["status"] == "stored" and out["incident_id"], out
    inc = _incident(board, out["incident_id"])
    situation, responsible, recognisers, responders, clause = EXPECTED[message_type]
    assert inc["type"] == situation
    assert inc["responsible_org"] == responsible
    assert inc["period"] == when
    assert inc["recognising_role"] == recognisers[0 if when == "day" else 1]
    assert inc["assigned_role"] == inc["recognising_role"]
    assert inc["responding_roles"] == responders
    assert inc["clause"] == clause
    assert inc["timeline"][0]["action"] == "created"


def test_a_message_is_stored_once_and_a_replay_is_ignored(board):
    body = _msg("dup-1", "emergency_bell", PAYLOADS["emergency_bell"])
    first, second = _post(board, body), _post(board, body)
    assert first["status"] == "stored" and second["status"] == "duplicate"
    with board.db.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(InboxMessage)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(Incident)) == 1


@pytest.mark.parametrize(
    "raw, needle",
    [
        (b"{not json", "JSON"),
        (b"[1, 2]", "object"),
        (json.dumps({"message_id": "x1", "type": "emergency_bell", "payload": {}}).encode(), "bell_id"),
        (json.dumps({"message_id": "x2", "type": "teleport", "payload": {}}).encode(), "type"),
        (
            json.dumps(_msg("x3", "video_analytics", {**PAYLOADS["video_analytics"], "camera": "NOPE"})).encode(),
            "unknown or retired camera",
        ),
        (json.dumps(_msg("x4", "emergency_bell", {**PAYLOADS["emergency_bell"], "latitude": 0})).encode(), "latitude"),
        (b'{"message_id": "x5", "pad": "' + b"a" * 70_000 + b'"}', "larger"),
    ],
)
def test_bad_messages_are_kept_with_their_error(board, raw, needle):
    resp = board.client.post("/api/events", content=raw, headers=board.token("device"))
    assert resp.status_code == 422
    assert resp.json()["message"]["ko"] and resp.json()["message"]["en"]
    shelf = board.client.get("/api/inbox/rejected", headers=board.token("monitoring_agent")).json()
    assert len(shelf) == 1 and needle in shelf[0]["error"]
    again = board.client.post("/api/events", content=raw, headers=board.token("device"))
    assert again.json()["status"] == "duplicate"  # the same bad bytes are recognised, not stored twice
    good = _post(board, _msg("after-bad", "emergency_bell", PAYLOADS["emergency_bell"]))
    assert good["status"] == "stored"


def test_only_devices_post_events(board):
    resp = board.client.post(
        "/api/events",
        json=_msg("m", "emergency_bell", PAYLOADS["emergency_bell"]),
        headers=board.token("monitoring_agent"),
    )
    assert resp.status_code == 403


def test_hot_list_matches_exact_and_one_confusable_character_and_says_which(board):
    exact = _incident(board, _post(board, _msg("p1", "plate_read", PAYLOADS["plate_read"]))["incident_id"])
    assert exact["details"]["hotlist"]["kind"] == "exact"
    near = _post(board, _msg("p2", "plate_read", {**PAYLOADS["plate_read"], "plate": "34너5678"}))
    hit = _incident(board, near["incident_id"])["details"]["hotlist"]
    assert hit["kind"] == "confusable" and hit["plate"] == "34나5678"
    assert (hit["read_char"], hit["list_char"]) == ("너", "나") and hit["reason"] == "stolen"
    miss = _post(board, _msg("p3", "plate_read", {**PAYLOADS["plate_read"], "plate": "99허9999"}))
    assert miss["status"] == "stored" and miss["incident_id"] is None


def test_a_bad_hot_list_upload_changes_nothing(board):
    police = board.token("police_officer")
    before = board.client.get("/api/hotlist", headers=police).json()
    bad = board.client.put("/api/hotlist", content="차량번호,구분\n12가3456,수배\n???,도난\n".encode(), headers=police)
    assert bad.status_code == 422 and bad.json()["details"]["errors"][0]["line"] == 3
    assert board.client.get("/api/hotlist", headers=police).json() == before
    assert board.client.put("/api/hotlist", content=b"x", headers=board.token("monitoring_agent")).status_code == 403


def test_lifecycle_with_sop_dispatch_and_timeline(board):
    out = _post(board, _msg("life", "video_analytics", PAYLOADS["video_analytics"]))
    iid = out["incident_id"]
    agent, police = board.token("monitoring_agent"), board.token("police_officer")

    def act(action, who, **body):
        return board.client.post(f"/api/incidents/{iid}/actions/{action}", json=body, headers=who)

    assert act("resolve", agent).status_code == 409  # not from "new"
    assert act("acknowledge", agent).json()["status"] == "acknowledged"
    assert board.client.post(f"/api/incidents/{iid}/sop/verify_event", json={}, headers=agent).status_code == 200
    assert act("hand_over", agent).json()["assigned_role"] == "police_officer"
    assert act("dispatch", police).status_code == 422  # needs a unit
    assert act("dispatch", police, unit="성동12", note="왕십리 지구대").json()["status"] == "dispatched"
    refused = act("resolve", police)
    assert refused.status_code == 422 and set(refused.json()["details"]["missing"]) == {
        "hand_over",
        "judge_situation",
        "record_outcome",
    }
    for code in ("hand_over", "judge_situation"):
        board.client.post(f"/api/incidents/{iid}/sop/{code}", json={}, headers=police)
    skipped = board.client.post(
        f"/api/incidents/{iid}/sop/record_outcome", json={"skip_reason": "추후 입력"}, headers=police
    )
    assert skipped.json()["sop_skipped"] == ["record_outcome"]
    assert act("resolve", police).json()["status"] == "resolved"
    assert act("close", police).json()["status"] == "closed"
    detail = _incident(board, iid)
    actions = [e["action"] for e in detail["timeline"]]
    assert actions == [
        "created",
        "acknowledge",
        "sop.done",
        "hand_over",
        "dispatch",
        "sop.done",
        "sop.done",
        "sop.skipped",
        "resolve",
        "close",
    ]
    assert detail["dispatches"][0]["unit"] == "성동12"
    assert all(e["at"] for e in detail["timeline"])


def test_nobody_acknowledging_escalates_along_the_policy_chain(board):
    iid = _post(board, _msg("esc", "emergency_bell", PAYLOADS["emergency_bell"], NIGHT))["incident_id"]
    with board.db.reading() as s:
        created = s.get(Incident, iid).created_at
    minutes = board.policy.situation("emergency_bell").escalation.ack_minutes
    assert service.escalate_overdue(board.db, board.policy, created + timedelta(minutes=minutes - 1)) == []
    events = service.escalate_overdue(board.db, board.policy, created + timedelta(minutes=minutes + 1))
    assert [e.incident["assigned_role"] for e in events] == ["police_officer"]
    events = service.escalate_overdue(board.db, board.policy, created + timedelta(minutes=2 * minutes + 2))
    assert [e.incident["assigned_role"] for e in events] == ["police_112"]
    inc = _incident(board, iid)
    assert inc["escalation_level"] == 2
    assert [e["action"] for e in inc["timeline"]].count("escalated") == 2


def test_camera_fault_and_recovery_change_the_registry_and_are_audited(board):
    _post(board, _msg("f1", "camera_fault", PAYLOADS["camera_fault"]))
    cams = board.client.get("/api/cameras", params={"q": CAMERA}, headers=board.token("district_manager")).json()
    assert cams["items"][0]["status"] == "fault"
    _post(board, _msg("f2", "camera_recovery", {"camera": CAMERA}))
    cams = board.client.get("/api/cameras", params={"q": CAMERA}, headers=board.token("district_manager")).json()
    assert cams["items"][0]["status"] == "active"
    audit = board.client.get("/api/audit", params={"action": "camera.status"}, headers=board.token("auditor")).json()
    assert [json.loads(a["after"])["status"] for a in audit] == ["active", "fault"]


def test_a_batch_with_a_duplicate_inside_stores_it_once(board):
    body = json.dumps(_msg("b1", "emergency_bell", PAYLOADS["emergency_bell"])).encode()
    other = json.dumps(_msg("b2", "u_seoul_safety", PAYLOADS["u_seoul_safety"])).encode()
    batch = [
        service.RawMessage("mqtt:test", body),
        service.RawMessage("mqtt:test", other),
        service.RawMessage("mqtt:test", body),
    ]
    result = service.ingest_batch(board.db, board.policy, batch, now=datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc))
    assert [r.status for r in result.results] == ["stored", "stored", "duplicate"]
    assert len([e for e in result.published if isinstance(e, IncidentRaised)]) == 2


@pytest.mark.parametrize("size", [3, inbox.COPY_FROM_ROWS, 200], ids=["few", "threshold", "large"])
def test_batches_small_and_large_store_each_message_once_with_its_incidents(board, size):
    """Small batches go in one way on PostgreSQL, large ones another (COPY): both keep the same promise."""
    at = datetime(2026, 11, 20, 3, 0, tzinfo=timezone.utc)
    bodies = [
        json.dumps(_msg(f"n{size}-{i}", "emergency_bell", PAYLOADS["emergency_bell"])).encode() for i in range(size)
    ]
    service.ingest_batch(board.db, board.policy, [service.RawMessage("mqtt:test", bodies[0])], now=at)
    bad = b'{"message_id": "broken-%d", "type": "emergency_bell"}' % size
    batch = [service.RawMessage("mqtt:test", b) for b in bodies] + [
        service.RawMessage("mqtt:test", bodies[1]),
        service.RawMessage("mqtt:test", bad),
    ]
    result = service.ingest_batch(board.db, board.policy, batch, now=at)
    statuses = [r.status for r in result.results]
    assert statuses == ["duplicate"] + ["stored"] * (size - 1) + ["duplicate", "rejected"]
    raised = [e for e in result.published if isinstance(e, IncidentRaised)]
    assert len(raised) == size - 1
    with board.db.reading() as s:
        rows = s.execute(
            sa.select(InboxMessage.message_id, InboxMessage.status).where(
                InboxMessage.message_id.like(f"n{size}-%") | (InboxMessage.message_id == f"broken-{size}")
            )
        ).all()
        incidents = s.scalar(
            sa.select(sa.func.count())
            .select_from(Incident)
            .where(Incident.inbox_id.in_([r.inbox_id for r in result.results if r.inbox_id]))
        )
    assert sorted(r.message_id for r in rows) == sorted([f"n{size}-{i}" for i in range(size)] + [f"broken-{size}"])
    assert {r.message_id: r.status for r in rows}[f"broken-{size}"] == "rejected"
    assert incidents == size - 1
    assert {e.incident["id"] for e in raised} == {r.incident_id for r in result.results if r.status == "stored"}


def test_a_message_the_policy_raises_no_situation_for_is_kept_and_says_why(db, policy, tmp_path):
    # A district whose policy leaves u-Seoul signals out of its duty table: they are stored, not raised.
    text = Path(policy.source).read_text(encoding="utf-8")
    line = "      raised_by: [{message: u_seoul_safety}]\n"
    assert text.count(line) == 1
    custom = tmp_path / "no-u-seoul.yaml"
    custom.write_text(text.replace(line, ""), encoding="utf-8")
    h = Harness(db, load_policy(custom), tmp_path)
    with h.client:
        out = _post(h, _msg("us-1", "u_seoul_safety", PAYLOADS["u_seoul_safety"]))
        bell = _post(h, _msg("bell-1", "emergency_bell", PAYLOADS["emergency_bell"]))
    assert out["status"] == "stored" and out["inbox_id"] and out["incident_id"] is None
    assert "u_seoul_safety" in out["note"] and "no situation" in out["note"]
    assert bell["incident_id"] and bell["note"] is None
    with db.reading() as s:
        assert s.get(InboxMessage, out["inbox_id"]).status == "processed"
        assert s.scalars(sa.select(Incident.type)).all() == ["emergency_bell"]


def test_the_rejected_shelf_is_scoped_like_the_incidents_and_masks_personal_fields(board):
    """Finding 7: a u-Seoul person's id, position and phone reach only roles that may see the incident,
    and only the roles that handle situations see them unmasked."""
    person = {**PAYLOADS["u_seoul_safety"], "phone": "010-1234-5678"}  # an extra field: rejected
    useoul = json.dumps(_msg("bad-useoul", "u_seoul_safety", person)).encode()
    bell = json.dumps(_msg("bad-bell", "emergency_bell", {"bell_id": "B-7", "note": "김철수 010-9999-0000"})).encode()
    for raw in (useoul, bell, b"{not json P-9"):
        assert board.client.post("/api/events", content=raw, headers=board.token("device")).status_code == 422

    def shelf(role):
        resp = board.client.get("/api/inbox/rejected", headers=board.token(role))
        assert resp.status_code == 200, resp.text
        return {m["message_id"] or "?": m for m in resp.json()}

    agent = shelf("monitoring_agent")  # handles u-Seoul incidents: sees everything as it came
    assert {"bad-useoul", "bad-bell"} <= set(agent) and not agent["bad-useoul"]["masked"]
    assert "010-1234-5678" in agent["bad-useoul"]["raw"] and "P-9" in agent["bad-useoul"]["raw"]

    auditor = shelf("auditor")  # sees every incident, handles none: personal fields masked
    assert {"bad-useoul", "bad-bell"} <= set(auditor)
    for item in auditor.values():
        assert item["masked"]
        for secret in ("010-1234-5678", "P-9", "37.55", "김철수", "010-9999-0000"):
            assert secret not in item["raw"]
    assert json.loads(auditor["bad-useoul"]["raw"])["payload"]["person_id"] == "***"
    assert [m["raw"] for k, m in auditor.items() if k not in ("bad-useoul", "bad-bell")] == [""]  # not JSON

    police = shelf("police_112")  # sees police-routed incidents only: the bell, not the u-Seoul person
    assert set(police) == {"bad-bell"} and not police["bad-bell"]["masked"]
