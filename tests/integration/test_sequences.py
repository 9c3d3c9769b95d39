"""Sequence numbers on both engines (finding 4 of issue 8): a gap is counted per device, raised to
the district as a message-loss incident, and shown on ``GET /api/ingest/health``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from gwanje.registry.seed import seed_seongdong
from gwanje.situations import service
from gwanje.situations.events import IncidentRaised
from gwanje.situations.models import DeviceSequence, Incident, IncidentEvent
from tests.support import plate_read

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
CAMERA = "SD-AD-001-1"


def _read(n: int, seq: int, device: str = CAMERA, reset: bool = False) -> service.RawMessage:
    return plate_read(n, seq, device, CAMERA, reset)


def _ingest(h, items, at=T0):
    return service.ingest_batch(h.db, h.policy, items, now=at)


def _row(h, device: str = CAMERA) -> DeviceSequence:  # noqa: ANN001
    with h.db.reading() as s:
        return s.scalars(sa.select(DeviceSequence).where(DeviceSequence.device_id == device)).one()


def test_a_gap_is_counted_raised_to_the_it_role_and_shown_on_the_health_page(harness):
    seed_seongdong(harness.db, harness.policy)
    first = _ingest(harness, [_read(1, 1), _read(2, 2), _read(3, 3)])
    assert not [e for e in first.published if isinstance(e, IncidentRaised)]

    second = _ingest(harness, [_read(7, 7), _read(8, 8)], T0 + timedelta(seconds=5))
    raised = [e for e in second.published if isinstance(e, IncidentRaised)]
    assert len(raised) == 1
    row = _row(harness)
    assert (row.last_seq, row.missing, row.gaps, row.received) == (8, 3, 1, 5)
    with harness.db.reading() as s:
        incident = s.get(Incident, row.incident_id)
        assert incident.type == "message_loss" and incident.status == "new" and incident.inbox_id is None
        assert incident.assigned_role == "district_it_officer"
        assert incident.source == "mqtt:lpr" and incident.device_id == CAMERA
        assert json.loads(incident.details)["devices"] == {CAMERA: {"missing": 3, "gaps": [[4, 6]]}}

    # A second gap while the incident is open goes on its timeline; no second incident.
    third = _ingest(harness, [_read(10, 10), _read(5, 5)], T0 + timedelta(seconds=9))
    assert not [e for e in third.published if isinstance(e, IncidentRaised)]
    row = _row(harness)
    assert (row.last_seq, row.missing, row.late) == (10, 3, 1)  # 9 lost, 5 arrived late
    with harness.db.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Incident)) == 1
        actions = s.scalars(sa.select(IncidentEvent.action).where(IncidentEvent.incident_id == row.incident_id)).all()
        assert actions == ["created", "messages_lost"]

    it = harness.token("district_it_officer")
    health = harness.client.get("/api/ingest/health", headers=it)
    assert health.status_code == 200, health.text
    body = health.json()
    assert body["status"] == "loss" and body["missing"] == 3 and body["devices_with_loss"] == 1
    assert body["lossy_devices"][0]["device_id"] == CAMERA
    assert body["lossy_devices"][0]["incident_id"] == row.incident_id
    assert harness.client.get("/api/ingest/health").status_code == 401
    # the district's IT officer sees the incident on the board
    assert harness.client.get(f"/api/incidents/{row.incident_id}", headers=it).status_code == 200


def test_a_restart_marker_or_a_replay_is_not_a_loss(harness):
    seed_seongdong(harness.db, harness.policy)
    _ingest(harness, [_read(1, 1), _read(2, 2), _read(3, 3)])
    _ingest(harness, [_read(2, 2), _read(3, 3)], T0 + timedelta(seconds=1))  # re-deliveries
    _ingest(harness, [_read(100, 1, reset=True), _read(101, 2)], T0 + timedelta(seconds=2))
    row = _row(harness)
    assert (row.last_seq, row.missing, row.restarts, row.received) == (2, 0, 1, 5)
    body = harness.client.get("/api/ingest/health", headers=harness.token("district_manager")).json()
    assert body["status"] == "ok" and body["missing"] == 0 and body["lossy_devices"] == []
    with harness.db.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0


def test_devices_are_counted_apart_and_over_http(harness):
    seed_seongdong(harness.db, harness.policy)
    _ingest(harness, [_read(1, 1, "A"), _read(2, 1, "B"), _read(3, 5, "A"), _read(4, 2, "B")])
    assert (_row(harness, "A").missing, _row(harness, "B").missing) == (3, 0)
    # a second device of the same system losing messages joins the system's open incident
    _ingest(harness, [_read(5, 4, "B")], T0 + timedelta(seconds=1))
    assert _row(harness, "B").missing == 1
    assert _row(harness, "B").incident_id == _row(harness, "A").incident_id is not None
    device = harness.token("device")
    for n, seq in ((1, 1), (2, 4)):
        body = {"message_id": f"h-{n}", "type": "camera_recovery", "seq": seq, "payload": {"camera": CAMERA}}
        resp = harness.client.post("/api/events", json=body, headers={**device, "X-Device-Id": "nms-9"})
        assert resp.status_code == 202, resp.text
    assert _row(harness, "nms-9").missing == 2


def test_two_writers_on_the_same_device_count_every_message_once(harness):
    """Two processes ingest for one device (the MQTT consumer and the app's HTTP ingest): each
    keeps its own copy of the device rows on PostgreSQL; a copy made stale by the other writer is
    noticed, and the counts are those of one writer seeing everything."""
    from gwanje.core.db import Database

    seed_seongdong(harness.db, harness.policy)
    other = Database(harness.db.url)  # a second engine: its own cache, as another process has
    try:
        _ingest(harness, [_read(1, 1), _read(2, 2)])
        service.ingest_batch(other, harness.policy, [_read(3, 3), _read(4, 4)], now=T0 + timedelta(seconds=1))
        # this writer last saw seq 2; the row says 4: 5 follows 4, nothing is lost
        _ingest(harness, [_read(5, 5)], T0 + timedelta(seconds=2))
        row = _row(harness)
        assert (row.last_seq, row.received, row.missing, row.gaps) == (5, 5, 0, 0)
        # and the other writer, also behind now, finds a real gap against the row, not its copy
        service.ingest_batch(other, harness.policy, [_read(9, 9)], now=T0 + timedelta(seconds=3))
        row = _row(harness)
        assert (row.last_seq, row.received, row.missing, row.gaps) == (9, 6, 3, 1)
        with harness.db.reading() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(Incident)) == 1
    finally:
        other.dispose()


def test_a_device_first_heard_by_two_writers_gets_one_row(harness):
    from gwanje.core.db import Database

    seed_seongdong(harness.db, harness.policy)
    other = Database(harness.db.url)
    try:
        service.ingest_batch(other, harness.policy, [_read(1, 1, "cam-new")], now=T0)
        _ingest(harness, [_read(1, 1, "cam-x")])  # warms this writer's copy with another device
        _ingest(harness, [_read(2, 2, "cam-new")], T0 + timedelta(seconds=1))
        row = _row(harness, "cam-new")
        assert (row.last_seq, row.received, row.missing) == (2, 2, 0)
        with harness.db.reading() as s:
            n = s.scalar(
                sa.select(sa.func.count()).select_from(DeviceSequence).where(DeviceSequence.device_id == "cam-new")
            )
        assert n == 1
    finally:
        other.dispose()


def test_a_rolled_back_batch_leaves_the_cached_rows_as_committed(harness, monkeypatch):
    seed_seongdong(harness.db, harness.policy)
    _ingest(harness, [_read(1, 1), _read(2, 2)])
    from gwanje.situations import sequences

    real_save = sequences.save

    def failing_save(session, tracked):
        real_save(session, tracked)
        raise RuntimeError("the database went away mid-batch")

    monkeypatch.setattr(sequences, "save", failing_save)
    out = _ingest(harness, [_read(3, 3)], T0 + timedelta(seconds=1))
    assert [r.status for r in out.results] == ["rejected"]  # kept with the error, never lost
    monkeypatch.setattr(sequences, "save", real_save)
    _ingest(harness, [_read(4, 4)], T0 + timedelta(seconds=2))
    row = _row(harness)
    # seq 3's processing failed, so its number never advanced the row: 4 after 2 is one missing
    assert (row.last_seq, row.received, row.missing) == (4, 3, 1)
