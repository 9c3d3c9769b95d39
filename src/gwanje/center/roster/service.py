"""Roster use cases: plan, remove and import shifts, read them and their planned gaps (issue 10 §1).

Which role keeps which organisation's roster is the policy's (``roster.managers``): the district
keeps its monitoring agents', the police its stationed officers'. A person never has two shifts that
overlap. An import keeps its good rows in one transaction and reports every bad one by line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from gwanje.accounts.models import User
from gwanje.accounts.service import actor_of
from gwanje.center.presence import service as presence_service
from gwanje.center.roster import rules
from gwanje.center.roster.models import Shift
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database
from gwanje.core.errors import Conflict, Forbidden, ValidationFailed, not_found
from gwanje.policy.model import Policy, RosterRules

MAX_PERIOD_DAYS = 62


def roster_rules(policy: Policy) -> RosterRules:
    if policy.roster is None:
        raise ValidationFailed("정책에 근무표(roster) 구역이 없습니다", "the policy has no roster section")
    return policy.roster


def zone(policy: Policy) -> ZoneInfo:
    return ZoneInfo(policy.duty.timezone)


def staffing_rules(policy: Policy) -> list[rules.StaffingRule]:
    """The policy's staffing rules as (organisation, roles, minimum) tuples."""
    s = policy.staffing
    if s.rules:  # the rules presence is held to (gwanje.center.presence)
        return [(r.organisation, r.roles, r.min_present) for r in s.rules]
    return [(s.organisation, (s.role,), s.min_on_duty)]


def check_period(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed("종료가 시작보다 뒤여야 합니다", "to must be after from", field="to")
    if end - start > timedelta(days=MAX_PERIOD_DAYS):
        raise ValidationFailed(
            f"기간은 {MAX_PERIOD_DAYS}일 이내입니다", f"the period is at most {MAX_PERIOD_DAYS} days", field="to"
        )


def may_manage(policy: Policy, user: User, organisation: str) -> bool:
    return organisation in roster_rules(policy).managed_by(user.role)


def _check_manages(policy: Policy, user: User, person: User) -> None:
    if not may_manage(policy, user, person.organisation):
        org = policy.organisation(person.organisation)
        raise Forbidden(f"{org.name_ko}의 근무표는 관리할 수 없습니다", f"you do not keep the roster of {org.name_en}")


def _snapshot(s: Shift) -> dict[str, Any]:
    return {
        "username": s.username,
        "organisation": s.organisation,
        "role": s.role,
        "team": s.team,
        "code": s.code,
        "starts_at": s.starts_at.isoformat(),
        "ends_at": s.ends_at.isoformat(),
        "source": s.source,
        "source_line": s.source_line,
    }


def _overlapping(session: Session, user_id: int, start: datetime, end: datetime) -> Shift | None:
    stmt = select(Shift).where(Shift.user_id == user_id, Shift.starts_at < end, Shift.ends_at > start).limit(1)
    return session.scalars(stmt).first()


@dataclass(frozen=True)
class PlanShift:
    """A shift planned by hand: a code on a local day, or explicit start/end (UTC)."""

    username: str
    day: date | None = None
    code: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    team: str | None = None


def _interval(policy: Policy, cmd: PlanShift) -> tuple[str, datetime, datetime]:
    roster = roster_rules(policy)
    if cmd.code:
        code = roster.code(cmd.code)
        if code is None:
            raise ValidationFailed(f"알 수 없는 근무 코드: {cmd.code}", f"unknown shift code: {cmd.code}", field="code")
        if cmd.day is None:
            raise ValidationFailed("근무일을 입력하세요", "give the day", field="day")
        interval = rules.shift_interval(code, cmd.day, zone(policy))
        if interval is None:
            raise ValidationFailed(
                f"'{cmd.code}'은 휴무 코드라 근무로 계획하지 않습니다",
                f"'{cmd.code}' is a day off, not a shift",
                field="code",
            )
        return code.code, *interval
    if cmd.starts_at is None or cmd.ends_at is None:
        raise ValidationFailed(
            "근무 코드 또는 시작·종료를 입력하세요", "give a shift code or start and end", field="code"
        )
    start, end = cmd.starts_at.astimezone(timezone.utc), cmd.ends_at.astimezone(timezone.utc)
    if end <= start or end - start > timedelta(hours=rules.MAX_SHIFT_HOURS):
        raise ValidationFailed(
            f"근무는 0시간 초과 {rules.MAX_SHIFT_HOURS}시간 이내입니다",
            f"a shift lasts more than 0 and at most {rules.MAX_SHIFT_HOURS} hours",
            field="ends_at",
        )
    return "-", start, end


def plan_shift(
    db: Database, policy: Policy, user: User, cmd: PlanShift, *, source: str = "console", request_id: str | None = None
) -> Shift:
    """Plan one shift; 403 for a person whose roster the user does not keep, 409 on an overlap."""
    code, start, end = _interval(policy, cmd)
    with db.uow() as uow:
        session = uow.session
        person = session.scalars(select(User).where(User.username == cmd.username)).first()
        if person is None:
            raise not_found("사용자", "user", cmd.username, field="username")
        _check_manages(policy, user, person)
        refusal = presence_service.duty_refusal_for(session, policy, person.id, start)
        if refusal is not None:  # Art. 9 ④: lapsed training or no pledge by the shift's start
            raise Forbidden(refusal.ko, refusal.en, clause=refusal.clause)
        clash = _overlapping(session, person.id, start, end)
        if clash is not None:
            raise Conflict(
                f"{person.username}의 다른 근무와 겹칩니다 (#{clash.id})",
                f"overlaps another shift of {person.username} (#{clash.id})",
            )
        now = utcnow()
        shift = Shift(
            user_id=person.id,
            username=person.username,
            organisation=person.organisation,
            role=person.role,
            team=(cmd.team or None),
            code=code,
            starts_at=start,
            ends_at=end,
            source=source,
            source_line=None,
            created_by_id=user.id,
            created_by_name=user.username,
            created_at=now,
        )
        session.add(shift)
        session.flush()
        AuditLog(session).append(
            actor_of(user, request_id),
            Change("shift.planned", "shift", shift.id, None, _snapshot(shift), clause=roster_rules(policy).clause),
        )
        uow.commit()
        return shift


def remove_shift(db: Database, policy: Policy, user: User, shift_id: int, *, request_id: str | None = None) -> None:
    with db.uow() as uow:
        session = uow.session
        shift = session.get(Shift, shift_id)
        if shift is None:
            raise not_found("근무", "shift", shift_id)
        if not may_manage(policy, user, shift.organisation):
            org = policy.organisation(shift.organisation)
            raise Forbidden(
                f"{org.name_ko}의 근무표는 관리할 수 없습니다", f"you do not keep the roster of {org.name_en}"
            )
        before = _snapshot(shift)
        session.delete(shift)
        AuditLog(session).append(
            actor_of(user, request_id),
            Change("shift.removed", "shift", shift_id, before, None, clause=roster_rules(policy).clause),
        )
        uow.commit()


def list_shifts(
    session: Session, start: datetime, end: datetime, *, organisation: str | None = None, limit: int = 5000
) -> list[Shift]:
    stmt = (
        select(Shift)
        .where(Shift.starts_at < end, Shift.ends_at > start)
        .order_by(Shift.starts_at, Shift.username)
        .limit(limit)
    )
    if organisation:
        stmt = stmt.where(Shift.organisation == organisation)
    return list(session.scalars(stmt))


def read_shifts(db: Database, start: datetime, end: datetime, *, organisation: str | None = None) -> list[Shift]:
    check_period(start, end)
    with db.reading() as session:
        return list_shifts(session, start, end, organisation=organisation)


def planned_gaps(session: Session, policy: Policy, start: datetime, end: datetime) -> list[rules.Gap]:
    shifts = [(s.organisation, s.role, s.starts_at, s.ends_at) for s in list_shifts(session, start, end)]
    return rules.planned_gaps(staffing_rules(policy), shifts, start, end)


def read_planned_gaps(db: Database, policy: Policy, start: datetime, end: datetime) -> list[rules.Gap]:
    check_period(start, end)
    start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    with db.reading() as session:
        return planned_gaps(session, policy, start, end)


# ---- import ---------------------------------------------------------------------------------


@dataclass
class ImportReport:
    filename: str
    layout: str = "grid"
    rows_read: int = 0
    shifts_created: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, ko, en)


def read_cells(data: bytes, filename: str) -> list[list[object]]:
    """The cells of an XLSX (first sheet) or a CSV (UTF-8, with or without BOM, or CP949)."""
    if data[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # a corrupt workbook is bad input, not a server error
            raise ValidationFailed("XLSX 파일을 읽을 수 없습니다", "cannot read the XLSX file", field="file") from exc
        sheet = book.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True, max_row=rules.MAX_IMPORT_ROWS + 50)]
        book.close()
        return rows
    for encoding in ("utf-8-sig", "cp949"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed("CSV는 UTF-8 또는 CP949여야 합니다", "CSV must be UTF-8 or CP949", field="file")
    try:
        dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    return [list(r) for r in csv.reader(io.StringIO(text), dialect)]


def _find_person(session: Session, row: rules.Row, cache: dict[str, User | None]) -> tuple[User | None, str, str]:
    key = f"u:{row.username}" if row.username else f"n:{row.name}"
    if key not in cache:
        if row.username:
            cache[key] = session.scalars(select(User).where(User.username == row.username)).first()
        else:
            found = list(session.scalars(select(User).where(User.display_name == row.name).limit(2)))
            cache[key] = found[0] if len(found) == 1 else None
    person = cache[key]
    shown = row.username or row.name or ""
    return person, f"알 수 없는 사람: {shown}", f"unknown person: {shown}"


def import_roster(
    db: Database,
    policy: Policy,
    user: User,
    data: bytes,
    *,
    filename: str,
    month: str | None = None,
    request_id: str | None = None,
) -> ImportReport:
    """Import a month grid or a long-format file. Good rows are kept in one transaction, bad rows are
    reported by line; a shift already planned with the same start and end is left as it is."""
    roster = roster_rules(policy)
    tz = zone(policy)
    filename = (filename or "upload").strip()[-120:] or "upload"
    try:
        period = rules.month_days(month) if month else None
    except ValueError:
        raise ValidationFailed(
            f"잘못된 월: {month} (YYYY-MM)", f"bad month: {month} (YYYY-MM)", field="month"
        ) from None
    parsed = rules.parse_table(read_cells(data, filename), period)
    report = ImportReport(filename=filename, layout=parsed.layout, rows_read=parsed.lines_read)
    errors = list(parsed.errors)
    created: list[int] = []
    with db.uow() as uow:
        session = uow.session
        cache: dict[str, User | None] = {}
        failed_lines: set[int] = set()
        for row in parsed.rows:

            def bad(ko: str, en: str, line: int = row.line) -> None:
                errors.append((line, ko, en))
                failed_lines.add(line)

            person, ko, en = _find_person(session, row, cache)
            if person is None:
                if row.line not in failed_lines:
                    bad(ko, en)
                continue
            if not may_manage(policy, user, person.organisation):
                if row.line not in failed_lines:
                    org = policy.organisation(person.organisation)
                    bad(
                        f"{person.username}: {org.name_ko}의 근무표는 관리할 수 없습니다",
                        f"{person.username}: you do not keep the roster of {org.name_en}",
                    )
                continue
            if row.role and not _role_matches(policy, person.role, row.role):
                if row.line not in failed_lines:
                    bad(f"{person.username}의 역할이 '{row.role}'이 아닙니다", f"{person.username} is not '{row.role}'")
                continue
            if row.start is not None and row.end is not None:
                code_text = "-"
                interval: tuple[datetime, datetime] | None = (
                    row.start.replace(tzinfo=tz).astimezone(timezone.utc),
                    row.end.replace(tzinfo=tz).astimezone(timezone.utc),
                )
            else:
                code = roster.code(row.code)
                if code is None:
                    bad(
                        f"{row.day.isoformat()}: 알 수 없는 근무 코드 '{row.code}'",
                        f"{row.day.isoformat()}: unknown shift code '{row.code}'",
                    )
                    continue
                code_text = code.code
                interval = rules.shift_interval(code, row.day, tz)
            if interval is None:
                continue  # a day off
            start, end = interval
            same = session.scalars(select(Shift).where(Shift.user_id == person.id, Shift.starts_at == start)).first()
            if same is not None and same.ends_at == end:
                report.unchanged += 1
                continue
            refusal = presence_service.duty_refusal_for(session, policy, person.id, start)
            if refusal is not None:
                bad(
                    f"{person.username} {row.day.isoformat()}: {refusal.ko}",
                    f"{person.username} {row.day}: {refusal.en}",
                )
                continue
            clash = same or _overlapping(session, person.id, start, end)
            if clash is not None:
                bad(
                    f"{person.username} {row.day.isoformat()}: 다른 근무와 겹칩니다",
                    f"{person.username} {row.day.isoformat()}: overlaps another shift",
                )
                continue
            shift = Shift(
                user_id=person.id,
                username=person.username,
                organisation=person.organisation,
                role=person.role,
                team=(row.team or None) and row.team[:20],
                code=code_text,
                starts_at=start,
                ends_at=end,
                source=filename,
                source_line=row.line,
                created_by_id=user.id,
                created_by_name=user.username,
                created_at=utcnow(),
            )
            session.add(shift)
            session.flush()
            created.append(shift.id)
        report.shifts_created = len(created)
        report.errors = sorted(errors, key=lambda e: e[0])
        AuditLog(session).append(
            actor_of(user, request_id),
            Change(
                "roster.imported",
                "roster_import",
                filename,
                None,
                {
                    "filename": filename,
                    "month": month,
                    "rows_read": report.rows_read,
                    "shift_ids": created,
                    "unchanged": report.unchanged,
                    "error_lines": sorted({e[0] for e in errors}),
                },
                clause=roster.clause,
            ),
        )
        uow.commit()
    return report


def _role_matches(policy: Policy, role_code: str, given: str) -> bool:
    role = policy.role(role_code)
    return given.strip().lower() in {role.code.lower(), role.ko.lower(), role.en.lower()}


def seed_demo_roster(db: Database, policy: Policy, usernames: Sequence[str], today: date | None = None) -> int:
    """The demo's roster: this month of the policy's first standard pattern, one demo account a team,
    for each account whose role a staffing rule counts (so the calendar and its planned gaps are true
    from the first minute). Shifts already planned are left; returns how many were added."""
    roster = policy.roster
    if roster is None or not roster.patterns:
        return 0
    pattern = roster.patterns[0]
    tz = zone(policy)
    today = today or utcnow().astimezone(tz).date()
    first, last = rules.month_days(f"{today.year}-{today.month:02d}")
    counted = {role for rule in policy.staffing.rules for role in rule.roles}
    added = 0
    with db.uow() as uow:
        session = uow.session
        people = session.scalars(select(User).where(User.username.in_(list(usernames))).order_by(User.id))
        for team, person in zip(pattern.teams, [p for p in people if p.role in counted]):
            for day, code_text in rules.expand_pattern(pattern, team, first, last):
                code = roster.code(code_text)
                interval = rules.shift_interval(code, day, tz) if code is not None else None
                if interval is None or _overlapping(session, person.id, *interval) is not None:
                    continue
                session.add(
                    Shift(
                        user_id=person.id,
                        username=person.username,
                        organisation=person.organisation,
                        role=person.role,
                        team=team[:20],
                        code=code_text,
                        starts_at=interval[0],
                        ends_at=interval[1],
                        source="demo",
                        source_line=None,
                        created_by_id=None,
                        created_by_name="system:demo",
                        created_at=utcnow(),
                    )
                )
                added += 1
        if added:
            AuditLog(session).append(
                Actor.system("demo"),
                Change(
                    "roster.seeded",
                    "shift",
                    None,
                    None,
                    {"shifts": added, "pattern": pattern.code},
                    clause=roster.clause,
                ),
            )
        uow.commit()
    return added
