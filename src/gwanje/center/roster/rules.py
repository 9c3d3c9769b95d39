"""Pure roster rules: a shift code on a local day as a UTC interval, pattern expansion, overlaps,
the month-grid and long-format import rows, and planned gaps against staffing rules. No I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from gwanje.policy.model import ShiftCode, ShiftPattern

MAX_SHIFT_HOURS = 24
MAX_IMPORT_ROWS = 5000


def shift_interval(code: ShiftCode, day: date, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The UTC interval of ``code`` worked on local ``day``; None for a day off. An end not after the
    start is on the next local day (a night shift, 18:00–09:00)."""
    if code.start is None or code.end is None:
        return None
    start = datetime.combine(day, code.start, tzinfo=tz)
    end_day = day if code.end > code.start else day + timedelta(days=1)
    end = datetime.combine(end_day, code.end, tzinfo=tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def pattern_code(pattern: ShiftPattern, team: str, day: date) -> str:
    """The code ``team`` works on ``day`` in ``pattern`` (teams offset by ``team_offset_days``)."""
    i = pattern.teams.index(team)
    n = len(pattern.cycle)
    return pattern.cycle[((day - pattern.epoch).days + i * pattern.team_offset_days) % n]


def expand_pattern(pattern: ShiftPattern, team: str, first: date, last: date) -> list[tuple[date, str]]:
    """Every day from ``first`` to ``last`` (inclusive) with the code ``team`` works."""
    if team not in pattern.teams:
        raise KeyError(team)
    out = []
    day = first
    while day <= last:
        out.append((day, pattern_code(pattern, team, day)))
        day += timedelta(days=1)
    return out


def overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    """Half-open intervals: a shift ending at 09:00 does not overlap one starting at 09:00."""
    return a[0] < b[1] and b[0] < a[1]


def month_days(month: str) -> tuple[date, date]:
    """The first and last day of ``YYYY-MM``; ValueError otherwise."""
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", month.strip())
    if not m:
        raise ValueError(month)
    first = date(int(m.group(1)), int(m.group(2)), 1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


# ---- import rows ----------------------------------------------------------------------------

# Header names a center's own file may use, lower-cased and without spaces.
HEADER_SYNONYMS: dict[str, str] = {
    **dict.fromkeys(("이름", "성명", "name", "근무자", "직원명"), "name"),
    **dict.fromkeys(("아이디", "id", "username", "사용자", "계정", "사용자id", "user", "login"), "username"),
    **dict.fromkeys(("조", "팀", "근무조", "team", "crew", "반"), "team"),
    **dict.fromkeys(("역할", "직무", "role", "직책", "구분"), "role"),
    **dict.fromkeys(("일자", "날짜", "근무일", "date", "day"), "date"),
    **dict.fromkeys(("근무", "근무코드", "코드", "shift", "code", "근무형태"), "code"),
    **dict.fromkeys(("시작", "시작시각", "출근", "start", "from"), "start"),
    **dict.fromkeys(("종료", "종료시각", "퇴근", "end", "to", "until"), "end"),
}
_DAY_HEADER = re.compile(r"^(\d{1,2})\s*(일)?(\(.\))?$")
_DATE = re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Row:
    """One planned cell of an import: line in the file, who, the local day, and a code or explicit times."""

    line: int
    username: str | None
    name: str | None
    team: str | None
    role: str | None
    day: date
    code: str
    start: datetime | None = None  # local wall time (naive) when the row gives start/end
    end: datetime | None = None


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (line, ko, en)
    lines_read: int = 0
    layout: str = "grid"


def header_key(text: str) -> str | None:
    return HEADER_SYNONYMS.get(re.sub(r"\s+", "", text).lower())


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_date(text: str) -> date | None:
    m = _DATE.match(text)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _day_column(text: str, month: tuple[date, date] | None) -> date | str | None:
    """A day column's date: ``12``, ``12일``, ``12(토)`` in ``month``, or a full date; "bad" when out of range."""
    full = parse_date(text)
    if full is not None:
        return full
    m = _DAY_HEADER.match(text)
    if not m:
        return None
    if month is None:
        return "no_month"
    try:
        d = month[0].replace(day=int(m.group(1)))
    except ValueError:
        return "bad"
    return d if d <= month[1] else "bad"


def parse_table(cells: list[list[object]], month: tuple[date, date] | None) -> Parsed:
    """Rows of a month grid (one row per person, one column per day) or of the long format (one row
    per person and day: username, date, code or start/end). Line numbers count from 1 as in the file."""
    out = Parsed()
    table = [[_cell(v) for v in row] for row in cells]
    header_at = next((i for i, row in enumerate(table) if sum(header_key(c) is not None for c in row) >= 1), None)
    if header_at is None:
        out.errors.append((1, "머리글 행(이름/아이디/일자…)이 없습니다", "no header row (name/username/date…)"))
        return out
    header = table[header_at]
    keys: dict[str, int] = {}
    days: dict[int, date] = {}
    for j, text in enumerate(header):
        key = header_key(text)
        if key is not None and key not in keys:
            keys[key] = j
            continue
        d = _day_column(text, month)
        if isinstance(d, date):
            days[j] = d
        elif d == "no_month":
            out.errors.append(
                (header_at + 1, "일(日) 열이 있으면 월(YYYY-MM)을 지정하세요", "day columns need a month (YYYY-MM)")
            )
            return out
        elif d == "bad":
            out.errors.append(
                (header_at + 1, f"그 달에 없는 날짜 열: {text}", f"a day column not in the month: {text}")
            )
    if "username" not in keys and "name" not in keys:
        out.errors.append((header_at + 1, "아이디 또는 이름 열이 없습니다", "no username or name column"))
        return out
    long = "date" in keys
    out.layout = "long" if long else "grid"
    if not long and not days:
        out.errors.append((header_at + 1, "일(日) 열이 없습니다", "no day columns"))
        return out

    def get(row: list[str], key: str) -> str | None:
        j = keys.get(key)
        return (row[j] if j is not None and j < len(row) else "").strip() or None

    for i in range(header_at + 1, len(table)):
        row, line = table[i], i + 1
        if not any(row):
            continue
        out.lines_read += 1
        if out.lines_read > MAX_IMPORT_ROWS:
            out.errors.append(
                (line, f"행이 너무 많습니다 (최대 {MAX_IMPORT_ROWS})", f"too many rows (max {MAX_IMPORT_ROWS})")
            )
            break
        who = {
            "username": get(row, "username"),
            "name": get(row, "name"),
            "team": get(row, "team"),
            "role": get(row, "role"),
        }
        if who["username"] is None and who["name"] is None:
            out.errors.append((line, "아이디와 이름이 비어 있습니다", "username and name are empty"))
            continue
        if long:
            _long_row(out, line, who, get(row, "date"), get(row, "code"), get(row, "start"), get(row, "end"))
            continue
        for j, d in days.items():
            code = row[j].strip() if j < len(row) else ""
            if code:
                out.rows.append(Row(line, who["username"], who["name"], who["team"], who["role"], d, code))
    return out


def _long_row(
    out: Parsed,
    line: int,
    who: dict[str, str | None],
    day_text: str | None,
    code: str | None,
    start: str | None,
    end: str | None,
) -> None:
    day = parse_date(day_text or "")
    if day is None:
        out.errors.append((line, f"잘못된 날짜: {day_text or ''}", f"bad date: {day_text or ''}"))
        return
    if code:
        out.rows.append(Row(line, who["username"], who["name"], who["team"], who["role"], day, code))
        return
    s, e = _TIME.match(start or ""), _TIME.match(end or "")
    if not (s and e) or int(s.group(1)) > 23 or int(e.group(1)) > 23 or int(s.group(2)) > 59 or int(e.group(2)) > 59:
        out.errors.append(
            (line, "근무 코드나 시작·종료 시각(HH:MM)이 필요합니다", "give a shift code or start and end (HH:MM)")
        )
        return
    local_start = datetime(day.year, day.month, day.day, int(s.group(1)), int(s.group(2)))
    local_end = datetime(day.year, day.month, day.day, int(e.group(1)), int(e.group(2)))
    if local_end <= local_start:
        local_end += timedelta(days=1)
    out.rows.append(Row(line, who["username"], who["name"], who["team"], who["role"], day, "", local_start, local_end))


# ---- planned gaps ---------------------------------------------------------------------------

StaffingRule = tuple[str, tuple[str, ...], int]  # (organisation, roles, minimum on duty)
Planned = tuple[str, str, datetime, datetime]  # (organisation, role, start, end)


@dataclass(frozen=True)
class Gap:
    organisation: str
    roles: tuple[str, ...]
    minimum: int
    planned: int
    starts_at: datetime
    ends_at: datetime


def planned_gaps(rules: list[StaffingRule], shifts: list[Planned], start: datetime, end: datetime) -> list[Gap]:
    """Every stretch of [start, end) where fewer people are planned for a rule's organisation and roles
    than its minimum (Art. 9 ②); adjacent stretches with the same count are merged."""
    gaps: list[Gap] = []
    for org, roles, minimum in rules:
        if minimum <= 0:
            continue
        mine = [
            (max(s, start), min(e, end)) for o, r, s, e in shifts if o == org and r in roles and s < end and e > start
        ]
        points = sorted({start, end, *(s for s, _ in mine), *(e for _, e in mine)})
        current: Gap | None = None
        for a, b in zip(points, points[1:]):
            n = sum(1 for s, e in mine if s <= a and e >= b)
            if n >= minimum:
                if current:
                    gaps.append(current)
                current = None
            elif current and current.planned == n and current.ends_at == a:
                current = Gap(org, roles, minimum, n, current.starts_at, b)
            else:
                if current:
                    gaps.append(current)
                current = Gap(org, roles, minimum, n, a, b)
        if current:
            gaps.append(current)
    return gaps
