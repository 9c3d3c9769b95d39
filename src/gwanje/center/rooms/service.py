"""Room use cases (Annex 2 출입관리): grant and revoke entry, register visitors, record entries and exits
from the console, and take ``room_access`` device messages from door readers, in the ingest's own
transaction (registered by the composition root as the handler of that message type).

Every line of the access log is a fact: an entry by someone not authorised is written as it happened,
marked so, and raises the policy's ``room_access`` situation to the room's manager; so do a refused
badge and a door held or forced open. The log is append-only (database triggers); every grant,
revocation, visitor and console line is in the audit chain, and every device line with its message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gwanje.accounts.models import User
from gwanje.center.presence import service as presence
from gwanje.center.rooms import rules
from gwanje.center.rooms.models import RoomAccessEntry, RoomAuthorisation, RoomVisitor
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database, UnitOfWork
from gwanje.core.errors import Conflict, DomainError, Forbidden, ValidationFailed, not_found
from gwanje.policy import decisions
from gwanje.policy.model import Policy, RoomDuty, RoomsAccess
from gwanje.situations import service as situations

TRIGGER = "room_access"


# ---- the policy's rooms -------------------------------------------------------------------------


def settings(policy: Policy) -> RoomsAccess:
    if policy.rooms_access is None:
        raise ValidationFailed(
            "이 정책에는 출입관리(rooms_access)가 없습니다", "this policy has no rooms_access section", field="room"
        )
    return policy.rooms_access


def room_of(policy: Policy, code: str) -> RoomDuty:
    for room in policy.duty.rooms:
        if room.code == code:
            return room
    known = ", ".join(r.code for r in policy.duty.rooms) or "-"
    raise ValidationFailed(
        f"알 수 없는 실 '{code}' (정의된 실: {known})", f"unknown room '{code}' (defined: {known})", field="room"
    )


def _actor(user: User, request_id: str | None) -> Actor:
    return Actor(id=user.id, name=user.username, organisation=user.organisation, role=user.role, request_id=request_id)


def _text(value: str | None, field: str, limit: int, *, required: bool = True) -> str | None:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"필수 입력 항목입니다: {field}", f"required: {field}", field=field)
    if len(value) > limit:
        raise ValidationFailed(
            f"{limit}자 이내로 입력하세요: {field}", f"at most {limit} characters: {field}", field=field
        )
    return value or None


# ---- authorisations ----------------------------------------------------------------------------


def _badge_holder(session: Session, room: str, badge: str, at: datetime) -> RoomAuthorisation | None:
    rows = session.scalars(
        select(RoomAuthorisation).where(RoomAuthorisation.room == room, RoomAuthorisation.badge == badge)
    ).all()
    return next((a for a in rows if rules.in_force(a, at)), None)


def grant(
    db: Database,
    policy: Policy,
    user: User,
    *,
    room: str,
    valid_from: datetime,
    valid_until: datetime,
    purpose: str,
    account_id: int | None = None,
    person_name: str | None = None,
    organisation: str | None = None,
    badge: str | None = None,
    request_id: str | None = None,
) -> RoomAuthorisation:
    """Entry to ``room`` for an account (its name and organisation as on file) or a named person,
    from ``valid_from`` until ``valid_until``, at most the policy's ``max_authorisation_days``."""
    rules_ = settings(policy)
    duty = room_of(policy, room)
    now = utcnow()
    refusal = rules.grant_refusal(valid_from, valid_until, rules_.max_authorisation_days, now)
    if refusal is not None:
        raise ValidationFailed(refusal.ko, refusal.en, field=refusal.field, clause=rules_.clause)
    purpose = _text(purpose, "purpose", 500) or ""
    badge = _text(badge, "badge", 120, required=False)
    with db.uow() as uow:
        session = uow.session
        if account_id is not None:
            account = session.get(User, account_id)
            if account is None:
                raise not_found("계정", "account", account_id, field="account_id")
            person_name, organisation = account.display_name, account.organisation
        person_name = _text(person_name, "person_name", 120)
        organisation = _text(organisation, "organisation", 120)
        if badge is not None:
            held = _badge_holder(session, room, badge, max(valid_from, now))
            if held is not None:
                raise ValidationFailed(
                    f"카드 {badge}는 이미 {held.person_name}에게 부여되어 있습니다",
                    f"badge {badge} is already {held.person_name}'s for this room",
                    field="badge",
                )
        auth = RoomAuthorisation(
            room=duty.code,
            account_id=account_id,
            person_name=person_name,
            organisation=organisation,
            badge=badge,
            purpose=purpose,
            valid_from=valid_from,
            valid_until=valid_until,
            granted_by=user.username,
            granted_at=now,
        )
        session.add(auth)
        session.flush()
        AuditLog(session).append(
            _actor(user, request_id),
            Change(
                "room.entry_granted",
                "room_authorisation",
                auth.id,
                None,
                {
                    "room": room,
                    "account_id": account_id,
                    "person_name": person_name,
                    "badge": badge,
                    "valid_from": valid_from.isoformat(),
                    "valid_until": valid_until.isoformat(),
                },
                clause=rules_.clause,
            ),
        )
        uow.commit()
        return auth


def revoke(
    db: Database, policy: Policy, user: User, authorisation_id: int, reason: str, *, request_id: str | None = None
) -> RoomAuthorisation:
    """End an authorisation now, with the reason; 409 when it is already revoked or over."""
    rules_ = settings(policy)
    reason = _text(reason, "reason", 500) or ""
    now = utcnow()
    with db.uow() as uow:
        session = uow.session
        auth = session.get(RoomAuthorisation, authorisation_id)
        if auth is None:
            raise not_found("출입 권한", "authorisation", authorisation_id)
        if auth.revoked_at is not None or auth.valid_until <= now:
            raise Conflict("이미 회수되었거나 만료된 권한입니다", "that authorisation is already revoked or over")
        auth.revoked_at, auth.revoked_by, auth.revoke_reason = now, user.username, reason
        session.flush()
        AuditLog(session).append(
            _actor(user, request_id),
            Change(
                "room.entry_revoked",
                "room_authorisation",
                auth.id,
                {"revoked_at": None},
                {"revoked_at": now.isoformat(), "reason": reason},
                clause=rules_.clause,
            ),
        )
        uow.commit()
        return auth


def authorisations(db: Database, room: str | None = None, *, current_only: bool = False) -> list[RoomAuthorisation]:
    now = utcnow()
    with db.reading() as session:
        q = select(RoomAuthorisation).order_by(RoomAuthorisation.room, RoomAuthorisation.person_name)
        if room is not None:
            q = q.where(RoomAuthorisation.room == room)
        if current_only:
            q = q.where(
                RoomAuthorisation.valid_until > now,
                or_(RoomAuthorisation.revoked_at.is_(None), RoomAuthorisation.revoked_at > now),
            )
        return list(session.scalars(q.limit(2000)))


# ---- visitors ------------------------------------------------------------------------------------


def register_visitor(
    db: Database,
    policy: Policy,
    user: User,
    *,
    room: str,
    name: str,
    organisation: str,
    purpose: str,
    expected_from: datetime,
    expected_until: datetime,
    escort_authorisation_id: int | None = None,
    badge: str | None = None,
    request_id: str | None = None,
) -> RoomVisitor:
    """A visitor expected in ``room``: with the policy's ``visitors_need_escort``, escorted by someone
    authorised for the room over the whole visit."""
    rules_ = settings(policy)
    room_of(policy, room)
    now = utcnow()
    if expected_until <= expected_from:
        raise ValidationFailed(
            "종료 일시가 시작 일시보다 늦어야 합니다", "the visit must end after it starts", field="expected_until"
        )
    if expected_until - expected_from > rules.MAX_VISIT:
        raise ValidationFailed("방문은 7일 이내여야 합니다", "a visit lasts at most 7 days", field="expected_until")
    if expected_until <= now:
        raise ValidationFailed("이미 지난 방문입니다", "that visit is already over", field="expected_until")
    name = _text(name, "name", 120) or ""
    organisation = _text(organisation, "organisation", 120) or ""
    purpose = _text(purpose, "purpose", 500) or ""
    badge = _text(badge, "badge", 120, required=False)
    with db.uow() as uow:
        session = uow.session
        escort = None
        if escort_authorisation_id is not None:
            escort = session.get(RoomAuthorisation, escort_authorisation_id)
            if escort is None or escort.room != room:
                raise not_found("동행자 출입 권한", "escort's authorisation", escort_authorisation_id, field="escort")
            if not (rules.in_force(escort, max(expected_from, now)) and escort.valid_until >= expected_until):
                raise ValidationFailed(
                    f"동행자 {escort.person_name}의 출입 권한이 방문 기간 전체를 포함하지 않습니다",
                    f"the escort {escort.person_name} is not authorised for the whole visit",
                    field="escort",
                    clause=rules_.clause,
                )
        elif rules_.visitors_need_escort:
            raise ValidationFailed(
                "방문자는 출입 권한이 있는 동행자가 필요합니다",
                "a visitor needs an authorised escort",
                field="escort",
                clause=rules_.clause,
            )
        if badge is not None and _badge_holder(session, room, badge, max(expected_from, now)) is not None:
            raise ValidationFailed(
                f"카드 {badge}는 이미 사용 중입니다", f"badge {badge} is someone's already", field="badge"
            )
        visitor = RoomVisitor(
            room=room,
            name=name,
            organisation=organisation,
            purpose=purpose,
            escort_authorisation_id=escort.id if escort else None,
            escort_name=escort.person_name if escort else None,
            badge=badge,
            expected_from=expected_from,
            expected_until=expected_until,
            registered_by=user.username,
            registered_at=now,
        )
        session.add(visitor)
        session.flush()
        AuditLog(session).append(
            _actor(user, request_id),
            Change(
                "room.visitor_registered",
                "room_visitor",
                visitor.id,
                None,
                {
                    "room": room,
                    "name": name,
                    "organisation": organisation,
                    "escort": visitor.escort_name,
                    "expected_from": expected_from.isoformat(),
                    "expected_until": expected_until.isoformat(),
                },
                clause=rules_.clause,
            ),
        )
        uow.commit()
        return visitor


def visitors(db: Database, room: str | None = None, limit: int = 500) -> list[RoomVisitor]:
    with db.reading() as session:
        q = select(RoomVisitor).order_by(RoomVisitor.expected_from.desc())
        if room is not None:
            q = q.where(RoomVisitor.room == room)
        return list(session.scalars(q.limit(limit)))


# ---- the access log ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Who:
    """Whom a log line is about, as decided from the authorisations and visitors in force."""

    name: str | None
    organisation: str | None
    account_id: int | None
    authorisation_id: int | None
    visitor_id: int | None
    escort_name: str | None
    authorised: bool
    reason: tuple[str, str] | None  # (ko, en) why not authorised


def _visitor_in_force(visitor: RoomVisitor, session: Session, at: datetime) -> tuple[bool, tuple[str, str] | None]:
    if not visitor.expected_from - rules.CLOCK_SKEW <= at < visitor.expected_until:
        return False, ("방문 예정 시간이 아닙니다", "outside the visit's expected hours")
    if visitor.escort_authorisation_id is not None:
        escort = session.get(RoomAuthorisation, visitor.escort_authorisation_id)
        if escort is None or not rules.in_force(escort, at):
            return False, ("동행자의 출입 권한이 없습니다", "the escort is no longer authorised")
    return True, None


def _from_authorisation(auth: RoomAuthorisation, at: datetime) -> Who:
    ok = rules.in_force(auth, at)
    reason = None
    if not ok:
        reason = (
            ("출입 권한이 회수되었습니다", "entry was revoked")
            if auth.revoked_at
            else ("출입 권한 기간이 아닙니다", "outside the authorisation's period")
        )
    return Who(auth.person_name, auth.organisation, auth.account_id, auth.id, None, None, ok, reason)


def _from_visitor(session: Session, visitor: RoomVisitor, at: datetime) -> Who:
    ok, reason = _visitor_in_force(visitor, session, at)
    return Who(visitor.name, visitor.organisation, None, None, visitor.id, visitor.escort_name, ok, reason)


@dataclass
class BadgeIndex:
    """The authorisations and visitors of a set of badges, loaded in two queries, so that a batch of door
    messages resolves each badge without a round trip (the rows do not change during an ingest)."""

    authorisations: dict[tuple[str, str], list[RoomAuthorisation]]
    visitors: dict[tuple[str, str], list[RoomVisitor]]

    @classmethod
    def load(cls, session: Session, badges: set[str]) -> BadgeIndex:
        auths: dict[tuple[str, str], list[RoomAuthorisation]] = {}
        visits: dict[tuple[str, str], list[RoomVisitor]] = {}
        if badges:
            for a in session.scalars(select(RoomAuthorisation).where(RoomAuthorisation.badge.in_(badges))):
                auths.setdefault((a.room, a.badge), []).append(a)
            for v in session.scalars(select(RoomVisitor).where(RoomVisitor.badge.in_(badges))):
                visits.setdefault((v.room, v.badge), []).append(v)
        return cls(auths, visits)


def _by_badge(session: Session, room: str, badge: str, at: datetime, index: BadgeIndex) -> Who:
    """Whom ``badge`` at ``room`` is at ``at``: the holder of an authorisation in force; else the latest
    visitor given that badge; else the latest holder whose authorisation is over (marked so); else nobody
    on file."""
    auths = index.authorisations.get((room, badge), [])
    holder = next((a for a in auths if rules.in_force(a, at)), None)
    if holder is not None:
        return _from_authorisation(holder, at)
    visits = index.visitors.get((room, badge), [])
    if visits:
        return _from_visitor(session, max(visits, key=lambda v: (v.expected_from, v.id)), at)
    if auths:
        return _from_authorisation(max(auths, key=lambda a: (a.valid_until, a.id)), at)
    return Who(None, None, None, None, None, None, False, ("등록되지 않은 카드입니다", "badge not on file"))


def _write(
    uow: UnitOfWork,
    policy: Policy,
    *,
    room: str,
    at: datetime,
    event: str,
    who: Who,
    badge: str | None,
    door: str | None,
    source: str,
    recorded_by: Actor,
    inbox_id: int | None = None,
    held_seconds: int | None = None,
    note: str | None = None,
    batch: bool = False,
) -> tuple[RoomAccessEntry, object | None, bool]:
    """One log line, the alarm it raises (one open incident per room and who or door) and, for an entry to
    or exit from the presence room by a badge, the presence it makes. Recorded on ``uow``; with ``batch``
    the line is left to the caller's flush and the staffing rules to its one evaluation."""
    rules_ = settings(policy)
    session = uow.session
    now = utcnow()
    notes = [note] if note else []
    if who.reason and event in ("entry", "refused"):
        notes.append(f"{who.reason[0]} / {who.reason[1]}")
    alarm = rules.alarm_for(
        event,
        room,
        authorised=who.authorised,
        who=who.name or badge,
        door=door,
        held_seconds=held_seconds,
        held_open_limit=rules_.held_open_seconds,
    )
    if event == "held_open" and alarm is None:
        notes.append(
            f"{held_seconds or 0}초 (기준 {rules_.held_open_seconds}초 미만) / "
            f"under the {rules_.held_open_seconds} s limit"
        )
    incident, new = None, False
    if alarm is not None:
        duty = room_of(policy, room)
        incident, new = situations.raise_system_incident(
            uow,
            policy,
            TRIGGER,
            alarm.key,
            titles={"ko": f"{duty.ko} {alarm.ko}", "en": f"{duty.en}: {alarm.en}"},
            facts={
                "room": room,
                "alarm": alarm.kind,
                "event": event,
                "person": who.name,
                "badge": badge,
                "door": door,
                "at": at.isoformat(),
                "clause": rules_.clause,
            },
            now=now,
            note=(f"{duty.ko} {alarm.ko}", f"{duty.en}: {alarm.en}"),
        )
    if event in ("entry", "exit") and source != "console" and who.account_id is not None and who.authorised:
        notes.extend(_badge_presence(uow, policy, room, event, who.account_id, at, recorded_by, evaluate=not batch))
    entry = RoomAccessEntry(
        room=room,
        at=at,
        event=event,
        person_name=who.name,
        organisation=who.organisation,
        account_id=who.account_id,
        badge=badge,
        authorisation_id=who.authorisation_id,
        visitor_id=who.visitor_id,
        escort_name=who.escort_name,
        authorised=who.authorised if event in ("entry", "exit") else False,
        door=door,
        source=source[:80],
        inbox_id=inbox_id,
        recorded_by=recorded_by.name[:64],
        recorded_at=now,
        incident_id=getattr(incident, "id", None),
        note="; ".join(notes) or None,
    )
    session.add(entry)
    if not batch:
        session.flush()
    return entry, incident, new


def _badge_presence(
    uow: UnitOfWork,
    policy: Policy,
    room: str,
    event: str,
    account_id: int,
    at: datetime,
    actor: Actor,
    *,
    evaluate: bool = True,
) -> list[str]:
    """A badge at the presence room's door checks its holder in or out (Art. 9 ②), when the holder's role
    keeps presence; a refusal (lapsed training, already in) is noted on the line, not raised."""
    if policy.presence is None or policy.presence.room != room:
        return []
    account = uow.session.get(User, account_id)
    if account is None or not decisions.role_has_permission(policy, account.role, "center.presence.record").allowed:
        return []
    present = presence.is_present_in(uow.session, account_id)
    try:
        if event == "entry" and not present:
            presence.check_in(uow, policy, account_id, at, "badge", actor, evaluate=evaluate)
            return ["출근(입실) 기록 / checked in"]
        if event == "exit" and present:
            presence.check_out(uow, policy, account_id, at, "badge", actor, evaluate=evaluate)
            return ["퇴근(퇴실) 기록 / checked out"]
    except DomainError as exc:
        return [f"출근 기록 안 됨: {exc.message_ko} / not checked in: {exc.message_en}"]
    return []


def record(
    db: Database,
    policy: Policy,
    user: User,
    *,
    room: str,
    event: str,
    at: datetime | None = None,
    authorisation_id: int | None = None,
    visitor_id: int | None = None,
    person_name: str | None = None,
    organisation: str | None = None,
    note: str | None = None,
    request_id: str | None = None,
) -> RoomAccessEntry:
    """A line written at the console: an entry or exit of an authorised person, a visitor, or someone
    named who has no authorisation (written as it happened, marked not authorised, and raised)."""
    rules_ = settings(policy)
    room_of(policy, room)
    if event not in rules.CONSOLE_EVENTS:
        raise ValidationFailed(
            "입실(entry) 또는 퇴실(exit)만 기록할 수 있습니다", "event must be entry or exit", field="event"
        )
    now = utcnow()
    at = at or now
    if at > now + rules.CLOCK_SKEW:
        raise ValidationFailed("미래 시각은 기록할 수 없습니다", "that time is in the future", field="at")
    if at < now - rules.MAX_BACKDATE:
        raise ValidationFailed("1일 이전의 출입은 기록할 수 없습니다", "more than a day ago", field="at")
    if sum(x is not None for x in (authorisation_id, visitor_id, person_name or None)) != 1:
        raise ValidationFailed(
            "출입 권한, 방문자 또는 이름 중 하나를 지정하세요",
            "name exactly one of: an authorisation, a visitor, or a person's name",
            field="person",
        )
    note = _text(note, "note", 500, required=False)
    with db.uow() as uow:
        session = uow.session
        if authorisation_id is not None:
            auth = session.get(RoomAuthorisation, authorisation_id)
            if auth is None or auth.room != room:
                raise not_found("출입 권한", "authorisation", authorisation_id, field="authorisation_id")
            who = _from_authorisation(auth, at)
            badge = auth.badge
        elif visitor_id is not None:
            visitor = session.get(RoomVisitor, visitor_id)
            if visitor is None or visitor.room != room:
                raise not_found("방문자", "visitor", visitor_id, field="visitor_id")
            who = _from_visitor(session, visitor, at)
            badge = visitor.badge
        else:
            who = Who(
                _text(person_name, "person_name", 120),
                _text(organisation, "organisation", 120, required=False),
                None,
                None,
                None,
                None,
                False,
                ("출입 권한이 없는 사람입니다", "no authorisation on file"),
            )
            badge = None
        actor = _actor(user, request_id)
        entry, incident, _ = _write(
            uow,
            policy,
            room=room,
            at=at,
            event=event,
            who=who,
            badge=badge,
            door=None,
            source="console",
            recorded_by=actor,
            note=note,
        )
        AuditLog(session).append(actor, _change(entry, rules_.clause))
        uow.commit()
        return entry


def _change(entry: RoomAccessEntry, clause: str) -> Change:
    return Change(
        "room.access_logged",
        "room_access",
        entry.id,
        None,
        {
            "room": entry.room,
            "event": entry.event,
            "at": entry.at.isoformat(),
            "person_name": entry.person_name,
            "badge": entry.badge,
            "authorised": entry.authorised,
            "inbox_id": entry.inbox_id,
            "incident_id": entry.incident_id,
        },
        clause=clause,
    )


def access_log(
    db: Database,
    room: str | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 5000,
) -> list[RoomAccessEntry]:
    with db.reading() as session:
        q = select(RoomAccessEntry).order_by(RoomAccessEntry.at, RoomAccessEntry.id)
        if room is not None:
            q = q.where(RoomAccessEntry.room == room)
        if start is not None:
            q = q.where(RoomAccessEntry.at >= start)
        if end is not None:
            q = q.where(RoomAccessEntry.at < end)
        return list(session.scalars(q.limit(limit)))


def inside_now(db: Database, room: str) -> list[str]:
    """Who the log says is inside ``room`` now (entered and not since left), over the last week: the
    latest entry or exit of each person (or badge) in the database, not every line folded in Python."""
    since = utcnow() - timedelta(days=7)
    who = func.coalesce(RoomAccessEntry.person_name, RoomAccessEntry.badge, "-")
    latest = (
        select(
            who.label("who"),
            RoomAccessEntry.event,
            RoomAccessEntry.at,
            RoomAccessEntry.id,
            func.row_number()
            .over(partition_by=who, order_by=(RoomAccessEntry.at.desc(), RoomAccessEntry.id.desc()))
            .label("n"),
        )
        .where(
            RoomAccessEntry.room == room,
            RoomAccessEntry.at >= since,
            RoomAccessEntry.event.in_(("entry", "exit")),
        )
        .subquery()
    )
    with db.reading() as session:
        rows = session.execute(
            select(latest.c.who).where(latest.c.n == 1, latest.c.event == "entry").order_by(latest.c.at, latest.c.id)
        ).all()
    return [r.who for r in rows]


# ---- room_access device messages (registered with the ingest by the composition root) --------------


class DoorMessages:
    """The handler of ``room_access`` messages: the door must be one of the policy's, a badge event must
    carry the badge; each stored message writes one log line (the inbox row makes a replay a no-op)."""

    def check(self, policy: Policy, message: situations.DeviceMessage) -> str | None:
        rules_ = policy.rooms_access
        if rules_ is None:
            return "출입관리 설정 없음 / this policy has no rooms_access section"
        payload = message.payload
        if rules_.door(payload.door) is None:
            return f"알 수 없는 출입문 / unknown door: {payload.door} (rooms_access.doors)"
        if payload.event in ("entry", "exit", "refused") and not payload.badge:
            return f"카드 번호가 없습니다 / a {payload.event} event needs the badge"
        return None

    def apply(self, uow: UnitOfWork, policy: Policy, items: list[situations.Handled], now: datetime) -> None:
        rules_ = settings(policy)
        session = uow.session
        index = BadgeIndex.load(session, {i.message.payload.badge for i in items if i.message.payload.badge})
        entries: list[tuple[situations.Handled, RoomAccessEntry]] = []
        presence_room = policy.presence.room if policy.presence is not None else None
        presence_changed = False
        with session.no_autoflush:
            for item in sorted(items, key=lambda i: (i.message.occurred_at or now, i.inbox_id)):
                payload = item.message.payload
                door = rules_.door(payload.door)
                # A device's clock is believed up to the skew; a time ahead of ours is taken as now.
                at = item.message.occurred_at or now
                if at > now + rules.CLOCK_SKEW:
                    at = now
                if payload.badge:
                    who = _by_badge(session, door.room, payload.badge, at, index)
                else:
                    who = Who(None, None, None, None, None, None, False, None)
                entry, incident, new = _write(
                    uow,
                    policy,
                    room=door.room,
                    at=at,
                    event=payload.event,
                    who=who,
                    badge=payload.badge,
                    door=door.device,
                    source=f"device:{item.source}",
                    recorded_by=Actor(None, f"device:{item.source}"[:64], role=None),
                    inbox_id=item.inbox_id,
                    held_seconds=payload.held_seconds,
                    note=payload.note,
                    batch=True,
                )
                presence_changed |= door.room == presence_room and payload.event in ("entry", "exit")
                if incident is not None:
                    item.result.incident_id = incident.id
                    if not new:
                        item.result.note = f"진행 중인 상황 {incident.id}에 추가 / added to open incident {incident.id}"
                entries.append((item, entry))
        session.flush()
        if presence_changed:
            presence.evaluate_staffing(uow, policy, now)
        changes: dict[str, list[Change]] = {}
        for item, entry in entries:
            changes.setdefault(item.source, []).append(_change(entry, rules_.clause))
        for source, batch in changes.items():
            AuditLog(session).append_many(Actor(None, f"device:{source}"[:64]), batch)


DOOR_MESSAGES = DoorMessages()


@dataclass(frozen=True)
class RoomView:
    room: RoomDuty
    inside: Sequence[str]
    authorised: int


def rooms_overview(db: Database, policy: Policy) -> list[RoomView]:
    current = authorisations(db, current_only=True)
    return [
        RoomView(room, inside_now(db, room.code), sum(1 for a in current if a.room == room.code))
        for room in policy.duty.rooms
    ]


def may(policy: Policy, user: User, permission: str) -> bool:
    return decisions.role_has_permission(policy, user.role, permission).allowed


def require(policy: Policy, user: User, permission: str) -> None:
    if not may(policy, user, permission):
        raise Forbidden("권한이 없습니다", f"you lack {permission}")
