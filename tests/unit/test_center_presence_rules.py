"""Pure presence rules: the training and pledge gate (Art. 9 ④) and the staffing evaluation (Art. 9 ②)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from gwanje.center.presence.rules import Interval, add_months, duty_refusal, evaluate_rule
from gwanje.policy.loader import load_policy

T0 = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
ALL = [("security", date(2027, 1, 1)), ("privacy", date(2027, 1, 1)), ("operating_system", date(2027, 1, 1))]


def _rule(policy, code="police_on_duty"):
    return next(r for r in policy.staffing.rules if r.code == code)


def test_an_agent_with_every_course_valid_and_a_pledge_may_go_on_duty(policy):
    """art-9-4: the district trains its monitoring agents before duty."""
    assert duty_refusal(policy, "monitoring_agent", ALL, date(2026, 1, 1), T0) is None


def test_a_lapsed_course_refuses_naming_it(policy):
    """art-9-4: a lapsed course refuses duty, naming the course in both languages."""
    lapsed = [*ALL[:2], ("operating_system", date(2026, 11, 30))]
    refusal = duty_refusal(policy, "monitoring_agent", lapsed, date(2026, 1, 1), T0)
    assert refusal is not None and refusal.clause == "art-9-4"
    assert "운영시스템 교육" in refusal.ko and "Operating system training" in refusal.en


def test_a_missing_course_or_pledge_refuses(policy):
    """art-9-4: no record of a course, or no pledge on file, refuses."""
    assert "보안 교육" in duty_refusal(policy, "monitoring_agent", ALL[1:], date(2026, 1, 1), T0).ko
    assert "pledge" in duty_refusal(policy, "monitoring_agent", ALL, None, T0).en


def test_a_role_without_requirements_is_not_gated(policy):
    """art-9-4 names only the monitoring agents in Seongdong."""
    assert duty_refusal(policy, "police_officer", [], None, T0) is None


def test_validity_is_counted_in_months():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 12, 1), 12) == date(2027, 12, 1)


def test_rule_holds_while_enough_are_present(policy):
    """art-9-2: at least one officer stationed at all times."""
    state = evaluate_rule(_rule(policy), [Interval("police", "police_officer", T0, None)], T0 + timedelta(hours=1))
    assert state.holds and state.present == 1 and state.since is None


def test_gap_starts_at_the_check_out_and_counts_the_grace_from_it(policy):
    """art-9-2: the gap starts when the last officer left (from the records, not from the evaluation)."""
    rule = _rule(policy)
    out = T0 + timedelta(hours=2)
    intervals = [Interval("police", "police_officer", T0, out), Interval("district", "monitoring_agent", T0, None)]
    within = evaluate_rule(rule, intervals, out + timedelta(minutes=rule.grace_minutes))
    assert not within.holds and within.since == out and not within.overdue
    past = evaluate_rule(rule, intervals, out + timedelta(minutes=rule.grace_minutes + 1))
    assert past.since == out and past.overdue and past.present == 0


def test_overlapping_stays_keep_the_rule_and_the_last_leaving_starts_the_gap(policy):
    """art-9-2: a handover between officers is not a gap."""
    rule = _rule(policy)
    a = Interval("police", "police_officer", T0, T0 + timedelta(hours=8))
    b = Interval("police", "police_112", T0 + timedelta(hours=7), T0 + timedelta(hours=10))
    assert evaluate_rule(rule, [a, b], T0 + timedelta(hours=8, minutes=30)).holds
    state = evaluate_rule(rule, [a, b], T0 + timedelta(hours=11))
    assert state.since == T0 + timedelta(hours=10) and state.overdue


def test_other_organisations_and_roles_do_not_count(policy):
    """art-9-2: only officers count for the police rule."""
    state = evaluate_rule(_rule(policy), [Interval("district", "district_manager", T0, None)], T0 + timedelta(hours=1))
    assert not state.holds and state.present == 0


def test_a_rule_with_hours_holds_outside_them():
    """Hanbit: two day-shift agents 09-18 KST; at night the rule does not apply."""
    policy = load_policy("tests/fixtures/policies/hanbit.yaml")
    rule = _rule(policy, "day_agents")
    night = datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)  # 23:00 KST
    assert evaluate_rule(rule, [], night).holds
    day = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)  # 12:00 KST
    left = Interval("gu_office", "control_agent", day - timedelta(days=1), day - timedelta(hours=5))
    state = evaluate_rule(rule, [left], day)
    assert not state.holds and state.since == datetime(2026, 12, 1, 0, 0, tzinfo=timezone.utc)  # 09:00 KST


def test_grace_zero_is_overdue_at_once(policy):
    rule = replace(_rule(policy), grace_minutes=0)
    out = T0 + timedelta(hours=1)
    assert evaluate_rule(rule, [Interval("police", "police_officer", T0, out)], out).overdue
