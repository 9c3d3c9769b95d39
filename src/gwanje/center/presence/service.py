"""Presence use cases: check-in and check-out (Art. 9 ②), the training and pledge gate (Art. 9 ④), and
the staffing rules evaluated against presence, raising and closing the ``staffing_gap`` situation.

``check_in`` and ``check_out`` take a unit of work and do not commit: the console and API wrap them in
one of their own (one action, one commit), and the rooms capability may call them from a badge event
in the same transaction as the access-log row it writes (``via="badge"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gwanje.accounts.models import User
from gwanje.center.presence import rules
from gwanje.center.presence.models import Pledge, Presence, Training
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database, UnitOfWork
from gwanje.core.errors import Conflict, Forbidden, ValidationFailed, not_found
from gwanje.policy.model import Policy
from gwanje.situations import service as situations

VIA = ("console", "badge")
TRIGGER = "staffing_gap"
# How far back the staffing rules look for when a gap started.
LOOKBACK = timedelta(days=7)
# Dates of training and pledges before this are typing errors.
EARLIEST = date(2000, 1, 1)


def _account(session: Session, account_id: int) -> User:
    user = session.get(User, account_id)
    if user is None:
        raise not_found("계정", "account", account_id)
    return user


def _open(session: Session, account_id: int) -> Presence | None:
    return session.scalar(select(Presence).where(Presence.account_id == account_id, Presence.out_at.is_(None)))


def is_present_in(session: Session, account_id: int) -> bool:
    """Whether the account is checked in now, read in the caller's transaction."""
    return _open(session, account_id) is not None


def _room(policy: Policy) -> tuple[str, str]:
    settings = policy.presence
    return (settings.room, settings.clause) if settings else ("center", policy.staffing.clause)


def duty_refusal_for(session: Session, policy: Policy, account_id: int, at: datetime) -> rules.Refusal | None:
    """Art. 9 ④ for an account: its role's required courses still valid and its pledge on file at ``at``
    (the roster calls this before putting someone on a shift). None when it may go on duty."""
    user = _account(session, account_id)
    trainings = session.execute(
        select(Training.course, Training.valid_until).where(Training.account_id == account_id)
    ).all()
    pledge = session.scalar(select(Pledge.signed_on).where(Pledge.account_id == account_id).limit(1))
    return rules.duty_refusal(policy, user.role, [(c, u) for c, u in trainings], pledge, at)


def check_in(
    uow: UnitOfWork,
    policy: Policy,
    account_id: int,
    at: datetime,
    via: str,
    recorded_by: Actor,
    *,
    evaluate: bool = True,
) -> Presence:
    """The account is in the room from ``at``. Refused (409) while it is already in, and (403) when its
    training or pledge is not in order. Re-evaluates the staffing rules unless the caller (a batch of badge
    events) evaluates them once itself. Recorded on ``uow``, not committed."""
    if via not in VIA:
        raise ValidationFailed("알 수 없는 기록 경로", f"unknown via '{via}'", field="via")
    session = uow.session
    user = _account(session, account_id)
    if _open(session, account_id) is not None:
        raise Conflict(f"{user.display_name}: 이미 입실 중입니다", f"{user.username} is already checked in")
    refusal = duty_refusal_for(session, policy, account_id, at)
    if refusal is not None:
        raise Forbidden(refusal.ko, refusal.en)
    room, clause = _room(policy)
    presence = Presence(
        account_id=user.id,
        name=user.display_name,
        organisation=user.organisation,
        role=user.role,
        room=room,
        in_at=at,
        via=via,
        recorded_by=recorded_by.name[:64],
    )
    session.add(presence)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{user.display_name}: 이미 입실 중입니다", f"{user.username} is already checked in") from exc
    AuditLog(session).append(
        recorded_by,
        Change(
            "presence.checked_in",
            "presence",
            presence.id,
            None,
            {"account_id": user.id, "role": user.role, "room": room, "in_at": at.isoformat(), "via": via},
            clause=clause,
        ),
    )
    if evaluate:
        evaluate_staffing(uow, policy, at)
    return presence


def check_out(
    uow: UnitOfWork,
    policy: Policy,
    account_id: int,
    at: datetime,
    via: str,
    recorded_by: Actor,
    *,
    evaluate: bool = True,
) -> Presence:
    """The account leaves the room at ``at``; 409 when it is not in. A gap this opens starts at ``at``
    (the grace counts from then). Recorded on ``uow``, not committed."""
    if via not in VIA:
        raise ValidationFailed("알 수 없는 기록 경로", f"unknown via '{via}'", field="via")
    session = uow.session
    user = _account(session, account_id)
    presence = _open(session, account_id)
    if presence is None:
        raise Conflict(f"{user.display_name}: 입실 기록이 없습니다", f"{user.username} is not checked in")
    if at < presence.in_at:
        raise ValidationFailed("퇴실 시각이 입실 시각보다 이릅니다", "out_at is before in_at", field="at")
    presence.out_at, presence.out_via, presence.out_recorded_by = at, via, recorded_by.name[:64]
    session.flush()
    AuditLog(session).append(
        recorded_by,
        Change(
            "presence.checked_out",
            "presence",
            presence.id,
            {"out_at": None},
            {"account_id": user.id, "out_at": at.isoformat(), "via": via},
            clause=_room(policy)[1],
        ),
    )
    if evaluate:
        evaluate_staffing(uow, policy, at)
    return presence


def _actor(user: User, request_id: str | None) -> Actor:
    return Actor(id=user.id, name=user.username, organisation=user.organisation, role=user.role, request_id=request_id)


def check_in_self(db: Database, policy: Policy, user: User, *, request_id: str | None = None) -> Presence:
    """출근(입실) on the console: the signed-in person checks themselves in."""
    with db.uow() as uow:
        presence = check_in(uow, policy, user.id, utcnow(), "console", _actor(user, request_id))
        uow.commit()
        return presence


def check_out_account(
    db: Database,
    policy: Policy,
    user: User,
    account_id: int | None = None,
    *,
    may_manage: bool = False,
    request_id: str | None = None,
) -> Presence:
    """퇴근(퇴실): oneself, or someone else where the caller may manage presence (audited as the caller)."""
    target = user.id if account_id is None else account_id
    if target != user.id and not may_manage:
        raise Forbidden("다른 근무자를 퇴실 처리할 권한이 없습니다", "you may not check someone else out")
    with db.uow() as uow:
        presence = check_out(uow, policy, target, utcnow(), "console", _actor(user, request_id))
        uow.commit()
        return presence


# ---- training and pledges (Art. 9 ④) ---------------------------------------------------------


def record_training(
    db: Database,
    policy: Policy,
    user: User,
    account_id: int,
    course: str,
    completed_on: date,
    evidence: str | None = None,
    *,
    request_id: str | None = None,
) -> Training:
    settings = policy.presence
    known = settings.course(course) if settings else None
    if known is None:
        raise ValidationFailed("알 수 없는 교육 과정", f"unknown course '{course}'", field="course")
    now = utcnow()
    if completed_on < EARLIEST:
        raise ValidationFailed("이수일이 너무 이릅니다", "completed_on is too early", field="completed_on")
    if completed_on > now.date() + timedelta(days=1):
        raise ValidationFailed("이수일이 미래입니다", "completed_on is in the future", field="completed_on")
    with db.uow() as uow:
        session = uow.session
        _account(session, account_id)
        t = Training(
            account_id=account_id,
            course=course,
            completed_on=completed_on,
            valid_until=rules.add_months(completed_on, known.validity_months),
            evidence=evidence or None,
            recorded_by=user.username,
            recorded_at=now,
        )
        session.add(t)
        session.flush()
        AuditLog(session).append(
            _actor(user, request_id),
            Change(
                "training.recorded",
                "training",
                t.id,
                None,
                {"account_id": account_id, "course": course, "valid_until": t.valid_until.isoformat()},
                clause=settings.training_clause if settings else None,
            ),
        )
        uow.commit()
        return t


def record_pledge(
    db: Database,
    policy: Policy,
    user: User,
    account_id: int,
    signed_on: date,
    witness: str,
    *,
    request_id: str | None = None,
) -> Pledge:
    witness = (witness or "").strip()
    if not witness:
        raise ValidationFailed("입회자를 입력하세요", "give the witness", field="witness")
    now = utcnow()
    if signed_on < EARLIEST:
        raise ValidationFailed("서약일이 너무 이릅니다", "signed_on is too early", field="signed_on")
    if signed_on > now.date() + timedelta(days=1):
        raise ValidationFailed("서약일이 미래입니다", "signed_on is in the future", field="signed_on")
    with db.uow() as uow:
        session = uow.session
        _account(session, account_id)
        p = Pledge(
            account_id=account_id,
            signed_on=signed_on,
            witness=witness[:120],
            recorded_by=user.username,
            recorded_at=now,
        )
        session.add(p)
        session.flush()
        AuditLog(session).append(
            _actor(user, request_id),
            Change(
                "pledge.recorded",
                "pledge",
                p.id,
                None,
                {"account_id": account_id, "signed_on": signed_on.isoformat()},
                clause=policy.presence.training_clause if policy.presence else None,
            ),
        )
        uow.commit()
        return p


def read_trainings(db: Database, account_id: int | None = None) -> tuple[list[Training], list[Pledge]]:
    with db.reading() as session:
        t = select(Training).order_by(Training.account_id, Training.course, Training.completed_on.desc())
        p = select(Pledge).order_by(Pledge.account_id, Pledge.signed_on.desc())
        if account_id is not None:
            t, p = t.where(Training.account_id == account_id), p.where(Pledge.account_id == account_id)
        return list(session.scalars(t.limit(1000))), list(session.scalars(p.limit(1000)))


# ---- staffing (Art. 9 ②) -------------------------------------------------------------------


def _intervals(session: Session, now: datetime) -> list[rules.Interval]:
    rows = session.scalars(
        select(Presence).where(or_(Presence.out_at.is_(None), Presence.out_at >= now - LOOKBACK))
    ).all()
    return [rules.Interval(p.organisation, p.role, p.in_at, p.out_at) for p in rows]


def staffing_states(session: Session, policy: Policy, now: datetime) -> list[rules.RuleState]:
    intervals = _intervals(session, now)
    return [rules.evaluate_rule(rule, intervals, now) for rule in policy.staffing.rules]


def _titles(policy: Policy, state: rules.RuleState) -> dict[str, str]:
    rule = state.rule
    return {
        "ko": f"{rule.ko} 공백 (최소 {rule.min_present}명, 현재 {state.present}명)",
        "en": f"{rule.en}: gap (minimum {rule.min_present}, present {state.present})",
    }


def evaluate_staffing(uow: UnitOfWork, policy: Policy, now: datetime) -> list[rules.RuleState]:
    """Every staffing rule against presence at ``now``: a gap past its grace raises one ``staffing_gap``
    incident per rule (keyed on the rule's code; later passes add nothing new), a rule that holds again
    closes it. Recorded on ``uow``; the caller commits."""
    states = staffing_states(uow.session, policy, now)
    for state in states:
        code = state.rule.code
        if state.holds:
            if situations.open_system_incident(uow.session, policy, TRIGGER, code) is not None:
                situations.close_system_incident(
                    uow, policy, TRIGGER, code, note=("상주 인원 충족", "staffing restored"), now=now
                )
        elif state.overdue and situations.open_system_incident(uow.session, policy, TRIGGER, code) is None:
            situations.raise_system_incident(
                uow,
                policy,
                TRIGGER,
                code,
                titles=_titles(policy, state),
                facts={
                    "rule": code,
                    "present": state.present,
                    "required": state.rule.min_present,
                    "since": state.since.isoformat() if state.since else None,
                    "clause": state.rule.clause,
                },
                now=now,
            )
    return states


def evaluate_staffing_job(db: Database, policy: Policy) -> None:
    """Periodic job (web/jobs.PERIODIC_JOBS): the staffing rules against presence now."""
    if not policy.staffing.rules:
        return
    with db.uow() as uow:
        evaluate_staffing(uow, policy, utcnow())
        uow.commit()


@dataclass(frozen=True)
class RuleView:
    state: rules.RuleState
    incident_id: int | None


@dataclass(frozen=True)
class OnDuty:
    at: datetime
    present: Sequence[Presence]
    rules: Sequence[RuleView]


def on_duty(db: Database, policy: Policy, now: datetime | None = None) -> OnDuty:
    """Who is in the room now and how each staffing rule stands (with its open incident, if any)."""
    now = now or utcnow()
    with db.reading() as session:
        present = list(
            session.scalars(
                select(Presence)
                .where(Presence.out_at.is_(None))
                .order_by(Presence.organisation, Presence.role, Presence.in_at)
            )
        )
        views = []
        for state in staffing_states(session, policy, now):
            incident = situations.open_system_incident(session, policy, TRIGGER, state.rule.code)
            views.append(RuleView(state, incident.id if incident else None))
        session.expunge_all()
        return OnDuty(now, present, views)


def is_present(db: Database, account_id: int) -> bool:
    with db.reading() as session:
        return _open(session, account_id) is not None


def seed_demo_presence(db: Database, policy: Policy, usernames: Sequence[str]) -> list[str]:
    """The demo from its first minute: each demo account whose role a staffing rule counts gets the
    training and pledge its role needs, and is checked in (unless already in). Returns who was checked in."""
    counted = {role for rule in policy.staffing.rules for role in rule.roles}
    settings = policy.presence
    actor = Actor.system("demo")
    now = utcnow()
    done = []
    with db.uow() as uow:
        session = uow.session
        for user in session.scalars(select(User).where(User.username.in_(list(usernames)))):
            if user.role not in counted or _open(session, user.id) is not None:
                continue
            requirement = settings.requirement(user.role) if settings else None
            if requirement is not None:
                today = now.date()
                for code in requirement.courses:
                    course = settings.course(code)
                    months = course.validity_months if course else 12
                    session.add(
                        Training(
                            account_id=user.id,
                            course=code,
                            completed_on=today,
                            valid_until=rules.add_months(today, months),
                            evidence="demo",
                            recorded_by=actor.name,
                            recorded_at=now,
                        )
                    )
                if requirement.pledge:
                    session.add(
                        Pledge(
                            account_id=user.id, signed_on=today, witness="demo", recorded_by=actor.name, recorded_at=now
                        )
                    )
                session.flush()
            check_in(uow, policy, user.id, now, "console", actor)
            done.append(user.username)
        uow.commit()
    return done
