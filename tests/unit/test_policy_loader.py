"""The packaged u-Seongdong policy encodes the agreement, and malformed policy files are refused
with file, line and column."""

from __future__ import annotations

from datetime import date, time
from importlib import resources
from pathlib import Path

import pytest

from gwanje.policy import (
    Annex1Row,
    PolicyError,
    UnknownCode,
    load_default,
    load_policy,
    parse_policy,
)

DEFAULT_TEXT = resources.files("gwanje").joinpath("policies", "seongdong.yaml").read_text(encoding="utf-8")

ALL_ROLES = {
    "district_manager", "district_it_officer", "monitoring_agent", "maintenance_staff",
    "department_officer", "police_officer", "police_112", "police_investigator", "auditor",
}


@pytest.fixture(scope="module")
def policy():
    return load_default()


def mutate(old: str, new: str) -> str:
    assert DEFAULT_TEXT.count(old) >= 1, f"fixture text not found: {old!r}"
    return DEFAULT_TEXT.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> PolicyError:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert str(path) in str(info.value)
    assert info.value.path == str(path)
    return info.value


# ---- the packaged policy ---------------------------------------------------------------------


def test_default_policy_loads_from_the_package(policy):
    assert policy.source.endswith("seongdong.yaml")
    assert policy.schema_version == 1


def test_load_policy_and_load_default_agree(policy):
    assert load_policy(policy.source) == policy


def test_agreement_meta_names_title_and_signing_date(policy):
    assert policy.agreement.signed == date(2014, 10, 30)
    assert policy.agreement.title_ko == "u-성동 통합관제센터 관리 및 운영에 관한 협약서"
    assert policy.agreement.title_en


def test_parties_are_district_as_gap_and_police_as_eul(policy):
    district = policy.organisation("district")
    police = policy.organisation("police")
    assert (district.party_ko, district.name_ko, district.head_ko) == ("갑", "성동구", "성동구청장")
    assert (police.party_ko, police.name_ko, police.head_ko) == ("을", "성동경찰서", "성동경찰서장")
    assert [o.code for o in policy.organisations] == ["district", "police"]


@pytest.mark.parametrize(
    ("code", "ko"),
    [
        ("crime_prevention", "방범(차량번호수집 포함)"),
        ("illegal_parking", "불법주정차 단속"),
        ("illegal_dumping", "쓰레기 무단투기 단속"),
        ("facility_management", "시설물 관리"),
        ("disaster", "재난"),
        ("green_parking", "그린파킹"),
        ("bicycle_storage", "자전거보관"),
        ("child_protection", "어린이보호"),
        ("traffic_enforcement", "교통단속"),
        ("traffic_info", "교통정보수집"),
        ("other", "기타"),
    ],
)
def test_purpose_catalogue_has_korean_and_english_labels(policy, code, ko):
    purpose = policy.purpose(code)
    assert purpose.ko == ko
    assert purpose.en


def test_purpose_catalogue_has_exactly_the_agreed_codes(policy):
    assert len(policy.purposes) == 11


@pytest.mark.parametrize(
    ("code", "ko", "organisation", "primary"),
    [
        ("autonomous_admin", "자치행정과", "district", ("crime_prevention",)),
        ("traffic_guidance", "교통지도과", "district", ("illegal_parking", "green_parking")),
        ("traffic_admin", "교통행정과", "district", ("bicycle_storage",)),
        ("parks_green", "공원녹지과", "district", ("facility_management",)),
        ("sanitation", "청소행정과", "district", ("illegal_dumping",)),
        ("police_station", "성동경찰서", "police", ("crime_prevention",)),
        ("it_info", "전산정보과", "district", ()),
    ],
)
def test_departments_carry_organisation_and_primary_purposes_from_annex_1(policy, code, ko, organisation, primary):
    department = policy.department(code)
    assert (department.ko, department.organisation, department.primary_purposes) == (ko, organisation, primary)
    assert department.en


def test_department_without_cameras_has_no_purposes(policy):
    assert policy.department("it_info").purposes == ()


def test_department_secondary_purposes_exclude_its_primary_purposes(policy):
    traffic = policy.department("traffic_guidance")
    assert "illegal_parking" not in traffic.secondary_purposes
    assert set(traffic.secondary_purposes) == {"crime_prevention", "illegal_dumping", "facility_management", "disaster"}


ANNEX_1 = [
    # department, primary, group, label, secondary (annex order), storage, owner, remarks
    ("autonomous_admin", "crime_prevention", None, "방법",
     ("illegal_parking", "illegal_dumping", "facility_management", "disaster"), "central", "district", None),
    ("traffic_guidance", "illegal_parking", None, "불법주정차 단속",
     ("crime_prevention", "illegal_parking", "facility_management", "disaster"), "central", "district", None),
    ("traffic_guidance", "green_parking", "green_parking", "그린파킹",
     ("crime_prevention", "illegal_parking", "illegal_dumping", "facility_management", "disaster"),
     "central", "district", None),
    ("traffic_admin", "bicycle_storage", "bicycle_storage", "자전거보관",
     ("crime_prevention", "illegal_parking", "illegal_dumping", "facility_management"), "on_site", "district", "현장저장"),
    ("parks_green", "facility_management", None, "시설물관리",
     ("crime_prevention", "illegal_parking", "illegal_dumping", "disaster"), "central", "district", None),
    ("sanitation", "illegal_dumping", None, "쓰레기무단 투기 단속",
     ("crime_prevention", "illegal_parking", "facility_management", "disaster"), "mobile", "district", "이동형"),
    ("police_station", "crime_prevention", None, "방법", ("crime_prevention",), "central", "police", None),
]


def test_annex_1_rows_match_the_printed_annex_in_order(policy):
    rows = [
        (r.department, r.primary_purpose, r.camera_group, r.label_ko, r.secondary_purposes, r.storage_mode, r.owner, r.remarks_ko)
        for r in policy.annex1
    ]
    assert rows == ANNEX_1
    assert {r.clause for r in policy.annex1} == {"annex-1"}


def test_annex_row_purposes_put_primary_first_without_repeats(policy):
    parking = policy.annex1[1]
    assert parking.purposes == ("illegal_parking", "crime_prevention", "facility_management", "disaster")
    assert policy.annex1[-1].purposes == ("crime_prevention",)


def test_annex1_rows_of_one_department(policy):
    assert [r.camera_group for r in policy.annex1_rows("traffic_guidance")] == [None, "green_parking"]
    assert policy.annex1_rows("it_info") == ()


def test_policy_holds_no_site_or_camera_counts():
    assert not any("count" in name or "site" in name for name in Annex1Row.__dataclass_fields__)
    for key in ("sites:", "cameras:", "count:"):
        assert key not in DEFAULT_TEXT


@pytest.mark.parametrize(
    ("code", "organisation", "totp"),
    [
        ("district_manager", "district", True),
        ("district_it_officer", "district", True),
        ("monitoring_agent", "district", False),
        ("maintenance_staff", "district", False),
        ("department_officer", "district", False),
        ("police_officer", "police", True),
        ("police_112", "police", True),
        ("police_investigator", "police", True),
        ("auditor", "district", False),
    ],
)
def test_roles_carry_organisation_and_totp_requirement(policy, code, organisation, totp):
    role = policy.role(code)
    assert (role.organisation, role.totp_required) == (organisation, totp)
    assert role.ko and role.en


def test_every_police_role_requires_totp(policy):
    assert all(r.totp_required for r in policy.roles if r.organisation == "police")


def test_department_officer_purposes_are_own_department(policy):
    role = policy.role("department_officer")
    assert role.own_department and role.purposes == ()


def test_purposes_all_expands_to_the_whole_catalogue(policy):
    assert set(policy.role("district_manager").purposes) == {p.code for p in policy.purposes}


def test_auditor_has_no_video_purposes(policy):
    assert policy.role("auditor").purposes == ()


@pytest.mark.parametrize(
    ("permission", "roles"),
    [
        ("registry.read", ALL_ROLES),
        ("registry.write", {"district_manager", "district_it_officer"}),
        ("registry.write_own_department", {"department_officer"}),
        ("users.manage", {"district_manager", "district_it_officer"}),
        ("audit.read", {"auditor", "district_manager"}),
        ("audit.verify", {"auditor", "district_manager", "district_it_officer"}),
        ("reports.read", ALL_ROLES - {"maintenance_staff"}),
        ("policy.read", ALL_ROLES),
    ],
)
def test_permissions_name_the_roles_allowed(policy, permission, roles):
    assert policy.permission(permission).roles == roles


def test_every_permission_cites_a_known_clause(policy):
    for permission in policy.permissions:
        assert policy.clause(permission.clause)


def test_day_window_is_nine_to_six_in_seoul(policy):
    assert policy.duty.timezone == "Asia/Seoul"
    assert (policy.duty.day.start, policy.duty.day.end) == (time(9, 0), time(18, 0))


def test_duty_table_has_every_situation_type(policy):
    assert [s.type for s in policy.duty.situations] == [
        "emergency_bell", "u_seoul_safety", "intelligent_event", "wanted_vehicle", "camera_fault", "manual_report",
    ]


def test_emergency_bell_handler_varies_by_day_and_night(policy):
    bell = policy.situation("emergency_bell")
    assert (bell.recognise_role.day, bell.recognise_role.night) == ("maintenance_staff", "monitoring_agent")
    assert bell.recognise_role.varies
    assert bell.responsible == "police"


def test_room_access_rows_go_to_the_it_division(policy):
    rooms = {(r.code, r.ko, r.organisation, r.department) for r in policy.duty.rooms}
    assert rooms == {("system_room", "시스템실", "district", "it_info"), ("situation_room", "상황실", "district", "it_info")}


def test_video_management_rows_follow_annex_2(policy):
    rows = {r.code: r for r in policy.duty.video_management}
    assert rows["personal_video_viewing"].ko == "개인영상정보열람"
    assert rows["personal_video_viewing"].department == "it_info"
    assert rows["crime_prevention_cctv"].ko == "방범용CCTV(공원포함)"
    assert all(r.organisation == "district" and r.clause == "annex-2" for r in rows.values())


def test_access_rules_default_deadlines(policy):
    assert policy.access.document_due_hours == 24
    assert policy.access.usage_result_due_days == 30
    assert policy.access.incident_only_organisations == {"police"}


def test_staffing_retention_and_security_defaults(policy):
    assert (policy.staffing.role, policy.staffing.min_on_duty, policy.staffing.clause) == ("police_officer", 1, "art-9-2")
    assert policy.retention.default_days == 30
    assert policy.security.session_idle_timeout_minutes == 30
    assert policy.security.lockout_after_failed_logins == 5


def test_ownership_rule_rests_on_article_5(policy):
    assert policy.ownership.default_owner == "district"
    assert policy.ownership.installer_keeps == {"police"}
    assert policy.ownership.clause == "art-5"


@pytest.mark.parametrize(
    "clause_id",
    ["art-5", "art-9-2", "art-9-5", "art-10", "art-11-1", "art-11-2", "annex-1", "annex-2", "policy-rbac", "policy-security"],
)
def test_clause_catalogue_has_korean_excerpt_and_english_summary(policy, clause_id):
    clause = policy.clause(clause_id)
    assert clause.ko and clause.en


@pytest.mark.parametrize(
    ("lookup", "code"),
    [
        ("purpose", "jaywalking"),
        ("department", "finance"),
        ("role", "janitor"),
        ("clause", "art-99"),
        ("organisation", "fire"),
        ("permission", "video.delete"),
        ("situation", "earthquake"),
    ],
)
def test_lookups_of_unknown_codes_raise_unknown_code(policy, lookup, code):
    with pytest.raises(UnknownCode, match=code):
        getattr(policy, lookup)(code)


def test_policy_is_immutable(policy):
    with pytest.raises(AttributeError):
        policy.retention = None  # type: ignore[misc]


# ---- malformed files -------------------------------------------------------------------------


def test_unknown_key_is_refused_with_its_line_and_name(tmp_path):
    text = mutate("  default_days: 30\n", "  default_days: 30\n  keep_forever: true\n")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "keep_forever")
    assert f":{error.line}:" in str(error)
    assert "keep_forever" in str(error)
    assert "알 수 없는 키" in str(error) and "unknown key" in str(error)


def test_unknown_top_level_key_is_refused(tmp_path):
    text = DEFAULT_TEXT + "\nextras: 1\n"
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "extras:")
    assert "extras" in str(error)


def test_unknown_role_in_a_permission_is_refused(tmp_path):
    text = mutate("roles: [district_manager]\n", "roles: [district_mangler]\n")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "district_mangler")
    assert "district_mangler" in str(error)
    assert "알 수 없는 역할" in str(error) and "unknown role" in str(error)


def test_unknown_role_in_the_duty_table_is_refused(tmp_path):
    text = mutate("night: monitoring_agent}", "night: night_watchman}")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "night_watchman")
    assert error.column == text.splitlines()[error.line - 1].index("night_watchman") + 1


def test_unknown_purpose_in_annex_1_is_refused(tmp_path):
    text = mutate("secondary_purposes: [crime_prevention]\n", "secondary_purposes: [crime_prevension]\n")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "crime_prevension")
    assert "crime_prevension" in str(error)
    assert "알 수 없는 목적" in str(error) and "unknown purpose" in str(error)


def test_unknown_purpose_of_a_role_is_refused(tmp_path):
    text = mutate("purposes: [crime_prevention]\n    board: none\n  - code: auditor",
                  "purposes: [surveillance]\n    board: none\n  - code: auditor")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "surveillance")


def test_unknown_department_is_refused(tmp_path):
    text = mutate("  - department: parks_green\n", "  - department: parks\n")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "department: parks\n")
    assert "'parks'" in str(error) and "unknown department" in str(error)


def test_unknown_organisation_is_refused(tmp_path):
    text = mutate("    owner: police ", "    owner: fire_station ")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "fire_station")
    assert "unknown organisation" in str(error) and "알 수 없는 기관" in str(error)


def test_unknown_clause_is_refused(tmp_path):
    text = mutate("  clause: art-5\n", "  clause: art-55\n")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "art-55")
    assert "unknown clause" in str(error)


def test_unknown_storage_mode_is_refused(tmp_path):
    text = mutate("storage_mode: on_site", "storage_mode: cloud")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "cloud")


@pytest.mark.parametrize(
    ("bad", "shown"),
    [('end: "24:00"', "24:00"), ('end: "6pm"', "6pm"), ("end: 18:00", "18:00"), ('end: "9:00"', "9:00")],
)
def test_bad_day_window_time_is_refused(tmp_path, bad, shown):
    text = mutate('end: "18:00"', bad)
    error = refused(tmp_path, text)
    assert error.line == line_of(text, bad)
    assert shown in str(error)
    assert "잘못된 시각" in str(error) and "bad time" in str(error)


def test_day_window_with_equal_start_and_end_is_refused(tmp_path):
    text = mutate('end: "18:00"', 'end: "09:00"')
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "day: {")


def test_unknown_time_zone_is_refused(tmp_path):
    text = mutate("timezone: Asia/Seoul", "timezone: Asia/Gotham")
    error = refused(tmp_path, text)
    assert "Asia/Gotham" in str(error)


def test_role_of_the_wrong_organisation_in_the_duty_table_is_refused(tmp_path):
    text = mutate("respond: {organisation: police, roles: [police_officer]}", "respond: {organisation: police, roles: [monitoring_agent]}")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "police, roles: [monitoring_agent]")
    assert "does not belong" in str(error)


def test_staffing_role_of_the_wrong_organisation_is_refused(tmp_path):
    text = mutate("  role: police_officer\n  min_on_duty", "  role: monitoring_agent\n  min_on_duty")
    error = refused(tmp_path, text)
    assert "monitoring_agent" in str(error)


def test_duplicate_key_is_refused(tmp_path):
    text = mutate("  default_days: 30\n", "  default_days: 30\n  default_days: 60\n")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "default_days: 60")
    assert "duplicate key" in str(error)


def test_duplicate_role_code_is_refused(tmp_path):
    text = mutate("  - code: auditor\n", "  - code: police_112\n")
    error = refused(tmp_path, text)
    assert "duplicate role" in str(error)


def test_duplicate_annex_1_row_is_refused(tmp_path):
    text = mutate("primary_purpose: green_parking\n    camera_group: green_parking", "primary_purpose: illegal_parking\n    camera_group: null")
    error = refused(tmp_path, text)
    assert "duplicate row" in str(error)


def test_missing_required_key_is_refused(tmp_path):
    text = mutate("  document_due_hours: 24\n", "")
    error = refused(tmp_path, text)
    assert "document_due_hours" in str(error) and "missing required key" in str(error)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("document_due_hours: 24", "document_due_hours: 0", "must be >= 1"),
        ("document_due_hours: 24", 'document_due_hours: "24"', "expected an integer"),
        ("totp_required: true", "totp_required: yes please", "expected true or false"),
        ("signed: 2014-10-30", "signed: 30.10.2014", "expected a date"),
        ("schema_version: 1", "schema_version: 2", "unsupported version"),
        ("  - {code: other, ko: 기타, en: Other}", "  - {code: Other-Code, ko: 기타, en: Other}", "malformed code"),
        ("purposes: own_department", "purposes: everything", "'own_department'"),
    ],
)
def test_wrong_value_types_are_refused(tmp_path, old, new, expected):
    text = mutate(old, new)
    error = refused(tmp_path, text)
    assert error.line == line_of(text, new)
    assert expected in str(error)


def test_yaml_syntax_error_is_refused_with_its_line(tmp_path):
    text = mutate("  default_days: 30\n", "  default_days: [30\n")
    error = refused(tmp_path, text)
    assert error.line is not None and error.line >= line_of(text, "default_days: [30")
    assert "YAML" in str(error)


def test_empty_file_is_refused(tmp_path):
    error = refused(tmp_path, "")
    assert "empty" in str(error)


def test_missing_file_is_refused_with_its_name(tmp_path):
    with pytest.raises(PolicyError, match="nowhere.yaml"):
        load_policy(tmp_path / "nowhere.yaml")


def test_parse_policy_names_the_given_source():
    with pytest.raises(PolicyError, match=r"^inline:1:1: "):
        parse_policy("[]", source="inline")


def test_error_message_carries_korean_and_english_parts(tmp_path):
    text = mutate("  default_days: 30\n", "  default_days: 30\n  keep_forever: true\n")
    error = refused(tmp_path, text)
    assert error.message_ko in str(error) and error.message_en in str(error)
    assert error.column == 3


def test_every_clause_a_rule_rests_on_is_in_the_catalogue(policy):
    referenced = {
        *(row.clause for row in policy.annex1),
        *(p.clause for p in policy.permissions),
        *(s.clause for s in policy.duty.situations),
        *(r.clause for r in policy.duty.rooms),
        *(v.clause for v in policy.duty.video_management),
        policy.ownership.clause,
        policy.access.rbac_clause,
        policy.access.incident_only_clause,
        policy.access.emergency_clause,
        policy.access.usage_result_clause,
        policy.staffing.clause,
        policy.retention.clause,
        policy.security.clause,
    }
    assert referenced <= {c.id for c in policy.clauses}
    assert {"art-5", "art-9-2", "art-9-5", "art-10", "art-11-1", "art-11-2", "annex-1", "annex-2", "policy-rbac"} <= referenced


# ---- SOP checklists and escalation -----------------------------------------------------------


def test_every_situation_has_an_sop_and_an_escalation_chain(policy):
    for situation in policy.duty.situations:
        assert situation.sop, situation.type
        assert any(step.required for step in situation.sop), situation.type
        assert situation.escalation and situation.escalation.ack_minutes >= 1
    bell = policy.situation("emergency_bell")
    assert [s.code for s in bell.sop][0] == "view_cameras"
    assert bell.escalation.to == ("police_officer", "police_112")
    optional = [s.code for s in policy.situation("u_seoul_safety").sop if not s.required]
    assert optional == ["notify_police"]


def test_an_escalation_to_an_unknown_role_is_refused_with_its_line(tmp_path):
    old = "escalation: {ack_minutes: 2, to: [police_112]}"
    text = mutate(old, "escalation: {ack_minutes: 2, to: [sheriff]}")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "to: [sheriff]")
    assert "sheriff" in str(error)


def test_a_repeated_sop_step_is_refused(tmp_path):
    old = "        - {code: open_ticket, ko: 유지보수 업체 접수, en: Open a ticket with the maintenance contractor}\n"
    text = mutate(old, old + old)
    error = refused(tmp_path, text)
    assert "duplicate step 'open_ticket'" in str(error)


def test_zero_minute_escalation_is_refused(tmp_path):
    text = mutate("escalation: {ack_minutes: 30,", "escalation: {ack_minutes: 0,")
    assert "ack_minutes" in str(refused(tmp_path, text))
