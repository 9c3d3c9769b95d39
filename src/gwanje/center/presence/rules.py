"""Pure rules of presence: the training and pledge gate (Art. 9 ④) and the staffing rules (Art. 9 ②).

No I/O: the service loads presence intervals and records, these decide.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from gwanje.core.clock import KST
from gwanje.policy.model import Policy, StaffingRule


@dataclass(frozen=True)
class Refusal:
    """Why someone may not go on duty, in both languages, with the clause that says so."""

    ko: str
    en: str
    clause: str


@dataclass(frozen=True)
class Interval:
    """One stay in the room (a presence record), as the staffing rules see it."""

    organisation: str
    role: str
    in_at: datetime
    out_at: datetime | None


@dataclass(frozen=True)
class RuleState:
    """How a staffing rule stands at ``now``: ``since`` is when the gap started (None while it holds, or
    when no presence was ever recorded); ``overdue`` is true once the gap is longer than the grace."""

    rule: StaffingRule
    holds: bool
    present: int
    since: datetime | None
    overdue: bool


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the last day of the month where that day does not exist)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def duty_refusal(
    policy: Policy, role: str, trainings: Iterable[tuple[str, date]], pledge: date | None, at: datetime
) -> Refusal | None:
    """Art. 9 ④: a role the policy names must hold every required course still valid on ``at``'s KST date
    (``trainings``: course code and valid-until date) and, where required, a security pledge on file.
    None when it may go on duty."""
    settings = policy.presence
    if settings is None:
        return None
    requirement = settings.requirement(role)
    if requirement is None:
        return None
    today = at.astimezone(KST).date()
    valid: dict[str, date] = {}
    for course, until in trainings:
        if course not in valid or until > valid[course]:
            valid[course] = until
    for code in requirement.courses:
        course = settings.course(code)
        ko, en = (course.ko, course.en) if course else (code, code)
        until = valid.get(code)
        if until is None:
            return Refusal(
                f"근무 불가: '{ko}' 이수 기록이 없습니다",
                f"may not go on duty: no record of '{en}'",
                settings.training_clause,
            )
        if until < today:
            return Refusal(
                f"근무 불가: '{ko}' 유효기간 만료 ({until.isoformat()})",
                f"may not go on duty: '{en}' lapsed on {until.isoformat()}",
                settings.training_clause,
            )
    if requirement.pledge and pledge is None:
        return Refusal(
            "근무 불가: 보안서약서가 제출되지 않았습니다",
            "may not go on duty: no security pledge on file",
            settings.training_clause,
        )
    return None


def _window_start(rule: StaffingRule, now: datetime) -> datetime | None:
    """Start (UTC) of the rule's hours window containing ``now``; None when ``now`` is outside it.
    A rule without hours applies at all times (its window never starts)."""
    if rule.hours is None:
        return datetime.min.replace(tzinfo=now.tzinfo)
    start, end = rule.hours
    local = now.astimezone(KST)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if start < end:
        if start <= local.hour < end:
            return day + timedelta(hours=start)
        return None
    if local.hour >= start:  # a window across midnight, e.g. [22, 6)
        return day + timedelta(hours=start)
    if local.hour < end:
        return day - timedelta(days=1) + timedelta(hours=start)
    return None


def evaluate_rule(rule: StaffingRule, intervals: Iterable[Interval], now: datetime) -> RuleState:
    """Art. 9 ②: count who of the rule's organisation and roles is present at ``now``; when fewer than
    required, the gap started at the last moment the count fell below the minimum (from the presence
    records, not from when anyone looked, so a restart does not reset it)."""
    mine = [i for i in intervals if i.organisation == rule.organisation and i.role in rule.roles and i.in_at <= now]
    present = sum(1 for i in mine if i.out_at is None or i.out_at > now)
    window = _window_start(rule, now)
    if window is None or present >= rule.min_present:
        return RuleState(rule, True, present, None, False)
    changes: list[tuple[datetime, int]] = []
    for i in mine:
        changes.append((i.in_at, 1))
        if i.out_at is not None and i.out_at <= now:
            changes.append((i.out_at, -1))
    changes.sort(key=lambda c: (c[0], -c[1]))
    count, since = 0, None
    for at, delta in changes:
        before = count
        count += delta
        if before >= rule.min_present > count:
            since = at
    if since is None:
        if not changes:
            return RuleState(rule, False, present, None, False)
        since = changes[0][0]
    since = max(since, window)
    overdue = now - since > timedelta(minutes=rule.grace_minutes) or (rule.grace_minutes == 0 and now >= since)
    return RuleState(rule, False, present, since, overdue)


def gap_minutes(state: RuleState, now: datetime) -> int:
    return 0 if state.since is None else int((now - state.since).total_seconds() // 60)
