"""Rooms on both engines (Annex 2 출입관리): entry authorisations with expiry, the append-only access log
from the console and from door readers (``room_access`` messages), visitors and escorts, and the
incidents an unauthorised entry, a refused badge and a held or forced door raise to the room's manager."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from gwanje.center.presence import service as presence
from gwanje.center.rooms import service
from gwanje.center.rooms.models import RoomAccessEntry
from gwanje.core.audit import AuditEntry
from gwanje.core.clock import utcnow
from gwanje.core.errors import ValidationFailed
from gwanje.situations.inbox import RawMessage
from gwanje.situations.models import InboxMessage, Incident
from gwanje.situations.service import ingest_batch

SYSTEM_DOOR = "door-system-room"
SITUATION_DOOR = "door-situation-room"


def _door(h, event, badge=None, *, door=SYSTEM_DOOR, message_id=None, held=None, at=None):
    payload = {"door": door, "event": event}
    if badge is not None:
        payload["badge"] = badge
    if held is not None:
        payload["held_seconds"] = held
    body = {"message_id": message_id or f"door-{uuid.uuid4().hex[:12]}", "type": "room_access", "payload": payload}
    if at is not None:
        body["occurred_at"] = at.isoformat()
    batch = ingest_batch(h.db, h.policy, [RawMessage("test-door", json.dumps(body).encode(), channel="mqtt")])
    return batch.results[0]


def _log(h):
    with h.db.reading() as s:
        return list(s.scalars(sa.select(RoomAccessEntry).order_by(RoomAccessEntry.id)))


def _alarms(h):
    with h.db.reading() as s:
        return list(s.scalars(sa.select(Incident).where(Incident.type == "room_access").order_by(Incident.id)))


def _grant(h, it, *, room="system_room", badge="CARD-1", days=30, account=None, name="김수리"):
    now = utcnow()
    return service.grant(
        h.db,
        h.policy,
        it,
        room=room,
        valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(days=days),
        purpose="서버 유지보수",
        account_id=account.id if account else None,
        person_name=None if account else name,
        organisation=None if account else "유지보수 업체",
        badge=badge,
    )


def test_an_unknown_badge_at_the_system_room_raises_one_incident_to_the_it_officer(harness):
    """annex-2: entry by someone not authorised raises the room's situation, once per person and room."""
    first = _door(harness, "entry", "CARD-X")
    assert first.status == "stored" and first.incident_id is not None
    again = _door(harness, "entry", "CARD-X")
    assert again.status == "stored" and again.incident_id == first.incident_id, "same badge: same open incident"
    alarms = _alarms(harness)
    assert len(alarms) == 1
    incident = alarms[0]
    assert incident.assigned_role == "district_it_officer" and incident.clause == "annex-2"
    assert "시스템실" in incident.title
    log = _log(harness)
    assert [(e.event, e.authorised, e.incident_id) for e in log] == [("entry", False, incident.id)] * 2
    assert log[0].door == SYSTEM_DOOR and log[0].source == "device:test-door"


def test_a_replayed_door_message_is_stored_once(harness):
    first = _door(harness, "entry", "CARD-X", message_id="door-same")
    replay = _door(harness, "entry", "CARD-X", message_id="door-same")
    assert first.status == "stored" and replay.status == "duplicate"
    assert len(_log(harness)) == 1
    with harness.db.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(InboxMessage)) == 1
        logged = s.scalar(
            sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "room.access_logged")
        )
    assert logged == 1, "one audit line per log line"


def test_an_authorised_badge_enters_quietly_until_its_authorisation_is_revoked(harness):
    it = harness.user("it", "district_it_officer")
    auth = _grant(harness, it)
    result = _door(harness, "entry", "CARD-1")
    assert result.incident_id is None
    _door(harness, "exit", "CARD-1")
    service.revoke(harness.db, harness.policy, it, auth.id, "계약 종료")
    after = _door(harness, "entry", "CARD-1")
    assert after.incident_id is not None
    log = _log(harness)
    assert [(e.event, e.authorised, e.person_name) for e in log] == [
        ("entry", True, "김수리"),
        ("exit", True, "김수리"),
        ("entry", False, "김수리"),
    ]
    assert "회수" in (log[-1].note or "")


def test_an_expired_authorisation_does_not_open_the_room(harness):
    it = harness.user("it", "district_it_officer")
    _grant(harness, it, days=1)
    later = utcnow() + timedelta(days=2)
    # The door's clock is believed only up to a few minutes ahead: a later time is taken as now.
    ahead = _door(harness, "entry", "CARD-1", at=later)
    assert ahead.incident_id is None and _log(harness)[0].at <= utcnow()
    with harness.db.uow() as uow:  # the same entry, but the day after the authorisation ran out
        from gwanje.center.rooms.models import RoomAuthorisation

        auth = uow.session.scalar(sa.select(RoomAuthorisation))
        auth.valid_until = utcnow() - timedelta(minutes=1)
        uow.commit()
    assert _door(harness, "entry", "CARD-1").incident_id is not None


def test_a_refused_badge_a_held_door_and_a_forced_door_raise_and_a_short_hold_does_not(harness):
    refused = _door(harness, "refused", "CARD-Z")
    short = _door(harness, "held_open", held=10)
    held = _door(harness, "held_open", held=harness.policy.rooms_access.held_open_seconds)
    forced = _door(harness, "forced")
    assert refused.incident_id and held.incident_id and forced.incident_id
    assert short.incident_id is None
    assert len({refused.incident_id, held.incident_id, forced.incident_id}) == 3
    facts = {json.loads(i.details)["alarm"] for i in _alarms(harness)}
    assert facts == {"refused", "held_open", "forced"}
    assert "60" in (_log(harness)[1].note or ""), "the short hold says why it raised nothing"


def test_a_message_from_an_unknown_door_or_without_a_badge_is_kept_with_its_error(harness):
    unknown = _door(harness, "entry", "CARD-1", door="door-nowhere")
    bare = _door(harness, "entry")
    assert unknown.status == "rejected" and "door-nowhere" in unknown.error
    assert bare.status == "rejected" and "badge" in bare.error
    assert _log(harness) == []
    with harness.db.reading() as s:
        errors = [m.error for m in s.scalars(sa.select(InboxMessage).order_by(InboxMessage.id))]
    assert len(errors) == 2 and all(errors)


def test_the_access_log_refuses_update_and_delete(harness):
    """annex-2: the 출입관리대장 is append-only, even to someone with database access."""
    _door(harness, "entry", "CARD-X")
    for statement in (
        "UPDATE center_room_access_log SET authorised = true",
        "DELETE FROM center_room_access_log",
    ):
        with pytest.raises(sa.exc.DBAPIError), harness.db.engine.begin() as conn:
            conn.execute(sa.text(statement))
    assert len(_log(harness)) == 1 and _log(harness)[0].authorised is False


def _train(h, user):
    boss = h.user(f"boss-{user.username}", "district_manager")
    for course in ("security", "privacy", "operating_system"):
        presence.record_training(h.db, h.policy, boss, user.id, course, date.today() - timedelta(days=30))
    presence.record_pledge(h.db, h.policy, boss, user.id, date.today() - timedelta(days=30), "관리책임자")


def test_a_badge_at_the_situation_room_checks_its_holder_in_and_out(harness):
    """art-9-2: presence by the situation room's door; an untrained agent's badge is logged, not checked in."""
    it = harness.user("it", "district_it_officer")
    officer = harness.user("officer", "police_officer")
    agent = harness.user("agent", "monitoring_agent")
    _grant(harness, it, room="situation_room", badge="P-1", account=officer)
    _grant(harness, it, room="situation_room", badge="A-1", account=agent)
    _door(harness, "entry", "P-1", door=SITUATION_DOOR)
    assert presence.is_present(harness.db, officer.id)
    _door(harness, "exit", "P-1", door=SITUATION_DOOR)
    assert not presence.is_present(harness.db, officer.id)
    _door(harness, "entry", "A-1", door=SITUATION_DOOR)
    assert not presence.is_present(harness.db, agent.id), "training lapsed: not on duty"
    log = _log(harness)
    assert "출근 기록 안 됨" in (log[-1].note or "") and log[-1].authorised
    _train(harness, agent)
    _door(harness, "exit", "A-1", door=SITUATION_DOOR)
    _door(harness, "entry", "A-1", door=SITUATION_DOOR)
    assert presence.is_present(harness.db, agent.id)
    with harness.db.reading() as s:
        from gwanje.center.presence.models import Presence

        vias = [p.via for p in s.scalars(sa.select(Presence).order_by(Presence.id))]
    assert vias == ["badge", "badge"]


def test_console_lines_visitors_and_escorts(harness):
    it = harness.user("it", "district_it_officer")
    manager = harness.user("manager", "district_manager")
    escort = _grant(harness, it, badge="E-1", name="박전산")
    now = utcnow()
    with pytest.raises(ValidationFailed) as refused:
        service.register_visitor(
            harness.db,
            harness.policy,
            manager,
            room="system_room",
            name="방문객",
            organisation="감사원",
            purpose="점검",
            expected_from=now,
            expected_until=now + timedelta(hours=2),
        )
    assert refused.value.field == "escort"
    visitor = service.register_visitor(
        harness.db,
        harness.policy,
        manager,
        room="system_room",
        name="방문객",
        organisation="감사원",
        purpose="점검",
        expected_from=now,
        expected_until=now + timedelta(hours=2),
        escort_authorisation_id=escort.id,
    )
    line = service.record(harness.db, harness.policy, manager, room="system_room", event="entry", visitor_id=visitor.id)
    assert line.authorised and line.escort_name == "박전산" and line.incident_id is None
    stranger = service.record(
        harness.db, harness.policy, manager, room="system_room", event="entry", person_name="모르는 사람"
    )
    assert not stranger.authorised and stranger.incident_id is not None
    with pytest.raises(ValidationFailed):
        service.record(
            harness.db,
            harness.policy,
            manager,
            room="system_room",
            event="entry",
            visitor_id=visitor.id,
            person_name="둘 다",
        )
    assert service.inside_now(harness.db, "system_room") == ["방문객", "모르는 사람"]
    # the latest line of each person decides: out after an exit, in again after the next entry
    service.record(harness.db, harness.policy, manager, room="system_room", event="exit", visitor_id=visitor.id)
    assert service.inside_now(harness.db, "system_room") == ["모르는 사람"]
    service.record(harness.db, harness.policy, manager, room="system_room", event="entry", visitor_id=visitor.id)
    assert service.inside_now(harness.db, "system_room") == ["모르는 사람", "방문객"]
    assert service.inside_now(harness.db, "situation_room") == []


def test_an_authorisation_longer_than_the_policy_allows_is_refused(harness):
    it = harness.user("it", "district_it_officer")
    with pytest.raises(ValidationFailed) as refused:
        _grant(harness, it, days=harness.policy.rooms_access.max_authorisation_days + 1)
    assert refused.value.field == "valid_until"
    _grant(harness, it, badge="CARD-1")
    with pytest.raises(ValidationFailed) as taken:
        _grant(harness, it, badge="CARD-1", name="다른 사람")
    assert taken.value.field == "badge", "one badge, one holder per room"


def test_a_batch_of_badges_is_resolved_and_evaluated_once_at_its_end(harness):
    """art-9-2 and Annex 2: a batch of door messages (as the MQTT consumer hands them over) resolves every
    badge as one at a time would, and the staffing rules are evaluated against the presence it leaves: the
    officer's badge-in in the batch closes the gap their earlier badge-out opened."""
    it = harness.user("it", "district_it_officer")
    officer = harness.user("officer", "police_officer")
    now = utcnow()
    service.grant(
        harness.db,
        harness.policy,
        it,
        room="situation_room",
        valid_from=now - timedelta(hours=3),
        valid_until=now + timedelta(days=30),
        purpose="상주 근무",
        account_id=officer.id,
        badge="P-1",
    )
    _grant(harness, it, room="system_room", badge="CARD-1")
    _door(harness, "entry", "P-1", door=SITUATION_DOOR, at=now - timedelta(hours=2))
    _door(harness, "exit", "P-1", door=SITUATION_DOOR, at=now - timedelta(hours=1))
    with harness.db.uow() as uow:
        presence.evaluate_staffing(uow, harness.policy, utcnow())
        uow.commit()
    with harness.db.reading() as s:
        gaps = list(s.scalars(sa.select(Incident).where(Incident.type == "staffing_gap")))
    assert [g.status for g in gaps if g.status != "closed"], "a police gap of an hour is past the grace"

    def raw(event, badge, door):
        body = {
            "message_id": f"door-{uuid.uuid4().hex[:12]}",
            "type": "room_access",
            "payload": {"door": door, "event": event, "badge": badge},
        }
        return RawMessage("test-door", json.dumps(body).encode(), channel="mqtt")

    batch = ingest_batch(
        harness.db,
        harness.policy,
        [
            raw("entry", "CARD-1", SYSTEM_DOOR),
            raw("entry", "NOBODY", SYSTEM_DOOR),
            raw("entry", "NOBODY", SYSTEM_DOOR),
            raw("entry", "P-1", SITUATION_DOOR),
            raw("exit", "CARD-1", SYSTEM_DOOR),
        ],
    )
    assert all(r.error is None for r in batch.results)
    lines = _log(harness)[-5:]
    assert [(e.badge, e.event, e.authorised) for e in lines] == [
        ("CARD-1", "entry", True),
        ("NOBODY", "entry", False),
        ("NOBODY", "entry", False),
        ("P-1", "entry", True),
        ("CARD-1", "exit", True),
    ]
    assert lines[1].incident_id is not None and lines[1].incident_id == lines[2].incident_id
    assert presence.is_present(harness.db, officer.id)
    with harness.db.reading() as s:
        gaps = list(s.scalars(sa.select(Incident).where(Incident.type == "staffing_gap")))
        audited = s.scalar(
            sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "room.access_logged")
        )
    assert all(g.status == "closed" for g in gaps)
    assert audited == len(_log(harness))
