"""The incident state machine and who may act, without I/O."""

from __future__ import annotations

import pytest

from gwanje.core.errors import Conflict, Forbidden
from gwanje.policy import INCIDENT_STATUSES, load_default
from gwanje.situations import rules
from gwanje.situations.choices import IncidentStatus

POLICY = load_default()


def test_the_happy_path_runs_new_to_closed():
    status = "new"
    for action in ("acknowledge", "hand_over", "dispatch", "resolve", "close"):
        status = rules.next_status(status, action)
    assert status == "closed"


@pytest.mark.parametrize("status", sorted(IncidentStatus.codes()))
def test_every_other_transition_is_refused_with_the_allowed_ones(status):
    for action in rules.ACTIONS:
        if (status, action) in rules.TRANSITIONS:
            assert rules.next_status(status, action) == rules.TRANSITIONS[(status, action)]
            continue
        with pytest.raises(Conflict) as info:
            rules.next_status(status, action)
        assert info.value.details["allowed"] == sorted(rules.allowed_actions(status))
        assert info.value.message_ko and info.value.message_en


def test_finished_incidents_allow_nothing():
    for status in rules.FINISHED:
        assert rules.allowed_actions(status) == []


def _routed(type_: str, assigned: str | None = None) -> rules.Routed:
    s = POLICY.situation(type_)
    return rules.Routed(
        type=type_,
        responsible_org=s.responsible,
        recognising_org=s.recognise_organisation,
        recognising_role=s.recognise_role.day,
        responding_org=s.respond_organisation,
        responding_roles=s.respond_roles,
        assigned_role=assigned or s.recognise_role.day,
        two_stage=s.two_stage,
    )


def test_the_district_recognises_and_the_police_respond_to_video_analytics():
    routed = _routed("intelligent_event")
    rules.check_actor(POLICY, routed, "monitoring_agent", "acknowledge")
    rules.check_actor(POLICY, routed, "monitoring_agent", "hand_over")
    rules.check_actor(POLICY, routed, "police_officer", "dispatch")
    rules.check_actor(POLICY, routed, "police_officer", "resolve")
    with pytest.raises(Forbidden):
        rules.check_actor(POLICY, routed, "monitoring_agent", "resolve")  # two-stage: police judge
    with pytest.raises(Forbidden) as info:
        rules.check_actor(POLICY, routed, "monitoring_agent", "dispatch")
    assert info.value.clause == "art-10"


def test_only_police_dispatch_a_112_patrol_and_supervisors_may_always_act():
    routed = _routed("emergency_bell")
    with pytest.raises(Forbidden):
        rules.check_actor(POLICY, routed, "maintenance_staff", "dispatch")
    rules.check_actor(POLICY, routed, "police_112", "dispatch")
    for action in rules.ACTIONS:
        rules.check_actor(POLICY, routed, "district_manager", action)


def test_auditors_and_investigators_cannot_move_incidents():
    routed = _routed("emergency_bell")
    for role in ("auditor", "police_investigator", "department_officer"):
        with pytest.raises(Forbidden):
            rules.check_actor(POLICY, routed, role, "acknowledge")


def test_the_112_room_sees_police_routed_incidents_only():
    assert rules.may_see(POLICY, "police_112", None, _routed("emergency_bell"))
    assert rules.may_see(POLICY, "police_112", None, _routed("wanted_vehicle"))
    assert not rules.may_see(POLICY, "police_112", None, _routed("u_seoul_safety"))
    assert not rules.may_see(POLICY, "police_112", None, _routed("camera_fault"))


def test_a_department_officer_sees_only_its_own_purposes():
    routed = _routed("intelligent_event")
    assert rules.may_see(POLICY, "department_officer", "sanitation", routed, ("illegal_dumping",))
    assert not rules.may_see(POLICY, "department_officer", "parks_green", routed, ("illegal_dumping",))
    assert not rules.may_see(POLICY, "department_officer", "sanitation", _routed("emergency_bell"), ())
    assert rules.may_see(POLICY, "monitoring_agent", None, routed)
    assert not rules.may_see(POLICY, "police_investigator", None, routed)


def test_required_steps_must_be_done_or_skipped():
    missing = rules.missing_required_steps(POLICY, "u_seoul_safety", set(), set())
    assert "notify_police" not in missing  # optional
    assert rules.missing_required_steps(POLICY, "u_seoul_safety", set(missing[:-1]), {missing[-1]}) == []


def test_the_policys_incident_statuses_are_the_state_machines():
    assert set(INCIDENT_STATUSES) == set(IncidentStatus.codes())


def test_take_and_review_are_assignments_not_moves():
    for status in ("acknowledged", "handed_over", "dispatched"):
        assert rules.next_status(status, "take") == status
        assert rules.next_status(status, "review") == status
    assert rules.next_status("new", "review") == "new"
    assert "take" not in rules.allowed_actions("acknowledged", taken=True)
    assert "review" not in rules.allowed_actions("acknowledged", review_pending=False)


def test_only_responders_take_and_only_the_district_reviews():
    routed = _routed("intelligent_event")
    rules.check_actor(POLICY, routed, "police_officer", "take")
    with pytest.raises(Forbidden):
        rules.check_actor(POLICY, routed, "monitoring_agent", "take")
    rules.check_actor(POLICY, routed, "monitoring_agent", "review")
    with pytest.raises(Forbidden):
        rules.check_actor(POLICY, routed, "police_officer", "review")
