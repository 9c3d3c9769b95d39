"""Every decision over the u-Seongdong policy, allowed and refused, day and night, with its clause."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gwanje.policy import decisions
from gwanje.policy import (
    Decision,
    IncidentFacts,
    UnknownCode,
    annex_row,
    emergency_access,
    incident_grants_view,
    is_incident_only,
    is_overdue,
    load_default,
    load_policy,
    may_attach_to_incident,
    may_see_incident,
    may_view_video,
    owner_organisation,
    period_at,
    purposes_for,
    retention_days,
    role_has_permission,
    route_situation,
    secondary_purpose_allowed,
    staffing_ok,
    totp_required,
    usage_result_due,
)

KST = timezone(timedelta(hours=9))
ALL_PURPOSES = (
    "crime_prevention",
    "illegal_parking",
    "illegal_dumping",
    "facility_management",
    "disaster",
    "green_parking",
    "bicycle_storage",
    "child_protection",
    "traffic_enforcement",
    "traffic_info",
    "other",
)
ALL_ROLES = (
    "district_manager",
    "district_it_officer",
    "monitoring_agent",
    "maintenance_staff",
    "department_officer",
    "police_officer",
    "police_112",
    "police_investigator",
    "auditor",
)
POLICE_ROLES = ("police_officer", "police_112", "police_investigator")

# Annex 1 as printed: (department, primary purpose, camera group) -> primary + approved secondary purposes.
ANNEX_1 = {
    ("autonomous_admin", "crime_prevention", None): {
        "crime_prevention",
        "illegal_parking",
        "illegal_dumping",
        "facility_management",
        "disaster",
    },
    ("traffic_guidance", "illegal_parking", None): {
        "illegal_parking",
        "crime_prevention",
        "facility_management",
        "disaster",
    },
    ("traffic_guidance", "green_parking", "green_parking"): {
        "green_parking",
        "crime_prevention",
        "illegal_parking",
        "illegal_dumping",
        "facility_management",
        "disaster",
    },
    ("traffic_admin", "bicycle_storage", "bicycle_storage"): {
        "bicycle_storage",
        "crime_prevention",
        "illegal_parking",
        "illegal_dumping",
        "facility_management",
    },
    ("parks_green", "facility_management", None): {
        "facility_management",
        "crime_prevention",
        "illegal_parking",
        "illegal_dumping",
        "disaster",
    },
    ("sanitation", "illegal_dumping", None): {
        "illegal_dumping",
        "crime_prevention",
        "illegal_parking",
        "facility_management",
        "disaster",
    },
    ("police_station", "crime_prevention", None): {"crime_prevention"},
}


@pytest.fixture(scope="module")
def policy():
    return load_default()


# ---- Decision --------------------------------------------------------------------------------


def test_decision_is_truthy_only_when_allowed():
    assert Decision(True, "art-5", "허용", "allowed")
    assert not Decision(False, "art-5", "거부", "refused")


def test_decision_is_immutable():
    decision = Decision(True, "art-5", "허용", "allowed")
    with pytest.raises(AttributeError):
        decision.allowed = False  # type: ignore[misc]


# ---- Annex 1: secondary purposes --------------------------------------------------------------


@pytest.mark.parametrize(("key", "purpose"), [(key, p) for key in ANNEX_1 for p in ALL_PURPOSES])
def test_secondary_purpose_is_allowed_exactly_as_annex_1_prints(policy, key, purpose):
    department, primary, group = key
    decision = secondary_purpose_allowed(policy, department, primary, purpose, camera_group=group)
    assert decision.allowed is (purpose in ANNEX_1[key])
    assert decision.clause == "annex-1"
    assert decision.reason_ko and decision.reason_en


def test_primary_purpose_is_always_allowed_and_says_so(policy):
    decision = secondary_purpose_allowed(policy, "sanitation", "illegal_dumping", "illegal_dumping")
    assert decision.allowed
    assert "primary" in decision.reason_en and "주목적" in decision.reason_ko


def test_parking_cameras_of_traffic_guidance_are_not_approved_for_dumping(policy):
    decision = secondary_purpose_allowed(policy, "traffic_guidance", "illegal_parking", "illegal_dumping")
    assert not decision
    assert "불법주정차 단속" in decision.reason_ko


def test_green_parking_cameras_of_the_same_department_are_approved_for_dumping(policy):
    assert secondary_purpose_allowed(policy, "traffic_guidance", "green_parking", "illegal_dumping")


def test_bicycle_storage_cameras_are_not_approved_for_disaster(policy):
    assert not secondary_purpose_allowed(policy, "traffic_admin", "bicycle_storage", "disaster")


def test_police_cameras_are_approved_for_crime_prevention_only(policy):
    assert secondary_purpose_allowed(policy, "police_station", "crime_prevention", "crime_prevention")
    assert not secondary_purpose_allowed(policy, "police_station", "crime_prevention", "illegal_parking")


def test_a_primary_purpose_missing_from_annex_1_approves_nothing(policy):
    decision = secondary_purpose_allowed(policy, "autonomous_admin", "child_protection", "crime_prevention")
    assert not decision
    assert decision.clause == "annex-1"


def test_a_department_without_cameras_has_no_annex_row(policy):
    assert not secondary_purpose_allowed(policy, "it_info", "crime_prevention", "crime_prevention")


@pytest.mark.parametrize(
    "args",
    [
        ("finance", "crime_prevention", "disaster"),
        ("autonomous_admin", "loitering", "disaster"),
        ("autonomous_admin", "crime_prevention", "loitering"),
    ],
)
def test_secondary_purpose_check_raises_on_unknown_codes(policy, args):
    with pytest.raises(UnknownCode):
        secondary_purpose_allowed(policy, *args)


@pytest.mark.parametrize("key", list(ANNEX_1))
def test_purposes_for_lists_primary_first_then_approved_secondary(policy, key):
    department, primary, group = key
    purposes = purposes_for(policy, department, primary, group)
    assert purposes[0] == primary
    assert set(purposes) == ANNEX_1[key]
    assert len(purposes) == len(set(purposes))


def test_purposes_for_keeps_annex_order(policy):
    assert purposes_for(policy, "autonomous_admin", "crime_prevention") == (
        "crime_prevention",
        "illegal_parking",
        "illegal_dumping",
        "facility_management",
        "disaster",
    )


def test_purposes_for_a_camera_group_outside_annex_1_is_empty(policy):
    assert purposes_for(policy, "autonomous_admin", "disaster") == ()


def test_annex_row_finds_the_green_parking_group(policy):
    row = annex_row(policy, "traffic_guidance", "green_parking", "green_parking")
    assert row is not None and row.label_ko == "그린파킹"


def test_annex_row_without_group_takes_the_single_row_of_the_pair(policy):
    row = annex_row(policy, "traffic_admin", "bicycle_storage")
    assert row is not None and row.storage_mode == "on_site" and row.remarks_ko == "현장저장"


def test_annex_row_with_an_unknown_group_is_none(policy):
    assert annex_row(policy, "traffic_guidance", "illegal_parking", "bicycle_storage") is None


def test_annex_row_of_sanitation_is_mobile(policy):
    row = annex_row(policy, "sanitation", "illegal_dumping")
    assert row is not None and row.storage_mode == "mobile"


# ---- Art. 5: ownership ------------------------------------------------------------------------


def test_district_owns_what_the_district_installs(policy):
    assert owner_organisation(policy, "district") == "district"


def test_police_own_what_the_police_install(policy):
    assert owner_organisation(policy, "police") == "police"


def test_ownership_of_an_unknown_installer_raises(policy):
    with pytest.raises(UnknownCode):
        owner_organisation(policy, "contractor")


def test_annex_1_police_row_is_owned_by_the_police(policy):
    row = annex_row(policy, "police_station", "crime_prevention")
    assert row is not None and row.owner == owner_organisation(policy, "police")


# ---- RBAC -------------------------------------------------------------------------------------

PERMISSIONS = {
    "registry.read": set(ALL_ROLES),
    "registry.write": {"district_manager", "district_it_officer"},
    "registry.write_own_department": {"department_officer"},
    "users.manage": {"district_manager", "district_it_officer"},
    "audit.read": {"auditor", "district_manager"},
    "audit.verify": {"auditor", "district_manager", "district_it_officer"},
    "reports.read": set(ALL_ROLES) - {"maintenance_staff"},
    "policy.read": set(ALL_ROLES),
    "video.provision.request": set(POLICE_ROLES),
    "video.usage_result.enter": set(POLICE_ROLES),
}


@pytest.mark.parametrize(("permission", "role"), [(p, r) for p in PERMISSIONS for r in ALL_ROLES])
def test_role_has_permission_matches_the_permission_table(policy, permission, role):
    decision = role_has_permission(policy, role, permission)
    assert decision.allowed is (role in PERMISSIONS[permission])
    assert decision.clause == policy.permission(permission).clause
    assert decision.reason_ko and decision.reason_en


def test_usage_result_entry_rests_on_article_11_2(policy):
    assert role_has_permission(policy, "police_officer", "video.usage_result.enter").clause == "art-11-2"


def test_registry_write_is_refused_to_monitoring_agents_with_reason(policy):
    decision = role_has_permission(policy, "monitoring_agent", "registry.write")
    assert not decision
    assert "권한이 없습니다" in decision.reason_ko


def test_role_has_permission_raises_on_an_unknown_role(policy):
    with pytest.raises(UnknownCode):
        role_has_permission(policy, "janitor", "registry.read")


def test_a_permission_the_policy_does_not_define_is_held_by_no_one(policy):
    # a district that leaves a capability out of its policy gets refusals from that capability's routes
    decision = role_has_permission(policy, "auditor", "video.delete")
    assert not decision
    assert decision.clause == "policy-rbac"
    assert "video.delete" in decision.reason_ko and "video.delete" in decision.reason_en


def test_every_permission_the_code_asks_for_is_defined_by_the_shipped_policy(policy):
    # the refusal above must not hide a misspelt permission in the code: every literal the code checks exists
    import re
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src" / "gwanje"
    pattern = re.compile(
        r"(?:requires(?:_[a-z]+)?|role_has_permission|\bmay)\((?:[^()\"]*?,\s*)*\"([a-z_]+(?:\.[a-z_]+)+)\""
    )
    used = {m for f in src.rglob("*.py") for m in pattern.findall(f.read_text("utf-8"))}
    used |= {m for f in src.rglob("*.html") for m in pattern.findall(f.read_text("utf-8"))}
    assert len(used) > 30
    defined = {p.code for p in policy.permissions}
    assert used - defined == set()


@pytest.mark.parametrize(
    ("role", "required"),
    [
        ("district_manager", True),
        ("district_it_officer", True),
        ("police_officer", True),
        ("police_112", True),
        ("police_investigator", True),
        ("monitoring_agent", False),
        ("maintenance_staff", False),
        ("department_officer", False),
        ("auditor", False),
    ],
)
def test_totp_is_required_for_managers_it_and_every_police_role(policy, role, required):
    assert totp_required(policy, role) is required


def test_totp_of_an_unknown_role_raises(policy):
    with pytest.raises(UnknownCode):
        totp_required(policy, "janitor")


# ---- video access: Annex 1, RBAC, Art. 9 ⑤ -----------------------------------------------------

CAMERA = {  # a 자치행정과 crime-prevention camera
    "camera_purposes": ("crime_prevention", "illegal_parking", "illegal_dumping", "facility_management", "disaster"),
    "camera_department": "autonomous_admin",
}


def view(policy, role, purpose, *, department=None, responding=False, camera=CAMERA):
    return may_view_video(
        policy,
        role=role,
        user_department=department,
        purpose=purpose,
        responding_incident_camera=responding,
        **camera,
    )


@pytest.mark.parametrize("role", ALL_ROLES)
def test_no_role_may_view_for_a_purpose_the_camera_is_not_approved_for(policy, role):
    decision = view(policy, role, "traffic_info", department="autonomous_admin", responding=True)
    assert not decision
    assert decision.clause == "annex-1"


@pytest.mark.parametrize("purpose", CAMERA["camera_purposes"])
def test_manager_may_view_for_every_approved_purpose(policy, purpose):
    decision = view(policy, "district_manager", purpose)
    assert decision and decision.clause == "annex-1"


@pytest.mark.parametrize(
    ("purpose", "allowed"),
    [
        ("crime_prevention", True),
        ("illegal_parking", True),
        ("illegal_dumping", True),
        ("facility_management", True),
        ("disaster", True),
    ],
)
def test_monitoring_agent_may_view_for_the_multi_purpose_uses(policy, purpose, allowed):
    assert bool(view(policy, "monitoring_agent", purpose)) is allowed


def test_monitoring_agent_may_not_view_for_a_purpose_outside_the_role(policy):
    camera = {"camera_purposes": ("green_parking", "crime_prevention"), "camera_department": "traffic_guidance"}
    decision = view(policy, "monitoring_agent", "green_parking", camera=camera)
    assert not decision
    assert decision.clause == "policy-rbac"


@pytest.mark.parametrize(
    ("purpose", "allowed"), [("facility_management", True), ("crime_prevention", True), ("illegal_parking", False)]
)
def test_maintenance_staff_view_only_for_facilities_and_bell_handling(policy, purpose, allowed):
    decision = view(policy, "maintenance_staff", purpose)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.clause == "policy-rbac"


@pytest.mark.parametrize("purpose", CAMERA["camera_purposes"])
def test_auditor_may_not_view_video(policy, purpose):
    decision = view(policy, "auditor", purpose)
    assert not decision and decision.clause == "policy-rbac"


def test_department_officer_may_view_own_department_camera_for_its_purposes(policy):
    decision = view(policy, "department_officer", "illegal_dumping", department="autonomous_admin")
    assert decision and decision.clause == "annex-1"


def test_department_officer_may_not_view_another_departments_camera(policy):
    decision = view(policy, "department_officer", "crime_prevention", department="sanitation")
    assert not decision
    assert decision.clause == "policy-rbac"
    assert "own department" in decision.reason_en


def test_department_officer_without_a_department_may_not_view(policy):
    assert not view(policy, "department_officer", "crime_prevention", department=None)


def test_department_officer_may_not_view_for_a_purpose_outside_the_department(policy):
    camera = {"camera_purposes": ("bicycle_storage", "disaster"), "camera_department": "traffic_admin"}
    decision = view(policy, "department_officer", "disaster", department="traffic_admin", camera=camera)
    assert not decision
    assert decision.clause == "policy-rbac"


def test_department_officer_of_a_department_without_cameras_may_not_view(policy):
    camera = {"camera_purposes": ("crime_prevention",), "camera_department": "it_info"}
    assert not view(policy, "department_officer", "crime_prevention", department="it_info", camera=camera)


@pytest.mark.parametrize("role", POLICE_ROLES)
def test_police_may_not_view_unless_responding_to_an_incident_with_the_camera(policy, role):
    decision = view(policy, role, "crime_prevention", responding=False)
    assert not decision
    assert decision.clause == "art-9-5"
    assert "사건" in decision.reason_ko


@pytest.mark.parametrize("role", POLICE_ROLES)
def test_police_may_view_while_responding_to_an_incident_with_the_camera(policy, role):
    decision = view(policy, role, "crime_prevention", responding=True)
    assert decision and decision.clause == "art-9-5"


@pytest.mark.parametrize("role", POLICE_ROLES)
def test_police_may_not_view_for_parking_even_while_responding(policy, role):
    decision = view(policy, role, "illegal_parking", responding=True)
    assert not decision and decision.clause == "policy-rbac"


def test_police_investigator_may_not_view_for_disaster(policy):
    assert not view(policy, "police_investigator", "disaster", responding=True)
    assert view(policy, "police_officer", "disaster", responding=True)


def test_district_roles_do_not_need_an_incident(policy):
    assert view(policy, "monitoring_agent", "crime_prevention", responding=False)


def test_police_view_police_cameras_only_while_responding_too(policy):
    camera = {"camera_purposes": ("crime_prevention",), "camera_department": "police_station"}
    assert not view(policy, "police_officer", "crime_prevention", camera=camera)
    assert view(policy, "police_officer", "crime_prevention", camera=camera, responding=True)


@pytest.mark.parametrize(("role", "purpose"), [("janitor", "crime_prevention"), ("police_officer", "loitering")])
def test_may_view_video_raises_on_unknown_codes(policy, role, purpose):
    with pytest.raises(UnknownCode):
        view(policy, role, purpose)


# ---- Annex 2: routing by day and night --------------------------------------------------------


def kst(hour: int, minute: int = 0, second: int = 0, microsecond: int = 0) -> datetime:
    return datetime(2024, 3, 15, hour, minute, second, microsecond, tzinfo=KST)


@pytest.mark.parametrize(
    ("at", "period"),
    [
        (kst(8, 59, 59, 999999), "night"),
        (kst(9, 0), "day"),
        (kst(12, 0), "day"),
        (kst(17, 59, 59, 999999), "day"),
        (kst(18, 0), "night"),
        (kst(0, 0), "night"),
        (kst(23, 59), "night"),
    ],
)
def test_day_is_from_nine_inclusive_to_six_exclusive_in_seoul(policy, at, period):
    assert period_at(policy, at) == period


def test_day_and_night_are_computed_in_seoul_time_not_the_callers_zone(policy):
    assert period_at(policy, datetime(2024, 3, 15, 0, 0, tzinfo=timezone.utc)) == "day"  # 09:00 KST
    assert period_at(policy, datetime(2024, 3, 15, 9, 0, tzinfo=timezone.utc)) == "night"  # 18:00 KST
    assert period_at(policy, datetime(2024, 3, 14, 23, 59, tzinfo=timezone.utc)) == "night"  # 08:59 KST


@pytest.mark.parametrize(
    ("at", "handler"),
    [
        (kst(9, 0), "maintenance_staff"),
        (kst(18, 0), "monitoring_agent"),
        (kst(17, 59), "maintenance_staff"),
        (kst(8, 59), "monitoring_agent"),
    ],
)
def test_emergency_bell_is_handled_by_maintenance_by_day_and_monitoring_by_night(policy, at, handler):
    routing = route_situation(policy, "emergency_bell", at)
    assert routing.handler_role == routing.recognising_role == handler
    assert routing.responsible_organisation == "police"
    assert routing.responding_organisation == "police"
    assert "police_officer" in routing.responding_roles
    assert routing.clause == "annex-2"
    assert routing.day_or_night == ("day" if handler == "maintenance_staff" else "night")


@pytest.mark.parametrize("at", [kst(12), kst(2)])
def test_intelligent_event_is_recognised_by_district_and_judged_by_police(policy, at):
    routing = route_situation(policy, "intelligent_event", at)
    assert routing.two_stage
    assert (routing.recognising_organisation, routing.recognising_role) == ("district", "monitoring_agent")
    assert (routing.responding_organisation, routing.responding_roles) == ("police", ("police_officer",))
    assert routing.clause == "annex-2"


@pytest.mark.parametrize("at", [kst(12), kst(2)])
def test_wanted_vehicle_goes_to_the_police(policy, at):
    routing = route_situation(policy, "wanted_vehicle", at)
    assert routing.responsible_organisation == "police"
    assert routing.handler_role == "police_officer"
    assert not routing.two_stage


@pytest.mark.parametrize("at", [kst(12), kst(2)])
def test_u_seoul_safety_stays_with_district_monitoring_agents(policy, at):
    routing = route_situation(policy, "u_seoul_safety", at)
    assert routing.responsible_organisation == "district"
    assert routing.handler_role == "monitoring_agent"
    assert routing.responding_roles == ("monitoring_agent",)


@pytest.mark.parametrize("at", [kst(12), kst(2)])
def test_camera_fault_goes_to_district_maintenance(policy, at):
    routing = route_situation(policy, "camera_fault", at)
    assert routing.responsible_organisation == "district"
    assert routing.handler_role == "maintenance_staff"
    assert routing.responding_roles == ("maintenance_staff",)


def test_manual_report_follows_article_10(policy):
    routing = route_situation(policy, "manual_report", kst(3))
    assert routing.two_stage and routing.clause == "art-10"
    assert routing.recognising_role == "monitoring_agent"
    assert routing.responding_organisation == "police"


def test_routing_reports_local_seoul_time(policy):
    routing = route_situation(policy, "camera_fault", datetime(2024, 3, 15, 0, 30, tzinfo=timezone.utc))
    assert routing.local_time.hour == 9 and routing.local_time.minute == 30


def test_routing_refuses_naive_datetimes(policy):
    with pytest.raises(ValueError, match="naive"):
        route_situation(policy, "emergency_bell", datetime(2024, 3, 15, 12, 0))


def test_period_refuses_naive_datetimes(policy):
    with pytest.raises(ValueError):
        period_at(policy, datetime(2024, 3, 15, 12, 0))


def test_routing_of_an_unknown_situation_raises(policy):
    with pytest.raises(UnknownCode):
        route_situation(policy, "earthquake", kst(12))


def test_a_day_window_past_midnight_wraps(policy):
    from dataclasses import replace
    from datetime import time

    from gwanje.policy import DayWindow

    night_shift = replace(policy, duty=replace(policy.duty, day=DayWindow(time(22, 0), time(6, 0))))
    assert period_at(night_shift, kst(23)) == "day"
    assert period_at(night_shift, kst(5, 59)) == "day"
    assert period_at(night_shift, kst(6)) == "night"
    assert period_at(night_shift, kst(22)) == "day"


# ---- Art. 11: emergency access and usage results ----------------------------------------------


def test_emergency_access_is_allowed_first_with_a_document_due_in_24_hours(policy):
    at = kst(14, 30)
    decision = emergency_access(policy, at)
    assert decision and decision.clause == "art-11-1"
    assert decision.document_due_at == at + timedelta(hours=24)


def test_emergency_access_for_the_police_is_allowed(policy):
    assert emergency_access(policy, kst(3), organisation="police")


def test_emergency_access_is_refused_to_an_organisation_not_named_in_article_11(policy):
    decision = emergency_access(policy, kst(3), organisation="district")
    assert not decision
    assert decision.document_due_at is None
    assert decision.clause == "art-11-1"


def test_emergency_access_follows_a_configured_document_deadline(policy):
    from dataclasses import replace

    strict = replace(policy, access=replace(policy.access, document_due_hours=2))
    assert emergency_access(strict, kst(10)).document_due_at == kst(12)


def test_emergency_access_refuses_naive_datetimes(policy):
    with pytest.raises(ValueError):
        emergency_access(policy, datetime(2024, 3, 15, 10, 0))


def test_document_is_on_time_at_the_deadline_and_overdue_just_after(policy):
    due = emergency_access(policy, kst(10)).document_due_at
    assert due is not None
    assert not is_overdue(due, due - timedelta(seconds=1))
    assert not is_overdue(due, due)
    assert is_overdue(due, due + timedelta(microseconds=1))


def test_is_overdue_compares_instants_across_zones(policy):
    due = kst(10)
    assert not is_overdue(due, datetime(2024, 3, 15, 1, 0, tzinfo=timezone.utc))
    assert is_overdue(due, datetime(2024, 3, 15, 1, 1, tzinfo=timezone.utc))


def test_is_overdue_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        is_overdue(kst(10), datetime(2024, 3, 15, 10, 0))


def test_usage_result_is_due_30_days_after_provision(policy):
    deadline = usage_result_due(policy, kst(10))
    assert deadline.due_at == kst(10) + timedelta(days=30)
    assert deadline.clause == "art-11-2"
    assert not deadline.is_overdue(deadline.due_at)
    assert deadline.is_overdue(deadline.due_at + timedelta(seconds=1))


def test_usage_result_deadline_refuses_naive_datetimes(policy):
    with pytest.raises(ValueError):
        usage_result_due(policy, datetime(2024, 3, 15, 10, 0))


# ---- Art. 9 ②: staffing -----------------------------------------------------------------------


@pytest.mark.parametrize(("count", "ok"), [(0, False), (1, True), (3, True)])
def test_at_least_one_police_officer_must_be_on_duty(policy, count, ok):
    decision = staffing_ok(policy, count)
    assert decision.allowed is ok
    assert decision.clause == "art-9-2"


def test_understaffing_reason_names_the_minimum(policy):
    decision = staffing_ok(policy, 0)
    assert "최소 1명" in decision.reason_ko and "minimum 1" in decision.reason_en


def test_staffing_refuses_a_negative_count(policy):
    with pytest.raises(ValueError):
        staffing_ok(policy, -1)


# ---- retention --------------------------------------------------------------------------------


def test_retention_defaults_to_30_days(policy):
    assert retention_days(policy, None) == 30


def test_retention_uses_the_cameras_own_period(policy):
    assert retention_days(policy, 7) == 7
    assert retention_days(policy, 90) == 90


@pytest.mark.parametrize("days", [0, -5])
def test_retention_refuses_non_positive_periods(policy, days):
    with pytest.raises(ValueError):
        retention_days(policy, days)


# ---- the live board ----------------------------------------------------------------------------

HANBIT = Path(__file__).resolve().parents[1] / "fixtures" / "policies" / "hanbit.yaml"


@pytest.fixture(scope="module")
def hanbit():
    return load_policy(HANBIT)


# (responsible, responding) of each Seongdong situation type.
ROUTED = {
    "emergency_bell": ("police", "police"),
    "u_seoul_safety": ("district", "district"),
    "intelligent_event": ("police", "police"),
    "wanted_vehicle": ("police", "police"),
    "camera_fault": ("district", "district"),
    "mixed": ("district", "police"),
    "mixed_back": ("police", "district"),
}
SEES_ALL = (
    "district_manager",
    "district_it_officer",
    "monitoring_agent",
    "maintenance_staff",
    "police_officer",
    "auditor",
)


@pytest.mark.parametrize(("role", "routed"), [(r, k) for r in SEES_ALL for k in ROUTED])
def test_operators_the_stationed_officer_and_auditors_see_every_incident(policy, role, routed):
    assert may_see_incident(policy, role, None, *ROUTED[routed], ())


@pytest.mark.parametrize(
    ("routed", "sees"),
    [
        ("emergency_bell", True),
        ("intelligent_event", True),
        ("wanted_vehicle", True),
        ("mixed", True),
        ("mixed_back", True),
        ("u_seoul_safety", False),
        ("camera_fault", False),
    ],
)
def test_the_112_room_sees_incidents_routed_to_the_police(policy, routed, sees):
    assert may_see_incident(policy, "police_112", None, *ROUTED[routed], ("crime_prevention",)) is sees


@pytest.mark.parametrize("role", ["police_investigator", "device", "janitor"])
def test_investigators_devices_and_unknown_roles_see_nothing(policy, role):
    assert not may_see_incident(policy, role, None, *ROUTED["emergency_bell"], ("crime_prevention",))


@pytest.mark.parametrize(
    ("department", "camera_purposes", "sees"),
    [
        ("sanitation", ("illegal_dumping",), True),
        ("sanitation", ("crime_prevention", "illegal_dumping"), True),
        ("sanitation", ("crime_prevention",), False),  # a secondary purpose of sanitation is not enough
        ("parks_green", ("illegal_dumping",), False),
        ("traffic_guidance", ("green_parking",), True),
        ("sanitation", (), False),
        ("it_info", ("crime_prevention",), False),  # a department without cameras
        (None, ("illegal_dumping",), False),
        ("", ("illegal_dumping",), False),
    ],
)
def test_department_officers_see_incidents_on_cameras_of_their_primary_purposes(
    policy, department, camera_purposes, sees
):
    assert may_see_incident(policy, "department_officer", department, "district", "district", camera_purposes) is sees


def test_board_of_an_unknown_department_raises(policy):
    with pytest.raises(UnknownCode):
        may_see_incident(policy, "department_officer", "space_agency", "district", "district", ("crime_prevention",))


def test_the_second_districts_board(hanbit):
    assert may_see_incident(hanbit, "station_dispatch", None, "hanbit_police", "hanbit_police")
    assert may_see_incident(hanbit, "station_dispatch", None, "gu_office", "hanbit_police")
    assert not may_see_incident(hanbit, "station_dispatch", None, "gu_office", "gu_office")
    assert not may_see_incident(hanbit, "station_detective", None, "hanbit_police", "hanbit_police")
    assert may_see_incident(hanbit, "dept_staff", "cleanup_div", "gu_office", "gu_office", ("illegal_dumping",))
    assert not may_see_incident(hanbit, "dept_staff", "parking_div", "gu_office", "gu_office", ("illegal_dumping",))
    assert may_see_incident(hanbit, "field_engineer", None, "hanbit_police", "hanbit_police")
    assert not may_see_incident(hanbit, "police_112", None, "police", "police")  # Seongdong's role means nothing here


# ---- Art. 9 ⑤: incident-only viewing, in one function ---------------------------------------


ME = 41  # the officer who has taken the incident in these examples


def facts(
    *,
    is_open=True,
    responsible="police",
    responding="police",
    camera_id=10,
    roles=("police_officer",),
    status="acknowledged",
    taken_by=ME,
    awaiting_review=False,
):
    return IncidentFacts(
        id=7,
        open=is_open,
        responsible_org=responsible,
        responding_org=responding,
        responding_roles=roles,
        camera_id=camera_id,
        status=status,
        type="emergency_bell",
        taken_by=taken_by,
        awaiting_review=awaiting_review,
        latitude=37.5636,
        longitude=127.0369,
    )


@pytest.mark.parametrize(("role", "only"), [(r, r in POLICE_ROLES) for r in ALL_ROLES] + [("device", False)])
def test_only_the_police_are_limited_to_incidents(policy, role, only):
    assert is_incident_only(policy, role) is only


def test_is_incident_only_of_an_unknown_role_raises(policy):
    with pytest.raises(UnknownCode):
        is_incident_only(policy, "janitor")


@pytest.mark.parametrize("role", POLICE_ROLES)
def test_police_must_name_an_incident(policy, role):
    d = incident_grants_view(policy, role, None, 10, (), user_id=ME)
    assert not d and d.clause == "art-9-5"
    assert d.reason_ko == "대응 중인 사건을 지정해야 경찰이 영상을 열람할 수 있습니다"
    assert d.reason_en == "the police must name an incident they are responding to"


def test_a_closed_incident_grants_nothing(policy):
    d = incident_grants_view(policy, "police_officer", facts(is_open=False), 10, (), user_id=ME)
    assert not d and d.clause == "art-9-5"
    assert d.reason_ko == "사건 7이 종결되어 열람 권한이 끝났습니다"
    assert d.reason_en == "incident 7 is no longer open; access ended with it"


def test_an_incident_not_routed_to_the_police_grants_nothing(policy):
    d = incident_grants_view(
        policy, "police_112", facts(responsible="district", responding="district"), 10, (), user_id=ME
    )
    assert not d and d.clause == "art-9-5"
    assert d.reason_ko == "사건 7은 경찰 대응 사건이 아닙니다"
    assert d.reason_en == "incident 7 is not routed to the police"


@pytest.mark.parametrize(("responsible", "responding"), [("police", "district"), ("district", "police")])
def test_an_incident_routed_to_the_police_either_way_grants(policy, responsible, responding):
    assert incident_grants_view(
        policy, "police_officer", facts(responsible=responsible, responding=responding), 10, (), user_id=ME
    )


def test_a_camera_not_attached_grants_nothing(policy):
    d = incident_grants_view(policy, "police_officer", facts(), 11, (12, 13), user_id=ME)
    assert not d and d.clause == "art-9-5"
    assert d.reason_ko == "이 CCTV는 사건 7에 연결되지 않았습니다"
    assert d.reason_en == "this camera is not attached to incident 7"


def test_the_incidents_own_camera_grants(policy):
    d = incident_grants_view(policy, "police_officer", facts(), 10, (), user_id=ME)
    assert d and d.clause == "art-9-5" and "7" in d.reason_en


def test_an_attached_camera_grants(policy):
    assert incident_grants_view(policy, "police_investigator", facts(), 12, (12, 13), user_id=ME)
    assert incident_grants_view(policy, "police_investigator", facts(camera_id=None), 13, [12, 13], user_id=ME)
    assert not incident_grants_view(policy, "police_investigator", facts(camera_id=None), 14, [12, 13], user_id=ME)


def test_without_a_camera_only_the_incident_is_tested(policy):
    assert incident_grants_view(policy, "police_112", facts(), None, (), user_id=ME)
    assert not incident_grants_view(policy, "police_112", facts(is_open=False), None, (), user_id=ME)
    not_police = facts(responsible="district", responding="district")
    assert not incident_grants_view(policy, "police_112", not_police, None, (), user_id=ME)


@pytest.mark.parametrize("role", [r for r in ALL_ROLES if r not in POLICE_ROLES])
def test_roles_not_limited_to_incidents_are_always_granted(policy, role):
    for incident in (None, facts(is_open=False), facts(responsible="district", responding="district")):
        d = incident_grants_view(policy, role, incident, 99, (), user_id=ME)
        assert d and d.clause == "art-9-5"
        assert d.reason_en == "Seongdong-gu district office is not limited to viewing video for incidents"


def test_the_check_order_is_incident_open_routed_camera(policy):
    # A closed incident of another organisation on another camera names the first failure: closed.
    d = incident_grants_view(
        policy,
        "police_officer",
        facts(is_open=False, responsible="district", responding="district"),
        99,
        (),
        user_id=ME,
    )
    assert "no longer open" in d.reason_en
    d = incident_grants_view(
        policy, "police_officer", facts(responsible="district", responding="district"), 99, (), user_id=ME
    )
    assert "not routed" in d.reason_en


def test_the_second_district_limits_its_own_police_to_their_own_incidents(hanbit):
    police = facts(responsible="hanbit_police", responding="hanbit_police", roles=("station_officer",))
    district = facts(responsible="gu_office", responding="gu_office", roles=("control_agent",))
    assert incident_grants_view(hanbit, "station_officer", police, 10, (), user_id=ME)
    d = incident_grants_view(hanbit, "station_officer", district, 10, (), user_id=ME)
    assert not d and d.clause == "art-7-3"
    assert d.reason_en == "incident 7 is not routed to the police"
    assert incident_grants_view(hanbit, "control_agent", district, 99, (), user_id=ME)
    assert incident_grants_view(hanbit, "control_agent", None, 99, (), user_id=ME)
    assert not incident_grants_view(hanbit, "station_detective", None, 10, (), user_id=ME)
    # An incident routed to Seongdong's "police" is not routed to Hanbit's police.
    assert not incident_grants_view(hanbit, "station_officer", facts(), 10, (), user_id=ME)


# ---- Art. 9 ⑤: attaching cameras --------------------------------------------------------------


def test_responding_police_may_attach_cameras(policy):
    d = may_attach_to_incident(
        policy, "police_officer", facts(roles=("police_officer", "police_112")), user_id=ME, distance_m=50.0
    )
    assert d and d.clause == "art-9-5"


@pytest.mark.parametrize(
    "incident",
    [facts(roles=("police_officer",)), facts(responsible="district", responding="district", roles=("police_112",))],
)
def test_police_not_responding_may_not_attach_cameras(policy, incident):
    d = may_attach_to_incident(policy, "police_112", incident, user_id=ME, distance_m=50.0)
    assert not d and d.clause == "art-9-5"
    assert d.reason_en == "only the police roles responding to this incident may attach cameras to it"
    assert d.reason_ko == "이 상황에 대응 중인 경찰 역할만 CCTV를 연결할 수 있습니다"


def test_district_roles_may_attach_cameras_to_any_incident(policy):
    assert may_attach_to_incident(
        policy, "monitoring_agent", facts(roles=("police_officer",)), user_id=ME, distance_m=50.0
    )


def test_the_second_districts_police_attach_only_while_responding(hanbit):
    police = facts(responsible="hanbit_police", responding="hanbit_police")
    assert may_attach_to_incident(hanbit, "control_agent", police, user_id=ME, distance_m=50.0)
    assert not may_attach_to_incident(
        hanbit,
        "station_dispatch",
        facts(responsible="hanbit_police", responding="hanbit_police", roles=("station_officer",)),
        user_id=ME,
        distance_m=50.0,
    )


# ---- routing of the second district -----------------------------------------------------------


@pytest.mark.parametrize("at", [kst(8), kst(12), kst(19, 59), kst(20), kst(2)])
def test_the_second_district_handles_its_bell_itself(hanbit, at):
    r = route_situation(hanbit, "emergency_bell", at)
    assert r.responsible_organisation == "gu_office"
    assert r.handler_role == "control_agent" and r.responding_roles == ("control_agent",)
    assert not r.two_stage


def test_the_second_districts_day_is_eight_to_eight(hanbit):
    assert route_situation(hanbit, "wanted_vehicle", kst(8)).handler_role == "station_officer"
    assert route_situation(hanbit, "wanted_vehicle", kst(20)).handler_role == "station_dispatch"
    assert period_at(hanbit, kst(19, 59)) == "day" and period_at(hanbit, kst(7, 59)) == "night"


def test_the_second_district_sends_faults_to_it_and_dumping_to_the_district(hanbit):
    fault = route_situation(hanbit, "camera_fault", kst(12))
    assert fault.handler_role == "field_engineer" and fault.responsible_organisation == "gu_office"
    dumping = route_situation(hanbit, "illegal_dumping", kst(12))
    assert dumping.responsible_organisation == "gu_office" and dumping.handler_role == "control_agent"


def test_the_second_districts_annex_1_and_police_cameras(hanbit):
    assert purposes_for(hanbit, "cleanup_div", "illegal_dumping") == (
        "illegal_dumping",
        "crime_prevention",
        "illegal_parking",
    )
    assert not secondary_purpose_allowed(hanbit, "parking_div", "illegal_parking", "illegal_dumping")
    assert owner_organisation(hanbit, "hanbit_police") == "hanbit_police"
    assert owner_organisation(hanbit, "gu_office") == "gu_office"
    d = may_view_video(
        hanbit,
        role="station_officer",
        user_department=None,
        purpose="crime_prevention",
        camera_purposes=("crime_prevention",),
        camera_department="safety_div",
        responding_incident_camera=False,
    )
    assert not d and d.clause == "art-7-3"


# ---- Art. 9 ⑤ cannot be cleared with a pretext (issue 8, finding 2) ---------------------------


@pytest.mark.parametrize("role", POLICE_ROLES)
def test_a_new_incident_grants_no_view_to_the_police(policy, role):
    d = incident_grants_view(policy, role, facts(status="new"), 10, (), user_id=ME)
    assert not d and d.clause == "art-9-5"
    assert d.reason_en == "incident 7 is not yet being judged or responded to by the police (new)"
    assert d.reason_ko == "사건 7은 아직 경찰이 판단·대응하는 상태가 아닙니다"


@pytest.mark.parametrize("status", ["acknowledged", "handed_over", "dispatched"])
def test_the_police_view_while_judging_or_responding(policy, status):
    assert incident_grants_view(policy, "police_officer", facts(status=status), 10, (), user_id=ME)


def test_an_incident_another_officer_took_grants_nothing(policy):
    d = incident_grants_view(policy, "police_officer", facts(taken_by=99), 10, (), user_id=ME)
    assert not d and d.reason_en == "only the officer who has taken incident 7 may use it"
    assert not incident_grants_view(policy, "police_officer", facts(taken_by=None), 10, (), user_id=ME)
    assert not incident_grants_view(policy, "police_officer", facts(), 10, ())  # no user named


def test_a_police_report_grants_no_view_until_the_district_reviews_it(policy):
    d = incident_grants_view(policy, "police_officer", facts(awaiting_review=True), 10, (), user_id=ME)
    assert not d and "reviews it" in d.reason_en and "the district" in d.reason_en
    assert incident_grants_view(policy, "police_officer", facts(awaiting_review=False), 10, (), user_id=ME)
    # The district's own staff are not held by it.
    assert incident_grants_view(policy, "monitoring_agent", facts(awaiting_review=True, status="new"), 10, ())


def test_only_police_reports_need_review_and_only_the_district_reviews(policy):
    assert decisions.report_needs_review(policy, "police_officer")
    assert decisions.report_needs_review(policy, "police_112")
    assert not decisions.report_needs_review(policy, "monitoring_agent")
    assert decisions.may_review_report(policy, "monitoring_agent")
    assert decisions.may_review_report(policy, "district_manager")
    assert not decisions.may_review_report(policy, "police_officer")


def test_police_attach_only_within_the_policys_radius(policy):
    near = may_attach_to_incident(policy, "police_officer", facts(), user_id=ME, distance_m=300.0)
    assert near and near.clause == "art-9-5"
    far = may_attach_to_incident(policy, "police_officer", facts(), user_id=ME, distance_m=1200.0)
    assert not far and far.clause == "art-9-5"
    assert (
        far.reason_en == "the police may attach only cameras within 300 m of the incident (this one is 1200 m from it)"
    )
    assert "반경 300m" in far.reason_ko
    nowhere = may_attach_to_incident(policy, "police_officer", facts(), user_id=ME, distance_m=None)
    assert not nowhere and "unknown distance" in nowhere.reason_en


def test_the_district_attaches_any_camera_at_any_distance(policy):
    for role in ("monitoring_agent", "district_manager", "maintenance_staff"):
        assert may_attach_to_incident(policy, role, facts(status="new", taken_by=None), distance_m=50_000.0)
        assert may_attach_to_incident(policy, role, facts(), distance_m=None)


def test_police_attach_only_to_an_incident_they_have_taken_and_may_view(policy):
    assert not may_attach_to_incident(policy, "police_officer", facts(taken_by=99), user_id=ME, distance_m=10.0)
    assert not may_attach_to_incident(policy, "police_officer", facts(status="new"), user_id=ME, distance_m=10.0)
    assert not may_attach_to_incident(
        policy, "police_officer", facts(awaiting_review=True), user_id=ME, distance_m=10.0
    )


def test_the_second_district_sets_its_own_radius(hanbit):
    police = facts(responsible="hanbit_police", responding="hanbit_police", roles=("station_officer",))
    assert may_attach_to_incident(hanbit, "station_officer", police, user_id=ME, distance_m=450.0)
    assert not may_attach_to_incident(hanbit, "station_officer", police, user_id=ME, distance_m=550.0)


def test_emergency_video_follows_the_listed_situation_types(policy):
    at = kst(3)
    for listed in ("emergency_bell", "u_seoul_safety", "wanted_vehicle"):
        assert decisions.emergency_video(policy, listed, at, at)
    d = decisions.emergency_video(policy, "camera_fault", at, at)
    assert not d and d.clause == "art-11-1"
    assert d.reason_en == "a 'Camera fault or outage' situation does not allow emergency video"
    assert not decisions.emergency_video(policy, "intelligent_event", at, at)
    assert not decisions.emergency_video(policy, None, at, at)  # no incident named


def test_emergency_video_ends_after_the_policys_time_limit(policy):
    opened = kst(3)
    assert decisions.emergency_video(policy, "emergency_bell", opened, opened + timedelta(minutes=60))
    d = decisions.emergency_video(policy, "emergency_bell", opened, opened + timedelta(minutes=61))
    assert not d and d.reason_en == "emergency video ended 60 minutes after it opened"


def test_the_second_districts_emergency_video_has_its_own_list_and_limit(hanbit):
    opened = kst(3)
    assert not decisions.emergency_video(hanbit, "u_seoul_safety", opened, opened)
    assert not decisions.emergency_video(hanbit, "emergency_bell", opened, opened + timedelta(minutes=31))
