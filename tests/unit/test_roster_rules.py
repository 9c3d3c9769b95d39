"""Pure roster rules (issue 10 §1, agreement Art. 9 ①·②): shift codes in KST, pattern expansion,
month-grid parsing and planned gaps."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from gwanje.center.roster import rules
from gwanje.policy import load_default

KST = ZoneInfo("Asia/Seoul")
POLICY = load_default()
ROSTER = POLICY.roster
assert ROSTER is not None


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)


def test_night_shift_crosses_midnight_in_kst() -> None:
    """Art. 9 ①: 야 is 18:00–09:00 KST, ending the next local day; stored in UTC."""
    code = ROSTER.code("야")
    assert code is not None
    start, end = rules.shift_interval(code, date(2026, 12, 31), KST)  # type: ignore[misc]
    assert start == utc(2026, 12, 31, 9) and end == utc(2027, 1, 1, 0)
    day = ROSTER.code("주")
    assert rules.shift_interval(day, date(2026, 12, 1), KST) == (utc(2026, 12, 1, 0), utc(2026, 12, 1, 9))  # type: ignore[arg-type]
    late = ROSTER.code("C")
    assert rules.shift_interval(late, date(2026, 12, 1), KST) == (utc(2026, 12, 1, 14), utc(2026, 12, 1, 22))  # type: ignore[arg-type]


def test_off_codes_have_no_interval() -> None:
    """Art. 9 ①: 비 and 휴 are days off, never planned as shifts."""
    assert rules.shift_interval(ROSTER.code("비"), date(2026, 12, 1), KST) is None  # type: ignore[arg-type]
    assert rules.shift_interval(ROSTER.code("휴"), date(2026, 12, 1), KST) is None  # type: ignore[arg-type]


def test_four_team_two_shift_pattern_covers_every_day_and_night() -> None:
    """Art. 9 ②: in 4조 2교대 (주-야-비-휴, teams a day apart) every day has one team on 주 and one on 야."""
    pattern = ROSTER.pattern("4조2교대")
    assert pattern is not None
    first, last = rules.month_days("2026-12")
    assert (first, last) == (date(2026, 12, 1), date(2026, 12, 31))
    by_team = {team: rules.expand_pattern(pattern, team, first, last) for team in pattern.teams}
    assert all(len(days) == 31 for days in by_team.values())
    for i in range(31):
        assert Counter(by_team[t][i][1] for t in pattern.teams) == Counter(["주", "야", "비", "휴"])
    one = [code for _, code in by_team["1조"]]
    assert set(one) == {"주", "야", "비", "휴"}  # the cycle repeats every four days
    assert one[0:4] == one[4:8]
    with pytest.raises(KeyError):
        rules.expand_pattern(pattern, "9조", first, last)


def test_four_team_three_shift_pattern_covers_every_shift() -> None:
    """Art. 9 ②: in 4조 3교대 every day has A, B and C worked and one team off."""
    pattern = ROSTER.pattern("4조3교대")
    assert pattern is not None
    for offset in range(16):
        day = date(2026, 12, 1) + timedelta(days=offset)
        codes = Counter(rules.pattern_code(pattern, t, day) for t in pattern.teams)
        assert codes == Counter(["A", "B", "C", "휴"])


def test_grid_parse_tolerates_synonyms_and_reports_bad_day_columns() -> None:
    """Issue 10 §1: header synonyms (성명/사용자ID/근무조), day columns 1..31, empty cells are off."""
    month = rules.month_days("2026-11")
    cells: list[list[object]] = [
        ["성명", "사용자 ID", "근무조", *range(1, 32)],
        ["박요원", "agent", "1조", "주", None, "야"],
        [None],
        ["", "", "2조", "주"],
    ]
    parsed = rules.parse_table(cells, month)
    assert parsed.layout == "grid"
    assert [(r.line, r.username, r.day.day, r.code) for r in parsed.rows] == [
        (2, "agent", 1, "주"),
        (2, "agent", 3, "야"),
    ]
    assert (1, "그 달에 없는 날짜 열: 31", "a day column not in the month: 31") in parsed.errors
    assert any(line == 4 for line, _, _ in parsed.errors)
    assert parsed.lines_read == 2


def test_long_format_with_times_and_bad_date() -> None:
    """Issue 10 §1: long format (username, date, code or start/end); a bad date is reported by line."""
    cells: list[list[object]] = [
        ["username", "date", "shift", "start", "end"],
        ["agent", "2026-12-01", "", "22:00", "06:00"],
        ["agent", "2026-13-01", "주", "", ""],
        ["agent", "2026-12-03", "주", "", ""],
    ]
    parsed = rules.parse_table(cells, None)
    assert parsed.layout == "long"
    assert parsed.rows[0].start == datetime(2026, 12, 1, 22) and parsed.rows[0].end == datetime(2026, 12, 2, 6)
    assert parsed.rows[1].code == "주" and parsed.rows[1].line == 4
    assert [line for line, _, _ in parsed.errors] == [3]


def test_planned_gaps_found_and_merged() -> None:
    """Art. 9 ②: at least one stationed officer on duty; a stretch with none planned is a gap."""
    start, end = utc(2026, 12, 1, 0), utc(2026, 12, 2, 0)
    shifts = [
        ("police", "police_officer", utc(2026, 12, 1, 0), utc(2026, 12, 1, 9)),
        ("police", "police_officer", utc(2026, 12, 1, 12), utc(2026, 12, 2, 0)),
        ("district", "monitoring_agent", utc(2026, 12, 1, 9), utc(2026, 12, 1, 12)),
    ]
    gaps = rules.planned_gaps([("police", ("police_officer",), 1)], shifts, start, end)
    assert [(g.starts_at, g.ends_at, g.planned) for g in gaps] == [(utc(2026, 12, 1, 9), utc(2026, 12, 1, 12), 0)]
    two = rules.planned_gaps([("police", ("police_officer",), 2)], shifts, start, end)
    assert [(g.starts_at, g.ends_at, g.planned) for g in two] == [
        (utc(2026, 12, 1, 0), utc(2026, 12, 1, 9), 1),
        (utc(2026, 12, 1, 9), utc(2026, 12, 1, 12), 0),
        (utc(2026, 12, 1, 12), utc(2026, 12, 2, 0), 1),
    ]
    assert rules.planned_gaps([("police", ("police_officer",), 0)], [], start, end) == []


def test_overlap_is_half_open() -> None:
    """Issue 10 §1: a shift ending at 09:00 and one starting at 09:00 do not overlap."""
    a = (utc(2026, 12, 1, 0), utc(2026, 12, 1, 9))
    assert not rules.overlaps(a, (utc(2026, 12, 1, 9), utc(2026, 12, 1, 18)))
    assert rules.overlaps(a, (utc(2026, 12, 1, 8), utc(2026, 12, 1, 18)))
