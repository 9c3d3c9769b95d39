"""The demo's rooms (issue 10 §4, Annex 2 출입관리) from its first minute, on both engines: the demo
accounts that enter are authorised (by the IT officer, within the policy's limit), one visitor is
expected with purpose and escort, and the morning's badges reached the access log as door messages
through the ingest, so ``/api/center/rooms`` says who is inside; a restart adds nothing and fails on
nothing; the simulator's door messages, stored like the demo's, are lines of the same log."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from gwanje.accounts.demo import create_demo_accounts
from gwanje.center.presence import service as presence
from gwanje.center.rooms.models import RoomAccessEntry, RoomAuthorisation, RoomVisitor
from gwanje.cli import demo_rooms
from gwanje.registry.seed import seed_seongdong
from gwanje.situations import simulator
from gwanje.situations.models import InboxMessage, Incident


def _seed(h):
    accounts = create_demo_accounts(h.db, h.policy)
    names = [a.username for a in accounts]
    presence.seed_demo_presence(h.db, h.policy, names)
    return names, demo_rooms.seed_demo_rooms(h.db, h.policy, names)


def _counts(h):
    with h.db.reading() as s:
        return {
            t.__tablename__: s.scalar(sa.select(sa.func.count()).select_from(t))
            for t in (RoomAuthorisation, RoomVisitor, RoomAccessEntry, InboxMessage, Incident)
        }


def _display(h, username):
    return next(p.display_name for p in h.policy.demo_accounts if p.username == username)


def test_the_demo_authorises_who_enters_expects_a_visitor_and_logs_the_mornings_badges(harness):
    names, seeded = _seed(harness)
    assert seeded.granted == 7 and seeded.visitors == 1 and seeded.log_lines == 7, seeded
    limit = timedelta(days=harness.policy.rooms_access.max_authorisation_days)
    with harness.db.reading() as s:
        auths = s.scalars(sa.select(RoomAuthorisation)).all()
        visitor = s.scalars(sa.select(RoomVisitor)).one()
        log = s.scalars(sa.select(RoomAccessEntry).order_by(RoomAccessEntry.at)).all()
    by_room: dict[str, set[str]] = {}
    for a in auths:
        by_room.setdefault(a.room, set()).add(a.person_name)
        assert a.granted_by == "itofficer" and a.valid_until - a.valid_from <= limit
        assert a.badge == demo_rooms.badge_of(next(n for n in names if _display(harness, n) == a.person_name))
    staff = {_display(harness, n) for n in ("itofficer", "manager", "maint")}
    assert by_room["system_room"] == staff, "no agent, police officer or stranger in the system room"
    assert by_room["situation_room"] == staff | {_display(harness, "agent")}
    assert visitor.purpose and visitor.organisation and visitor.escort_name == _display(harness, "itofficer")

    assert {e.source for e in log} == {"device:demo:doors"} and all(e.inbox_id for e in log)
    assert {e.door for e in log} == {d.device for d in harness.policy.rooms_access.doors}
    assert all(e.authorised for e in log) and not any(e.incident_id for e in log)
    assert [e.visitor_id for e in log if e.visitor_id] == [visitor.id]
    with harness.db.reading() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Incident)) == 0, "the demo's morning is calm"

    r = harness.client.get("/api/center/rooms", headers=harness.token("district_it_officer"))
    assert r.status_code == 200, r.text
    inside = {room["code"]: set(room["inside_now"]) for room in r.json()}
    assert inside["system_room"] == {_display(harness, "itofficer"), visitor.name}
    assert inside["situation_room"] == {_display(harness, n) for n in ("manager", "agent", "maint")}
    page = harness.client.get("/center/rooms", headers=harness.token("district_it_officer"))
    assert page.status_code == 200 and visitor.name in page.text


def test_a_restarted_demo_adds_no_rows_and_fails_on_nothing(harness):
    names, _ = _seed(harness)
    before = _counts(harness)
    again = demo_rooms.seed_demo_rooms(harness.db, harness.policy, names)
    assert (again.granted, again.visitors, again.log_lines) == (0, 0, 0)
    assert _counts(harness) == before


def test_a_lapsed_authorisation_is_granted_again_and_a_policy_without_rooms_seeds_nothing(harness):
    import dataclasses

    names, _ = _seed(harness)
    bare = dataclasses.replace(harness.policy, rooms_access=None)
    assert demo_rooms.seed_demo_rooms(harness.db, bare, names) == demo_rooms.SeededRooms()
    assert demo_rooms.authorised_badges(harness.db, bare) == {}
    with harness.db.uow() as uow:  # the agent's entry ends (revoked): a restart grants it anew
        auth = uow.session.scalars(
            sa.select(RoomAuthorisation).where(RoomAuthorisation.person_name == _display(harness, "agent"))
        ).one()
        auth.revoked_at, auth.revoked_by, auth.revoke_reason = auth.granted_at, "itofficer", "test"
        uow.commit()
    again = demo_rooms.seed_demo_rooms(harness.db, harness.policy, names)
    assert again.granted == 1
    assert (
        demo_rooms.authorised_badges(harness.db, harness.policy)["situation_room"].count(demo_rooms.badge_of("agent"))
        == 1
    )


def test_the_simulators_door_messages_become_lines_of_the_same_log(harness):
    seed_seongdong(harness.db, harness.policy)
    _seed(harness)
    badges = demo_rooms.authorised_badges(harness.db, harness.policy)
    mix = simulator.EventMix(simulator.load_cameras(harness.db), seed=4, **simulator.room_mix(harness.policy, badges))
    doors = [m for m in (mix.next() for _ in range(4000)) if m.type == "room_access"][:25]
    assert len(doors) == 25
    before = _counts(harness)[RoomAccessEntry.__tablename__]
    simulator.DirectSender(harness.db, harness.policy).send(doors)
    with harness.db.reading() as s:
        rows = s.scalars(sa.select(RoomAccessEntry).where(RoomAccessEntry.source == "device:sim:doors")).all()
        stored = s.scalars(sa.select(InboxMessage).where(InboxMessage.source == "sim:doors")).all()
    assert len(rows) == 25 == len(stored) and _counts(harness)[RoomAccessEntry.__tablename__] == before + 25
    assert all(m.status != "rejected" for m in stored), [m.error for m in stored if m.status == "rejected"]
    entries = [r for r in rows if r.event in ("entry", "exit")]
    assert entries and all(r.authorised and r.person_name for r in entries), "the demo's badges are known"


def test_the_demo_files_every_camera_in_the_equipment_register_once(harness):
    """Art. 2 ④, 5: the demo's register holds the registry's cameras from the first minute, filed by an
    account that may manage equipment; a restart files nothing twice."""
    from gwanje.cli.serve import _seed_demo_equipment
    from gwanje.maintenance.equipment.models import EquipmentItem
    from gwanje.registry.models import Camera

    seed_seongdong(harness.db, harness.policy)
    names = [a.username for a in create_demo_accounts(harness.db, harness.policy)]
    first = _seed_demo_equipment(harness.db, harness.policy, names)
    again = _seed_demo_equipment(harness.db, harness.policy, names)
    with harness.db.reading() as s:
        cameras = s.scalar(sa.select(sa.func.count()).select_from(Camera).where(Camera.retired_at.is_(None)))
        items = s.scalars(sa.select(EquipmentItem).where(EquipmentItem.camera_id.is_not(None))).all()
    assert cameras > 1000 and first.created == cameras and again.created == 0
    assert len(items) == cameras == len({i.camera_id for i in items})
    assert _seed_demo_equipment(harness.db, harness.policy, []) is None, "no manager among the accounts: nothing"
