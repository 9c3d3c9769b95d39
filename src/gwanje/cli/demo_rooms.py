"""The demo's rooms (Annex 2 출입관리) from its first minute: who may enter which room, one visitor with
purpose and escort, and a few lines of the access log from the doors' badge readers.

Entry is granted through the rooms' own use case by the demo account that holds ``rooms.authorise``
(the IT officer), for at most the policy's ``max_authorisation_days``; who enters which room is read from
the policy (:func:`role_kind`): in Seongdong the IT officer, the district manager and the maintenance
staff every room, the monitoring agents the presence room (the situation room). The log lines are
``room_access`` device messages at the doors the policy names, stored through the ingest like any
door's (:func:`gwanje.situations.service.ingest_batch`), so what the console shows (who is inside, the
log, presence by badge) is what a real reader would have made.

Idempotent: an authorisation in force is kept, the day's visitor is kept, and the day's door messages
carry fixed ids per KST day, so a restart on the same database meets them as duplicates (no new rows).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from gwanje.accounts.models import User
from gwanje.center.rooms import service as rooms
from gwanje.center.rooms.models import RoomVisitor
from gwanje.core.clock import KST, utcnow
from gwanje.core.db import Database
from gwanje.policy import decisions
from gwanje.policy.model import Policy
from gwanje.situations import service as situations
from gwanje.situations.inbox import RawMessage

# What a demo account does in the rooms, read from the policy (see :func:`role_kind`).
KEEPER, WRITER, MAINTAINER, ON_DUTY = "keeper", "writer", "maintainer", "on_duty"
AUTHORISATION_DAYS = 180  # or the policy's max_authorisation_days, when that is shorter
SOURCE = "demo:doors"  # the inbox source of the demo's door messages
VISITOR = {
    "name": "장점검 (방문자)",
    "organisation": "KT 성동지사",
    "purpose": "시스템실 네트워크 장비 정기 점검 / scheduled network equipment check",
    "badge": "VISITOR-01",
}


def badge_of(username: str) -> str:
    """A demo account's badge number (the same on every machine, so the simulator can use it)."""
    return f"SD-{username.upper()}"


def role_kind(policy: Policy, role: str) -> str | None:
    """Who a role is in the rooms, from the policy: the ``keeper`` grants entry (``rooms.authorise``, the
    IT division), a ``writer`` keeps the log (``rooms.access_log.write``, the manager), a ``maintainer``
    responds to camera faults (the equipment is in the rooms: the maintenance staff), and ``on_duty``
    roles must be trained before duty in the presence room (the monitoring agents); others enter none."""
    if role in policy.roles_with("rooms.authorise"):
        return KEEPER
    if role in policy.roles_with("rooms.access_log.write"):
        return WRITER
    if any(role in s.respond_roles for s in policy.duty.situations if "camera_fault" in s.raised_by):
        return MAINTAINER
    if policy.presence is not None and policy.presence.requirement(role) is not None:
        return ON_DUTY
    return None


def rooms_for(policy: Policy, role: str) -> list[str]:
    """The rooms of ``duty.rooms`` a demo account of ``role`` is authorised for: every room, or for the
    roles on duty only the presence room."""
    if policy.rooms_access is None:
        return []
    kind = role_kind(policy, role)
    codes = [r.code for r in policy.duty.rooms]
    if kind == ON_DUTY:
        room = _presence_room(policy)
        return [room] if room in codes else []
    return codes if kind is not None else []


def demo_badges(policy: Policy) -> dict[str, list[str]]:
    """Room → the badges the demo authorises there, from the policy alone (``gwanje simulate`` without a
    database uses these)."""
    from gwanje.accounts.demo import demo_people

    out: dict[str, list[str]] = {}
    for person in demo_people(policy):
        for room in rooms_for(policy, person.role):
            out.setdefault(room, []).append(badge_of(person.username))
    return out


def authorised_badges(db: Database, policy: Policy) -> dict[str, list[str]]:
    """Room → the badges of the authorisations in force now (what a door would let through)."""
    if policy.rooms_access is None:
        return {}
    out: dict[str, list[str]] = {}
    for auth in rooms.authorisations(db, current_only=True):
        if auth.badge and auth.valid_from <= utcnow():
            out.setdefault(auth.room, []).append(auth.badge)
    return out


@dataclass
class SeededRooms:
    granted: int = 0
    visitors: int = 0
    log_lines: int = 0


def _door(policy: Policy, room: str) -> str | None:
    assert policy.rooms_access is not None
    return next((d.device for d in policy.rooms_access.doors if d.room == room), None)


def seed_demo_rooms(db: Database, policy: Policy, usernames: Sequence[str], now: datetime | None = None) -> SeededRooms:
    """Authorisations, the day's visitor and the day's door messages for the demo (see the module)."""
    out = SeededRooms()
    settings = policy.rooms_access
    if settings is None or not policy.duty.rooms:
        return out
    now = now or utcnow()
    with db.reading() as session:
        people = list(session.scalars(select(User).where(User.username.in_(list(usernames))).order_by(User.id)))
    granter = next(
        (u for u in people if decisions.role_has_permission(policy, u.role, "rooms.authorise").allowed), None
    )
    if granter is None:
        return out
    # Granted from two hours ago, so this morning's door messages fall inside the period.
    start = now - timedelta(hours=2)
    until = start + timedelta(days=min(AUTHORISATION_DAYS, settings.max_authorisation_days))
    current = rooms.authorisations(db, current_only=True)
    mine: dict[tuple[str, int], int] = {}
    for person in people:
        for room in rooms_for(policy, person.role):
            held = next((a for a in current if a.room == room and a.account_id == person.id), None)
            if held is None:
                held = rooms.grant(
                    db,
                    policy,
                    granter,
                    room=room,
                    valid_from=start,
                    valid_until=until,
                    purpose="데모: 담당 업무 / demo: duties in this room",
                    account_id=person.id,
                    badge=badge_of(person.username),
                )
                out.granted += 1
            mine[(room, person.id)] = held.id

    by_name = {p.username: p for p in people}
    visitor_room = next((r.code for r in policy.duty.rooms if r.code != _presence_room(policy)), None)
    escort = by_name.get(granter.username)
    visitor = None
    if visitor_room is not None and escort is not None and (visitor_room, escort.id) in mine:
        visitor = _todays_visitor(db, visitor_room, now)
        if visitor is None:
            visitor = rooms.register_visitor(
                db,
                policy,
                granter,
                room=visitor_room,
                name=VISITOR["name"],
                organisation=VISITOR["organisation"],
                purpose=VISITOR["purpose"],
                expected_from=now - timedelta(hours=1),
                expected_until=max(_next_midnight(now), now + timedelta(hours=6)),
                escort_authorisation_id=mine[(visitor_room, escort.id)],
                badge=VISITOR["badge"],
            )
            out.visitors += 1

    # The morning so far: (minutes ago, badge, room, event). Inside now: the log keeper (manager), the
    # agents and the maintenance staff in the presence room; the IT officer and the visitor in the other.
    presence_room = _presence_room(policy)
    morning = {
        WRITER: [(55, presence_room, "entry")],
        ON_DUTY: [(50, presence_room, "entry")],
        KEEPER: [(45, visitor_room, "entry")],
        MAINTAINER: [(35, visitor_room, "entry"), (15, visitor_room, "exit"), (14, presence_room, "entry")],
    }
    plan: list[tuple[int, str, str, str]] = []
    for person in people:
        allowed = rooms_for(policy, person.role)
        for minutes, room, event in morning.get(role_kind(policy, person.role) or "", []):
            if room in allowed:
                plan.append((minutes, badge_of(person.username), room, event))
    if visitor is not None:
        plan.append((40, visitor.badge or VISITOR["badge"], visitor.room, "entry"))
    plan.sort(key=lambda p: -p[0])
    day = now.astimezone(KST).strftime("%Y%m%d")
    batch = []
    for i, (minutes, badge, room, event) in enumerate(plan, 1):
        door = _door(policy, room)
        if door is None:
            continue
        body = {
            "message_id": f"demo-door-{day}-{i}",
            "type": "room_access",
            "occurred_at": (now - timedelta(minutes=minutes)).isoformat(timespec="seconds"),
            "device_id": door,
            "payload": {"door": door, "event": event, "badge": badge},
        }
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        batch.append(RawMessage(SOURCE, raw, "demo", door))
    if batch:
        result = situations.ingest_batch(db, policy, batch, now=now)
        out.log_lines = sum(1 for r in result.results if r.status == "stored")
    return out


def _presence_room(policy: Policy) -> str | None:
    return policy.presence.room if policy.presence is not None else None


def _next_midnight(now: datetime) -> datetime:
    """The next 00:00 KST after ``now`` (the day's visitor is expected until then)."""
    local = now.astimezone(KST)
    return (local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)).astimezone(now.tzinfo)


def _todays_visitor(db: Database, room: str, now: datetime) -> RoomVisitor | None:
    with db.reading() as session:
        return session.scalar(
            select(RoomVisitor)
            .where(
                RoomVisitor.room == room,
                RoomVisitor.name == VISITOR["name"],
                RoomVisitor.expected_from <= now - timedelta(minutes=45),
                RoomVisitor.expected_until > now,
            )
            .order_by(RoomVisitor.id.desc())
            .limit(1)
        )
