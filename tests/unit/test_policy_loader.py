"""The packaged u-Seongdong policy encodes the agreement, and malformed policy files are refused
with file, line and column."""

from __future__ import annotations

from datetime import date, time
from importlib import resources
from pathlib import Path

import pytest

from gwanje.policy.model import DEVICE_MESSAGE_TYPES
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
    "district_manager",
    "district_it_officer",
    "monitoring_agent",
    "maintenance_staff",
    "department_officer",
    "police_officer",
    "police_112",
    "police_investigator",
    "auditor",
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
    (
        "autonomous_admin",
        "crime_prevention",
        None,
        "방법",
        ("illegal_parking", "illegal_dumping", "facility_management", "disaster"),
        "central",
        "district",
        None,
    ),
    (
        "traffic_guidance",
        "illegal_parking",
        None,
        "불법주정차 단속",
        ("crime_prevention", "illegal_parking", "facility_management", "disaster"),
        "central",
        "district",
        None,
    ),
    (
        "traffic_guidance",
        "green_parking",
        "green_parking",
        "그린파킹",
        ("crime_prevention", "illegal_parking", "illegal_dumping", "facility_management", "disaster"),
        "central",
        "district",
        None,
    ),
    (
        "traffic_admin",
        "bicycle_storage",
        "bicycle_storage",
        "자전거보관",
        ("crime_prevention", "illegal_parking", "illegal_dumping", "facility_management"),
        "on_site",
        "district",
        "현장저장",
    ),
    (
        "parks_green",
        "facility_management",
        None,
        "시설물관리",
        ("crime_prevention", "illegal_parking", "illegal_dumping", "disaster"),
        "central",
        "district",
        None,
    ),
    (
        "sanitation",
        "illegal_dumping",
        None,
        "쓰레기무단 투기 단속",
        ("crime_prevention", "illegal_parking", "facility_management", "disaster"),
        "mobile",
        "district",
        "이동형",
    ),
    ("police_station", "crime_prevention", None, "방법", ("crime_prevention",), "central", "police", None),
]


def test_annex_1_rows_match_the_printed_annex_in_order(policy):
    rows = [
        (
            r.department,
            r.primary_purpose,
            r.camera_group,
            r.label_ko,
            r.secondary_purposes,
            r.storage_mode,
            r.owner,
            r.remarks_ko,
        )
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
        "emergency_bell",
        "u_seoul_safety",
        "intelligent_event",
        "wanted_vehicle",
        "camera_fault",
        "manual_report",
        "message_loss",
        "staffing_gap",
        "room_access",
    ]


def test_emergency_bell_handler_varies_by_day_and_night(policy):
    bell = policy.situation("emergency_bell")
    assert (bell.recognise_role.day, bell.recognise_role.night) == ("maintenance_staff", "monitoring_agent")
    assert bell.recognise_role.varies
    assert bell.responsible == "police"


def test_room_access_rows_go_to_the_it_division(policy):
    rooms = {(r.code, r.ko, r.organisation, r.department) for r in policy.duty.rooms}
    assert rooms == {
        ("system_room", "시스템실", "district", "it_info"),
        ("situation_room", "상황실", "district", "it_info"),
    }


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
    staffing = policy.staffing
    assert (staffing.role, staffing.min_on_duty, staffing.clause) == ("police_officer", 1, "art-9-2")
    assert policy.retention.default_days == 30
    assert policy.security.session_idle_timeout_minutes == 30
    assert policy.security.throttle_after_failed_logins == 5 and policy.security.session_absolute_hours == 12


def test_ownership_rule_rests_on_article_5(policy):
    assert policy.ownership.default_owner == "district"
    assert policy.ownership.installer_keeps == {"police"}
    assert policy.ownership.clause == "art-5"


@pytest.mark.parametrize(
    "clause_id",
    [
        "art-5",
        "art-9-2",
        "art-9-5",
        "art-10",
        "art-11-1",
        "art-11-2",
        "annex-1",
        "annex-2",
        "policy-rbac",
        "policy-security",
    ],
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
    text = mutate("roles: [district_manager, police_officer]\n", "roles: [district_mangler, police_officer]\n")
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
    text = mutate(
        "purposes: [crime_prevention]\n    board: none\n    home: access\n  - code: auditor",
        "purposes: [surveillance]\n    board: none\n    home: access\n  - code: auditor",
    )
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
    text = mutate(
        "respond: {organisation: police, roles: [police_officer]}",
        "respond: {organisation: police, roles: [monitoring_agent]}",
    )
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
    text = mutate(
        "primary_purpose: green_parking\n    camera_group: green_parking",
        "primary_purpose: illegal_parking\n    camera_group: null",
    )
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
    expected = {"art-5", "art-9-2", "art-9-5", "art-10", "art-11-1", "art-11-2", "annex-1", "annex-2", "policy-rbac"}
    assert expected <= referenced


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


# ---- who does what: operator, supervisors, dispatch, board ----------------------------------

HANBIT = Path(__file__).resolve().parents[1] / "fixtures" / "policies" / "hanbit.yaml"


def test_the_district_runs_the_center(policy):
    assert policy.operator == "district"
    assert policy.operator_organisation == policy.organisation("district")
    assert policy.operator_organisation.name_ko == "성동구"


@pytest.mark.parametrize(
    ("role", "operator"),
    [
        ("district_manager", True),
        ("district_it_officer", True),
        ("monitoring_agent", True),
        ("maintenance_staff", True),
        ("auditor", True),
        ("device", True),
        ("department_officer", False),  # of the district, but only its own department
        ("police_officer", False),
        ("police_112", False),
        ("police_investigator", False),
        ("janitor", False),  # unknown
    ],
)
def test_is_operator_role(policy, role, operator):
    assert policy.is_operator_role(role) is operator


def test_supervisors_and_dispatch_come_from_the_duty_section(policy):
    assert policy.supervisors == frozenset({"district_manager"})
    assert policy.dispatch.organisations == frozenset({"police"})
    assert policy.dispatch.roles == frozenset({"police_112"})
    assert policy.dispatch.clause == "art-10"


@pytest.mark.parametrize(
    ("role", "board"),
    [
        ("district_manager", "all"),
        ("district_it_officer", "all"),
        ("monitoring_agent", "all"),
        ("maintenance_staff", "all"),
        ("police_officer", "all"),
        ("auditor", "all"),
        ("police_112", frozenset({"police"})),
        ("department_officer", "own_department"),
        ("police_investigator", "none"),
        ("device", "none"),
    ],
)
def test_each_role_sees_the_board_as_today(policy, role, board):
    assert policy.role(role).board == board


def test_organisations_have_short_names_for_sentences(policy):
    assert (policy.organisation("police").short_ko, policy.organisation("police").short_en) == ("경찰", "the police")
    assert policy.organisation("district").short_en == "the district"


def test_short_names_default_to_the_full_name(tmp_path):
    text = mutate("    short_ko: 경찰\n    short_en: the police\n", "")
    police = load_policy(write(tmp_path, text)).organisation("police")
    assert (police.short_ko, police.short_en) == ("성동경찰서", "Seongdong police station")


def test_a_role_without_board_sees_none(tmp_path):
    text = mutate("    purposes: [crime_prevention]\n    board: none\n", "    purposes: [crime_prevention]\n")
    assert load_policy(write(tmp_path, text)).role("police_investigator").board == "none"


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ("board: everything", "expected 'all', 'own_department', 'none'"),
        ("board: [police]", "expected 'all', 'own_department', 'none'"),
        ("board: true", "expected 'all', 'own_department', 'none'"),
        ("board: {routed_to: [sheriffs]}", "unknown organisation 'sheriffs'"),
        ("board: {routed_to: []}", "must not be empty"),
        ("board: {routed: [police]}", "unknown key 'routed'"),
    ],
)
def test_a_bad_board_value_is_refused_with_its_line(tmp_path, new, expected):
    text = mutate("board: {routed_to: [police]}", new)
    error = refused(tmp_path, text)
    assert error.line == line_of(text, new)
    assert expected in str(error)
    assert "roles[6].board" in str(error)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  operator: district\n", "  operator: mayor\n", "duty.operator: unknown organisation 'mayor'"),
        ("  supervisors: [district_manager]\n", "  supervisors: [boss]\n", "duty.supervisors: unknown role 'boss'"),
        ("dispatch: {organisations: [police],", "dispatch: {organisations: [army],", "unknown organisation 'army'"),
        ("dispatch: {organisations: [police],", "dispatch: {organisations: [],", "must not be empty"),
        (
            "roles: [police_112], clause: art-10}",
            "roles: [monitoring_agent], clause: art-10}",
            "role 'monitoring_agent' does not belong to a dispatching organisation",
        ),
        ("roles: [police_112], clause: art-10}", "roles: [police_112], clause: art-99}", "unknown clause 'art-99'"),
        ("roles: [police_112], clause: art-10}", "roles: [police_112], clause: art-10, by: radio}", "unknown key 'by'"),
    ],
)
def test_bad_operator_supervisors_or_dispatch_are_refused(tmp_path, old, new, expected):
    text = mutate(old, new)
    error = refused(tmp_path, text)
    assert error.line == line_of(text, new)
    assert expected in str(error)


def test_the_duty_section_must_name_its_operator(tmp_path):
    error = refused(tmp_path, mutate("  operator: district\n", ""))
    assert "missing required key 'operator'" in str(error)


# ---- device messages → situations → purposes --------------------------------------------------


def test_device_message_types_are_the_parsed_ones():
    from gwanje.policy import DEVICE_MESSAGE_TYPES

    assert DEVICE_MESSAGE_TYPES == (
        "emergency_bell",
        "u_seoul_safety",
        "video_analytics",
        "plate_read",
        "camera_fault",
        "camera_recovery",
        "manual_report",
        "room_access",
    )


@pytest.mark.parametrize(
    ("message", "situation", "purpose"),
    [
        ("emergency_bell", "emergency_bell", "crime_prevention"),
        ("u_seoul_safety", "u_seoul_safety", "crime_prevention"),
        ("video_analytics", "intelligent_event", "crime_prevention"),
        ("plate_read", "wanted_vehicle", "crime_prevention"),
        ("camera_fault", "camera_fault", "facility_management"),
        ("manual_report", "manual_report", "crime_prevention"),
    ],
)
def test_each_message_raises_todays_situation_and_purpose(policy, message, situation, purpose):
    found = policy.situation_for_message(message)
    assert found is not None and found.type == situation
    assert policy.situation(situation).raised_by == (message,)
    assert policy.situation(situation).purpose == purpose
    assert policy.purpose_of_situation(situation) == purpose
    assert policy.situation_for_message(message, "any_rule") == found  # no rule named: every rule


@pytest.mark.parametrize("message", ["camera_recovery", "telegram", ""])
def test_a_message_that_raises_nothing_gives_none(policy, message):
    assert policy.situation_for_message(message) is None


def test_purpose_of_an_unknown_situation_raises(policy):
    with pytest.raises(UnknownCode):
        policy.purpose_of_situation("alien_landing")


def test_an_entry_naming_the_rule_wins_over_one_without(tmp_path):
    text = mutate(
        "      raised_by: [{message: camera_fault}]\n",
        "      raised_by: [{message: camera_fault}, {message: video_analytics, rule: [camera_tamper, lens_cover]}]\n",
    )
    p = load_policy(write(tmp_path, text))
    assert p.situation_for_message("video_analytics", "camera_tamper").type == "camera_fault"
    assert p.situation_for_message("video_analytics", "lens_cover").type == "camera_fault"
    assert p.situation_for_message("video_analytics", "loitering").type == "intelligent_event"
    assert p.situation_for_message("video_analytics").type == "intelligent_event"
    assert p.situation("camera_fault").raised_by == ("camera_fault", "video_analytics")
    assert p.situation("camera_fault").triggers[1].rules == ("camera_tamper", "lens_cover")


def test_a_situation_raised_by_nothing_is_allowed(tmp_path):
    text = mutate("      raised_by: [{message: manual_report}]\n", "")
    p = load_policy(write(tmp_path, text))
    assert p.situation("manual_report").raised_by == ()
    assert p.situation_for_message("manual_report") is None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "raised_by: [{message: camera_fault}]",
            "raised_by: [{message: camera_fault}, {message: emergency_bell}]",
            "device message emergency_bell raises both 'emergency_bell' and 'camera_fault'",
        ),
        (
            "raised_by: [{message: camera_fault}]",
            "raised_by: [{message: camera_fault}, {message: camera_fault}]",
            "device message camera_fault raises both 'camera_fault' and 'camera_fault'",
        ),
    ],
)
def test_a_message_claimed_twice_is_refused(tmp_path, old, new, expected):
    text = mutate(old, new)
    error = refused(tmp_path, text)
    assert expected in str(error)
    assert "중복 지정" in str(error)
    assert error.line == line_of(text, "    - type: camera_fault")


def test_the_same_rule_claimed_by_two_situations_is_refused(tmp_path):
    text = mutate(
        "raised_by: [{message: camera_fault}]",
        "raised_by: [{message: camera_fault}, {message: video_analytics, rule: [tamper]}]",
    )
    text = text.replace(
        "raised_by: [{message: manual_report}]",
        "raised_by: [{message: manual_report}, {message: video_analytics, rule: [fight, tamper]}]",
    )
    error = refused(tmp_path, text)
    assert "video_analytics (rule tamper) raises both 'camera_fault' and 'manual_report'" in str(error)


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ("raised_by: [{message: smoke_alarm}]", "unknown device message type 'smoke_alarm'"),
        ("raised_by: [{message: camera_fault, rule: []}]", "must not be empty"),
        ("raised_by: [{message: camera_fault, rule: [Bad-Rule]}]", "malformed code"),
        ("raised_by: [{message: camera_fault, rules: [x]}]", "unknown key 'rules'"),
        ("raised_by: [{rule: [x]}]", "missing required key 'message'"),
        ("raised_by: camera_fault", "expected a list"),
    ],
)
def test_a_bad_raised_by_entry_is_refused(tmp_path, new, expected):
    text = mutate("raised_by: [{message: camera_fault}]", new)
    error = refused(tmp_path, text)
    assert error.line == line_of(text, new)
    assert expected in str(error)


def test_message_loss_is_raised_by_the_system_not_by_a_device_message(policy):
    situation = policy.situation_for_system("message_loss")
    assert situation is not None and situation.type == "message_loss"
    assert situation.raised_by == ()
    assert all(policy.situation_for_message(m) is not situation for m in DEVICE_MESSAGE_TYPES)


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ("raised_by: [{system: disk_full}]", "unknown system trigger 'disk_full'"),
        ("raised_by: [{system: message_loss, message: camera_fault}]", "unknown key 'message'"),
        ("raised_by: [{system: message_loss}]", "system trigger message_loss raises both"),
    ],
)
def test_a_bad_system_trigger_is_refused(tmp_path, new, expected):
    text = mutate("raised_by: [{message: camera_fault}]", new)
    error = refused(tmp_path, text)
    assert expected in str(error)


def test_a_situation_purpose_must_be_known_and_present(tmp_path):
    text = mutate("      purpose: facility_management\n", "      purpose: repairs\n")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "repairs")
    assert "unknown purpose 'repairs'" in str(error)
    error = refused(tmp_path, mutate("      purpose: facility_management\n", ""))
    assert "missing required key 'purpose'" in str(error)


# ---- provision approvers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "purposes",
    [(), ("crime_prevention",), ("illegal_parking", "green_parking"), ("illegal_dumping",), ("traffic_info",)],
)
def test_seongdong_provision_approvers_are_it_officer_then_manager(policy, purposes):
    assert policy.provision_approvers(purposes) == ("district_it_officer", "district_manager")


def test_provision_approvers_follow_the_video_management_organisation(tmp_path):
    text = mutate(
        "    - code: dumping_cctv\n      ko: 쓰레기무단투기CCTV\n      en: Illegal-dumping cameras\n"
        "      organisation: district\n",
        "    - code: dumping_cctv\n      ko: 쓰레기무단투기CCTV\n      en: Illegal-dumping cameras\n"
        "      organisation: police\n",
    )
    text = text.replace(
        "  video.provision.approve:\n    roles: [district_manager, district_it_officer]",
        "  video.provision.approve:\n    roles: [district_manager, district_it_officer, police_officer]",
    )
    p = load_policy(write(tmp_path, text))
    assert p.provision_approvers(("illegal_dumping",)) == ("police_officer",)
    assert p.provision_approvers(("crime_prevention",)) == ("district_it_officer", "district_manager")
    assert p.provision_approvers(("traffic_info",)) == ("district_it_officer", "district_manager")  # the operator
    assert p.roles_with("video.provision.approve") == ("district_manager", "district_it_officer", "police_officer")


def test_roles_with_a_permission_keep_the_declared_order(policy):
    assert policy.roles_with("events.ingest") == ("device",)
    assert policy.roles_with("audit.read") == ("district_manager", "auditor")
    # a permission this policy does not define is held by no role (the district left that capability out)
    assert policy.roles_with("video.delete") == ()


# ---- standard data ----------------------------------------------------------------------------

# What registry/standard.py held in code before the map moved into the policy.
SEONGDONG_STANDARD_PURPOSES = {
    "생활방범": "crime_prevention",
    "차량방범": "crime_prevention",
    "어린이보호": "child_protection",
    "교통단속": "traffic_enforcement",
    "교통정보수집": "traffic_info",
    "쓰레기단속": "illegal_dumping",
    "시설물관리": "facility_management",
    "재난재해": "disaster",
    "다목적": "crime_prevention",
    "기타": "other",
}


def test_standard_purpose_map_is_the_one_the_registry_used(policy):
    assert dict(policy.standard_data.purpose_map) == SEONGDONG_STANDARD_PURPOSES
    for text, purpose in SEONGDONG_STANDARD_PURPOSES.items():
        assert policy.standard_purpose(text) == purpose


def test_standard_purpose_ignores_spaces_and_gives_none_for_unknown_text(policy):
    assert policy.standard_purpose(" 생활 방범 ") == "crime_prevention"
    assert policy.standard_purpose("쓰레기 단속") == "illegal_dumping"
    assert policy.standard_purpose("드론감시") is None
    assert policy.standard_purpose("") is None


@pytest.mark.parametrize(
    ("agency", "organisation"),
    [
        ("서울특별시 성동경찰서", "police"),
        ("성동구청", "district"),
        ("서울 성동구 교통지도과", "district"),
        ("", "district"),
    ],
)
def test_standard_organisation_by_agency_name(policy, agency, organisation):
    assert policy.standard_organisation(agency) == organisation


def test_first_matching_organisation_rule_wins(tmp_path):
    text = mutate(
        "    - {contains: 경찰, organisation: police}\n",
        "    - {contains: 경찰, organisation: police}\n    - {contains: 성동, organisation: police}\n",
    )
    p = load_policy(write(tmp_path, text))
    assert p.standard_data.organisation_rules == (("경찰", "police"), ("성동", "police"))
    assert p.standard_organisation("성동구청") == "police"
    assert p.standard_organisation("한빛구청") == "district"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    다목적: crime_prevention\n", "    다목적: surveillance\n", "unknown purpose 'surveillance'"),
        ("    다목적: crime_prevention\n", "    생활 방범: disaster\n", "duplicate purpose text '생활방범'"),
        (
            "    - {contains: 경찰, organisation: police}\n",
            "    - {contains: 경찰, organisation: army}\n",
            "unknown organisation 'army'",
        ),
        (
            "    - {contains: 경찰, organisation: police}\n",
            "    - {contains: '', organisation: police}\n",
            "empty string",
        ),
        (
            "    - {contains: 경찰, organisation: police}\n",
            "    - {text: 경찰, organisation: police}\n",
            "unknown key 'text'",
        ),
        ("  default_organisation: district\n", "  default_organisation: nobody\n", "unknown organisation 'nobody'"),
        ("  purpose_map:\n", "  purpose_map: []\n  purpose_list:\n", "unknown key 'purpose_list'"),
    ],
)
def test_bad_standard_data_is_refused(tmp_path, old, new, expected):
    text = mutate(old, new)
    error = refused(tmp_path, text)
    assert expected in str(error)
    assert "standard_data" in str(error)


def test_standard_data_section_is_required(tmp_path):
    start = DEFAULT_TEXT.index("standard_data:\n")
    end = DEFAULT_TEXT.index("\nmap:\n")
    error = refused(tmp_path, DEFAULT_TEXT[:start] + DEFAULT_TEXT[end:])
    assert "missing required key 'standard_data'" in str(error)


# ---- the map ----------------------------------------------------------------------------------


def test_map_names_the_shipped_seongdong_geojson(policy):
    assert policy.map.boundary == "seongdong_boundary.geojson"
    assert policy.map.neighbourhoods == "seongdong_neighborhoods.geojson"
    boundary = policy.map_file(policy.map.boundary)
    assert boundary.is_file() and boundary.parent.name == "data"
    assert boundary.read_text(encoding="utf-8").lstrip().startswith("{")
    assert policy.map_file(policy.map.neighbourhoods).is_file()


@pytest.mark.parametrize("name", ["../secrets.geojson", "maps/../../etc/passwd", "/etc/passwd", "", "a\\b.geojson"])
def test_map_file_refuses_names_leaving_their_folder(policy, name):
    with pytest.raises(ValueError):
        policy.map_file(name)


def test_a_map_path_is_relative_to_the_policy_file(tmp_path):
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "here.geojson").write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    text = mutate("  boundary: seongdong_boundary.geojson\n", "  boundary: maps/here.geojson\n")
    p = load_policy(write(tmp_path, text))
    assert p.map_file(p.map.boundary) == tmp_path / "maps" / "here.geojson"


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        ("  boundary: maps/missing.geojson\n", "no such file"),
        ("  boundary: nowhere.geojson\n", "no such file"),
        ("  boundary: ../seongdong_boundary.geojson\n", "bad file name"),
        ("  boundary: /etc/hosts\n", "bad file name"),
    ],
)
def test_a_bad_map_file_is_refused_with_its_line(tmp_path, new, expected):
    text = mutate("  boundary: seongdong_boundary.geojson\n", new)
    error = refused(tmp_path, text)
    assert error.line == line_of(text, new.strip())
    assert expected in str(error) and "map.boundary" in str(error)


def test_neighbourhoods_are_optional(tmp_path):
    # Without neighbourhoods there is nothing to label either: their names go with them.
    text = mutate("  neighbourhoods: seongdong_neighborhoods.geojson\n", "")
    text = text.replace("  neighbourhood_names: {ko: EMD_KOR_NM, en: EMD_ENG_NM}\n", "")
    policy = load_policy(write(tmp_path, text))
    assert policy.map.neighbourhoods is None and dict(policy.map.neighbourhood_names) == {}


def test_unknown_map_key_is_refused(tmp_path):
    text = mutate(
        "  neighbourhoods: seongdong_neighborhoods.geojson\n",
        "  neighbourhoods: seongdong_neighborhoods.geojson\n  roads: roads.geojson\n",
    )
    assert "unknown key 'roads'" in str(refused(tmp_path, text))


# ---- demo accounts ----------------------------------------------------------------------------


def test_demo_accounts_are_todays_list(policy):
    assert [(a.username, a.role, a.department) for a in policy.demo_accounts] == [
        ("manager", "district_manager", None),
        ("itofficer", "district_it_officer", "it_info"),
        ("agent", "monitoring_agent", None),
        ("maint", "maintenance_staff", None),
        ("dept", "department_officer", "autonomous_admin"),
        ("police", "police_officer", None),
        ("p112", "police_112", None),
        ("detective", "police_investigator", None),
        ("auditor", "auditor", None),
        ("sensor", "device", None),
    ]
    assert policy.demo_accounts[0].display_name == "김관리 (관리책임자)"


def test_demo_accounts_are_optional(tmp_path):
    text = DEFAULT_TEXT[: DEFAULT_TEXT.index("demo_accounts:\n")]
    assert load_policy(write(tmp_path, text)).demo_accounts == ()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("role: district_manager}", "role: mayor}", "unknown role 'mayor'"),
        (
            "role: district_it_officer, department: it_info}",
            "role: district_it_officer, department: it}",
            "unknown department 'it'",
        ),
        (
            "role: district_it_officer, department: it_info}",
            "role: police_officer, department: it_info}",
            "department 'it_info' is not of role 'police_officer''s organisation",
        ),
        (
            "{username: agent, display_name: 박요원",
            "{username: manager, display_name: 박요원",
            "duplicate username 'manager'",
        ),
        ("{username: agent,", "{username: Agent Smith,", "malformed code"),
        ("role: district_manager}", "role: district_manager, password: x}", "unknown key 'password'"),
    ],
)
def test_bad_demo_accounts_are_refused(tmp_path, old, new, expected):
    text = mutate(old, new)
    error = refused(tmp_path, text)
    assert error.line == line_of(text, new)
    assert expected in str(error)


# ---- a second district ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hanbit():
    return load_policy(HANBIT)


def test_the_second_district_loads_with_codes_of_its_own(hanbit, policy):
    assert hanbit.agreement.id == "hanbit-2021"
    assert {o.code for o in hanbit.organisations} == {"gu_office", "hanbit_police"}

    def codes(p):
        return {o.code for o in p.organisations} | {r.code for r in p.roles} | {d.code for d in p.departments}

    mine, theirs = codes(policy), codes(hanbit)
    assert mine.isdisjoint(theirs)
    assert hanbit.operator == "gu_office" and hanbit.operator_organisation.name_ko == "한빛구"
    assert hanbit.supervisors == frozenset({"control_chief"})
    assert hanbit.dispatch.organisations == frozenset({"hanbit_police"})
    assert hanbit.department("cleanup_div").ko == "청소과"
    assert hanbit.department("cleanup_div").primary_purposes == ("illegal_dumping",)


@pytest.mark.parametrize("hour", [3, 12, 22])
def test_the_second_districts_bell_is_its_own_day_and_night(hanbit, policy, hour):
    from datetime import datetime, timedelta, timezone

    from gwanje.policy import route_situation

    at = datetime(2026, 5, 4, hour, tzinfo=timezone(timedelta(hours=9)))
    bell = route_situation(hanbit, "emergency_bell", at)
    assert (bell.responsible_organisation, bell.handler_role, bell.responding_roles) == (
        "gu_office",
        "control_agent",
        ("control_agent",),
    )
    assert route_situation(policy, "emergency_bell", at).responsible_organisation == "police"
    fault = route_situation(hanbit, "camera_fault", at)
    assert (fault.handler_role, fault.responding_roles) == ("field_engineer", ("field_engineer",))
    assert hanbit.role(fault.handler_role).ko.startswith("정보통신과")


def test_the_second_district_raises_dumping_from_an_analytics_rule(hanbit, policy):
    assert hanbit.situation_for_message("video_analytics", "dumping").type == "illegal_dumping"
    assert hanbit.situation_for_message("video_analytics", "loitering").type == "intelligent_event"
    assert hanbit.purpose_of_situation("illegal_dumping") == "illegal_dumping"
    assert hanbit.situation("illegal_dumping").responsible == "gu_office"
    with pytest.raises(UnknownCode):
        policy.situation("illegal_dumping")
    assert policy.situation_for_message("video_analytics", "dumping").type == "intelligent_event"


def test_the_second_district_answers_the_other_questions_its_own_way(hanbit):
    assert hanbit.provision_approvers() == ("it_officer", "control_chief")
    assert hanbit.is_operator_role("field_engineer") and not hanbit.is_operator_role("dept_staff")
    assert not hanbit.is_operator_role("station_officer")
    assert hanbit.role("station_dispatch").board == frozenset({"hanbit_police"})
    assert hanbit.role("station_detective").board == "none"
    assert hanbit.standard_organisation("한빛경찰서") == "hanbit_police"
    assert hanbit.standard_organisation("한빛구 청소과") == "gu_office"
    assert hanbit.standard_purpose("무단 투기") == "illegal_dumping"
    assert hanbit.map.neighbourhoods is None and hanbit.map_file(hanbit.map.boundary).is_file()
    assert [a.username for a in hanbit.demo_accounts][:2] == ["chief", "agent"]
    assert hanbit.access.incident_only_organisations == frozenset({"hanbit_police"})


def test_a_policy_stays_hashable_and_comparable(policy, hanbit):
    assert hash(policy) == hash(load_default())
    assert {policy: 1}[load_default()] == 1
    assert policy != hanbit
    with pytest.raises(TypeError):
        policy.standard_data.purpose_map["드론"] = "other"  # type: ignore[index]


def test_security_throttling_and_lifetimes_are_checked(policy, tmp_path):
    sec = policy.security
    assert (sec.throttle_source_after_failed_logins, sec.token_default_hours, sec.token_max_days) == (20, 12, 30)
    assert [sec.throttle_seconds(n, 5) for n in (4, 5, 6, 7)] == [0, 2, 4, 8]
    assert sec.throttle_seconds(99, 5) == sec.throttle_max_seconds
    assert "throttle_base_seconds" in str(
        refused(tmp_path, mutate("throttle_max_seconds: 900", "throttle_max_seconds: 1"))
    )
    assert "token_max_days" in str(refused(tmp_path, mutate("token_default_hours: 12", "token_default_hours: 9999")))
    assert "security" in str(refused(tmp_path, mutate("  throttle_base_seconds: 2\n", "")))  # a key missing


# ---- Art. 9 ⑤ in detail (issue 8, finding 2) --------------------------------------------------


def test_the_police_viewing_rules_are_read_from_the_policy(policy, hanbit):
    assert policy.access.viewing_statuses == {"acknowledged", "handed_over", "dispatched"}
    assert policy.access.attach_radius_m == 300
    assert policy.access.emergency_situation_types == {"emergency_bell", "u_seoul_safety", "wanted_vehicle"}
    assert policy.access.emergency_minutes == 60
    assert hanbit.access.attach_radius_m == 500 and hanbit.access.emergency_minutes == 30


def test_an_unknown_viewing_status_is_refused(tmp_path):
    text = mutate("viewing_statuses: [acknowledged,", "viewing_statuses: [judging,")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "[judging")
    assert "unknown incident status 'judging'" in str(error) and "알 수 없는 상황 상태" in str(error)


def test_an_unknown_emergency_situation_type_is_refused(tmp_path):
    text = mutate("emergency_situation_types: [emergency_bell,", "emergency_situation_types: [murder,")
    error = refused(tmp_path, text)
    assert error.line == line_of(text, "[murder")
    assert "unknown situation type 'murder'" in str(error)


@pytest.mark.parametrize("key", ["attach_radius_m: 300", "emergency_minutes: 60"])
def test_a_radius_or_time_limit_below_one_is_refused(tmp_path, key):
    name = key.split(":")[0]
    error = refused(tmp_path, mutate(key, f"{name}: 0"))
    assert f"access.{name}: must be >= 1" in str(error)
