"""The deadline settings of the policy (issue 9 §2): grace period, subject-request alert window and
the roles that must act, with validation; and the pure decisions over them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import pytest

from gwanje.policy import PolicyError, UnknownCode, decisions, load_default, load_policy

DEFAULT_TEXT = resources.files("gwanje").joinpath("policies", "seongdong.yaml").read_text(encoding="utf-8")
HANBIT = Path(__file__).resolve().parents[1] / "fixtures" / "policies" / "hanbit.yaml"
AT = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
SETTINGS = """  document_grace_hours: 0
  subject_request_alert_days: 2
  deadline_alerts:
    document: [police_officer, police_112]
    usage_result: [police_officer, police_112, police_investigator]
    subject_request: [district_it_officer, district_manager]
"""


@pytest.fixture(scope="module")
def policy():
    return load_default()


def _load(tmp_path, text):
    assert SETTINGS in DEFAULT_TEXT
    path = tmp_path / "district.yaml"
    path.write_text(DEFAULT_TEXT.replace(SETTINGS, text, 1), encoding="utf-8")
    return load_policy(path)


def test_seongdong_names_who_must_act_on_each_deadline(policy):
    assert policy.access.document_grace_hours == 0 and policy.access.subject_request_alert_days == 2
    assert policy.deadline_alert_roles("document") == ("police_officer", "police_112")
    assert policy.deadline_alert_roles("usage_result") == ("police_officer", "police_112", "police_investigator")
    assert set(policy.deadline_alert_roles("subject_request")) == {"district_manager", "district_it_officer"}
    with pytest.raises(UnknownCode):
        policy.deadline_alert_roles("invoice")


def test_a_policy_without_the_settings_alerts_the_roles_that_hold_the_acting_permission():
    hanbit = load_policy(HANBIT)
    assert hanbit.access.document_grace_hours == 0
    assert hanbit.deadline_alert_roles("document") == hanbit.roles_with("video.emergency_access")
    assert hanbit.deadline_alert_roles("subject_request") == hanbit.roles_with("video.subject_request.handle")


def test_a_grace_period_and_alert_window_are_read_from_the_file(tmp_path):
    p = _load(
        tmp_path,
        "  document_grace_hours: 12\n  subject_request_alert_days: 3\n"
        "  deadline_alerts:\n    subject_request: [district_manager]\n",
    )
    assert p.access.document_grace_hours == 12 and p.access.subject_request_alert_days == 3
    assert p.deadline_alert_roles("subject_request") == ("district_manager",)
    assert p.deadline_alert_roles("document") == p.roles_with("video.emergency_access")  # not named: default


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("  document_grace_hours: -1\n", "document_grace_hours"),
        ("  document_grace_hours: soon\n", "document_grace_hours"),
        ("  subject_request_alert_days: -2\n", "subject_request_alert_days"),
        ("  deadline_alerts:\n    document: [night_watch]\n", "night_watch"),
        ("  deadline_alerts:\n    invoice: [police_officer]\n", "invoice"),
        ("  deadline_alerts:\n    document: []\n", "deadline_alerts.document"),
        ("  deadline_alerts: [police_officer]\n", "deadline_alerts"),
    ],
)
def test_bad_deadline_settings_are_refused_with_their_place(tmp_path, text, needle):
    with pytest.raises(PolicyError) as err:
        _load(tmp_path, text)
    assert needle in str(err.value) and err.value.line


def test_the_document_check_allows_until_the_grace_ends_and_always_once_filed(policy):
    graced = replace(policy, access=replace(policy.access, document_grace_hours=6))
    due = AT + timedelta(hours=24)
    assert decisions.document_cutoff(graced, due) == due + timedelta(hours=6)
    assert decisions.emergency_document_check(graced, due, None, due + timedelta(hours=6))
    late = decisions.emergency_document_check(graced, due, None, due + timedelta(hours=6, seconds=1))
    assert not late and late.clause == "art-11-1" and "art-11-1" in late.reason_ko and "6 hours" in late.reason_en
    assert decisions.emergency_document_check(graced, due, due + timedelta(days=1), due + timedelta(days=9))
    assert decisions.emergency_document_check(graced, None, None, due + timedelta(days=9))  # a regular request
    assert not decisions.emergency_document_check(policy, due, None, due + timedelta(seconds=1))  # no grace


def test_a_subject_request_alerts_from_the_policys_days_before_its_limit(policy):
    due = AT + timedelta(days=10)
    assert decisions.subject_request_alert_from(policy, due) == AT + timedelta(days=8)
    assert decisions.must_act_on_deadline(policy, "district_it_officer", "subject_request")
    assert not decisions.must_act_on_deadline(policy, "police_officer", "subject_request")
