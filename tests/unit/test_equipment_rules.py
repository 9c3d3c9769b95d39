"""The equipment register's pure rules (Art. 2 ④, 5) and the policy's ``maintenance:`` section: dates and
costs as sheets hold them, headings in Korean and English (renamed ones too), status changes that end at
disposal, and a malformed section refused with the line it is on."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from gwanje.maintenance.equipment import rules
from gwanje.policy import decisions
from gwanje.policy.loader import load_default, load_policy
from gwanje.policy.model import PolicyError
from tests.fixtures.districts import HANBIT_POLICY

DEFAULT_TEXT = (Path(__file__).resolve().parents[2] / "src/gwanje/policies/seongdong.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def policy():
    return load_default()


@pytest.mark.parametrize(
    "value",
    ["2024-03-05", "2024.03.05", "2024.3.5", "2024/03/05", "20240305", "2024년 3월 5일", "2024. 3. 5.", " 2024-03-05 "],
)
def test_dates_are_read_in_the_forms_district_sheets_use(value):
    assert rules.parse_date(value, "acquired_on") == date(2024, 3, 5)


def test_a_date_cell_and_a_datetime_cell_are_dates():
    assert rules.parse_date(datetime(2024, 3, 5, 9, 30), "acquired_on") == date(2024, 3, 5)
    assert rules.parse_date(date(2024, 3, 5), "acquired_on") == date(2024, 3, 5)
    assert rules.parse_date("", "acquired_on") is None
    assert rules.parse_date(None, "acquired_on") is None


@pytest.mark.parametrize("value", ["2024-02-30", "05/03/2024", "어제", "2024-13-01", "0001-01-01", "20241"])
def test_a_date_that_is_not_one_is_refused_in_both_languages(value):
    with pytest.raises(rules.Invalid) as info:
        rules.parse_date(value, "acquired_on")
    assert "날짜" in info.value.refusal.ko and "date" in info.value.refusal.en
    assert info.value.refusal.field == "acquired_on"


@pytest.mark.parametrize(
    ("value", "won"),
    [
        ("1,250,000", 1250000),
        ("1250000원", 1250000),
        ("₩1,250,000", 1250000),
        (1250000, 1250000),
        (1250000.0, 1250000),
        (0, 0),
        ("0", 0),
        ("", None),
        (None, None),
        ("-", None),
    ],
)
def test_costs_are_whole_won_and_zero_is_kept_apart_from_unknown(value, won):
    assert rules.parse_cost(value) == won


@pytest.mark.parametrize("value", ["-5", -5, "12.5", 12.5, "일억", True, "1e9", 2**31])
def test_a_cost_that_is_not_whole_nonnegative_won_is_refused(value):
    with pytest.raises(rules.Invalid) as info:
        rules.parse_cost(value)
    assert info.value.refusal.field == "cost_krw"


def test_serials_are_told_apart_per_make_ignoring_case_and_spacing():
    assert rules.make_key("  Hanwha   Vision ") == rules.make_key("hanwha vision")
    assert rules.make_key(None) == rules.make_key("") == ""


def test_a_disposed_item_stays_disposed_and_a_status_must_change():
    assert rules.status_change_refusal("in_use", "repair", "disposed") is None
    assert rules.status_change_refusal("repair", "disposed", "disposed") is None
    assert rules.status_change_refusal("disposed", "in_use", "disposed").field == "status"
    assert rules.status_change_refusal("in_use", "in_use", "disposed") is not None


def test_a_warranty_cannot_end_before_the_item_was_acquired():
    assert rules.dates_refusal(date(2024, 1, 1), date(2023, 12, 31)).field == "warranty_until"
    assert rules.dates_refusal(date(2024, 1, 1), date(2024, 1, 1)) is None
    assert rules.dates_refusal(None, date(2020, 1, 1)) is None


def test_changed_names_only_the_fields_that_differ():
    before, after = rules.changed({"a": 1, "b": 2, "c": None}, {"a": 1, "b": 3, "c": "x"})
    assert before == {"b": 2, "c": None} and after == {"b": 3, "c": "x"}


def test_the_header_row_is_found_under_a_title_with_renamed_and_english_headings():
    cells = [
        ["성동구 통합관제센터 장비 현황", None, None],
        [],
        ["분류", "품목명", "Serial No.", "구입 일자", "취득가액", "담당자"],
        ["장비", "모니터", "SN-1", "2024.1.2", "1,000", "김"],
        [None, None, None, None, None, None],
        ["물품", "의자", None, None, None, None],
    ]
    sheet = rules.read_sheet(cells)
    assert sheet.columns == {"item_class": 0, "name": 1, "serial": 2, "acquired_on": 3, "cost_krw": 4}
    assert [line for line, _ in sheet.rows] == [4, 6], "line numbers are the sheet's own; empty rows skipped"
    assert sheet.ignored_headers == ["담당자"]
    english = rules.read_sheet([["Class", "Name", "Make", "Cost"], ["supply", "chair", "Fursys", "0"]])
    assert english.rows[0][1] == {"item_class": "supply", "name": "chair", "make": "Fursys", "cost_krw": "0"}


def test_a_sheet_without_the_required_headings_is_refused():
    with pytest.raises(rules.Invalid) as info:
        rules.read_sheet([["품명", "제조사"], ["모니터", "LG"]])
    assert info.value.refusal.field == "file" and "구분" in info.value.refusal.ko


def test_a_class_is_given_by_code_or_label(policy):
    classes = policy.maintenance.classes
    assert rules.choice_code("시설물", classes, "item_class") == "facility"
    assert rules.choice_code("Supply", classes, "item_class") == "supply"
    assert rules.choice_code("equipment", classes, "item_class") == "equipment"
    with pytest.raises(rules.Invalid):
        rules.choice_code("가구", classes, "item_class")
    assert rules.choice_code("을", policy.organisations, "owner_organisation") == "police"


# ---- the policy's maintenance section -----------------------------------------------------------


def test_seongdong_keeps_the_register_with_the_agreed_classes(policy):
    m = policy.maintenance
    assert [(c.code, c.ko) for c in m.classes] == [("equipment", "장비"), ("facility", "시설물"), ("supply", "물품")]
    assert m.clause == "art-2-4" and policy.clause("art-2-4").ko.startswith("통합관제센터의 장비")
    assert m.ownership_clause == "art-5"
    assert m.disposed_status == "disposed" and m.default_status == "in_use" and m.camera_class == "equipment"


def test_art_5_the_district_owns_what_the_police_did_not_install(policy):
    assert decisions.owner_organisation(policy, "district") == "district"
    assert decisions.owner_organisation(policy, "police") == "police"


def test_the_district_keeps_the_register_and_the_police_only_read_it(policy):
    may = lambda role, p: decisions.role_has_permission(policy, role, p).allowed  # noqa: E731
    for role in ("district_it_officer", "district_manager"):
        assert may(role, "equipment.manage") and may(role, "equipment.read")
    for role in ("maintenance_staff", "auditor", "police_officer"):
        assert may(role, "equipment.read") and not may(role, "equipment.manage")
    for role in ("monitoring_agent", "police_112", "police_investigator", "device", "department_officer"):
        assert not may(role, "equipment.read") and not may(role, "equipment.manage")


def test_a_policy_without_the_section_has_no_register():
    assert load_policy(HANBIT_POLICY).maintenance is None


def _refused(tmp_path, text):
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    return info.value, text


def _line(text, needle):
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "needle", "words"),
    [
        ("  disposed_status: disposed\n", "  disposed_status: scrapped\n", "scrapped", "scrapped"),
        ("  camera_class: equipment\n", "  camera_class: cameras\n", "camera_class: cameras", "cameras"),
        (
            "    - {code: supply, ko: 물품, en: Supply}\n",
            "    - {code: facility, ko: 물품, en: Supply}\n",
            "{code: facility, ko: 물품",
            "duplicate",
        ),
        ("  default_status: in_use\n", "  default_status: disposed\n", "  disposed_status: disposed", "default_status"),
        ("  ownership_clause: art-5\n", "  ownership_clause: art-99\n", "art-99", "art-99"),
        ("  camera_class: equipment\n", "  camera_class: equipment\n  colour: red\n", "colour", "colour"),
    ],
)
def test_a_malformed_maintenance_section_is_refused_on_its_line(tmp_path, old, new, needle, words):
    start = DEFAULT_TEXT.index("\nmaintenance:")
    text = DEFAULT_TEXT[:start] + DEFAULT_TEXT[start:].replace(old, new, 1)
    assert text != DEFAULT_TEXT
    error, text = _refused(tmp_path, text)
    assert error.line == _line(text, needle), str(error)
    assert words in str(error) and error.message_ko and error.message_en


def test_a_register_nobody_may_keep_is_refused(tmp_path):
    text = DEFAULT_TEXT.replace(
        "  equipment.manage:\n    roles: [district_it_officer, district_manager]",
        "  equipment.manage:\n    roles: []",
        1,
    )
    error, _ = _refused(tmp_path, text)
    assert "equipment.manage" in str(error)
