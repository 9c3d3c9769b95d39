"""The equipment register over HTTP on both engines (Art. 2 ④, 5, 6): who reads it and who keeps it (the
police, monitoring agents and strangers are refused with a bilingual message), bad input is a 422 never a
500, a stale edit a 409, an imported sheet with traps keeps its good rows and reports the bad ones by line,
the export reads back, and a district whose policy keeps no register has none (404)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook

from gwanje.core.audit import Actor
from gwanje.policy import load_policy
from tests.fixtures.districts import HANBIT_POLICY
from tests.support import app_under, bearer_for

API = "/api/maintenance/equipment"


def _bilingual(r: Any, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["message"]["ko"] and body["message"]["en"], body
    return body


def _item(**over: Any) -> dict:
    body = {"item_class": "equipment", "name": "상황판 모니터", "room": "situation_room", "make": "LG", "serial": "S-1"}
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def _add(h, **over):
    r = h.client.post(API, json=_item(**over), headers=h.token("district_it_officer"))
    assert r.status_code == 201, r.text
    return r.json()


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_readers_read_and_only_the_district_keepers_change(harness):
    item = _add(harness)
    for role in ("district_manager", "district_it_officer", "maintenance_staff", "auditor", "police_officer"):
        r = harness.client.get(API, headers=harness.token(role))
        assert r.status_code == 200, (role, r.text)
        assert r.json()["total"] == 1
        assert harness.client.get(f"{API}/{item['id']}/history", headers=harness.token(role)).status_code == 200
    for role in ("monitoring_agent", "police_112", "police_investigator", "device"):
        _bilingual(harness.client.get(API, headers=harness.token(role)), 403)
    _bilingual(harness.client.get(API), 401)
    _bilingual(harness.client.get(f"{API}.xlsx"), 401)
    for role in ("police_officer", "maintenance_staff", "auditor", "monitoring_agent"):
        h = harness.token(role)
        _bilingual(harness.client.post(API, json=_item(serial="S-9"), headers=h), 403)
        _bilingual(harness.client.patch(f"{API}/{item['id']}", json={"version": 1, "name": "x"}, headers=h), 403)
        _bilingual(
            harness.client.post(f"{API}/{item['id']}/dispose", json={"version": 1, "reason": "x"}, headers=h), 403
        )
        _bilingual(harness.client.post(f"{API}/sync-cameras", headers=h), 403)
        _bilingual(harness.client.post(f"{API}/import?filename=a.csv", content=b"a,b", headers=h), 403)
    _bilingual(harness.client.post(f"{API}/sync-cameras"), 401)


def test_an_edit_names_its_version_and_a_stale_one_is_409(harness):
    item = _add(harness)
    it = harness.token("district_it_officer")
    manager = harness.token("district_manager")
    r = harness.client.patch(f"{API}/{item['id']}", json={"version": 1, "model": "55UH5F"}, headers=manager)
    assert r.status_code == 200 and r.json()["version"] == 2
    body = _bilingual(harness.client.patch(f"{API}/{item['id']}", json={"version": 1, "model": "X"}, headers=it), 409)
    assert body["details"] == {"current_version": 2}
    r = harness.client.post(f"{API}/{item['id']}/status", json={"version": 2, "status": "repair"}, headers=it)
    assert r.status_code == 200 and r.json()["status"] == "repair"
    r = harness.client.post(f"{API}/{item['id']}/dispose", json={"version": 3, "reason": "수리 불가"}, headers=it)
    assert r.status_code == 200 and r.json()["status"] == "disposed"
    _bilingual(harness.client.patch(f"{API}/{item['id']}", json={"version": 4, "name": "x"}, headers=it), 409)
    history = harness.client.get(f"{API}/{item['id']}/history", headers=it).json()
    assert [h["action"] for h in history] == ["created", "edited", "status", "disposed"]


@pytest.mark.parametrize(
    "body",
    [
        {"item_class": "가구", "name": "책상"},
        {"item_class": "equipment"},
        {"item_class": "equipment", "name": "x", "cost_krw": -1},
        {"item_class": "equipment", "name": "x", "cost_krw": "many"},
        {"item_class": "equipment", "name": "x", "acquired_on": "2024-02-30"},
        {"item_class": "equipment", "name": "x", "room": "roof"},
        {"item_class": "equipment", "name": "x", "colour": "red"},
        {"item_class": "equipment", "name": "x" * 201},
        {"item_class": "equipment", "name": "x", "status": "disposed"},
        {"item_class": "equipment", "name": "x", "acquired_on": "2024-05-01", "warranty_until": "2024-01-01"},
        [],
    ],
)
def test_bad_input_is_422_in_both_languages(harness, body):
    _bilingual(harness.client.post(API, json=body, headers=harness.token("district_it_officer")), 422)


def test_bad_paths_and_queries_are_4xx_never_500(harness):
    it = harness.token("district_it_officer")
    _bilingual(harness.client.get(f"{API}/999999", headers=it), 404)
    _bilingual(harness.client.get(f"{API}/0", headers=it), 422)
    _bilingual(harness.client.get(f"{API}?status=DROP%20TABLE", headers=it), 422)
    _bilingual(harness.client.get(f"{API}?per_page=100000", headers=it), 422)
    _bilingual(harness.client.patch(f"{API}/1", json={"name": "x"}, headers=it), 422)
    _bilingual(harness.client.post(f"{API}/1/dispose", json={"version": 1, "reason": ""}, headers=it), 422)
    _bilingual(harness.client.post(f"{API}/import?filename=x.xlsx", content=b"PK\x03\x04garbage", headers=it), 422)
    _bilingual(harness.client.post(f"{API}/import?filename=x.csv", content=b"", headers=it), 422)
    _bilingual(harness.client.post(f"{API}/import?filename=x.csv", content=b"\xff\xfe\x00\x01", headers=it), 422)
    _bilingual(harness.client.post(f"{API}/import", content=b"a", headers=it), 422)


def test_an_imported_sheet_with_traps_keeps_its_good_rows_and_reports_the_bad_by_line(harness):
    _add(harness, name="기존 서버", make="Hanwha Vision", serial="ON-FILE")
    sheet = _xlsx(
        [
            ["성동구 통합관제센터 장비·물품 현황 (2025)"],
            [],
            [
                "분류",
                "품목명",
                "소유",
                "보관장소",
                "제조업체",
                "모델명",
                "시리얼",
                "구입일자",
                "취득가액",
                "보증만료일",
                "상태",
                "메모",
            ],
            [
                "장비",
                "상황판 모니터",
                "갑",
                "상황실",
                "LG",
                "55UH5F",
                "A-1",
                "2023.03.02",
                "1,250,000",
                "2026-03-01",
                "사용중",
                None,
            ],
            [
                "장비",
                "상황판 모니터",
                "갑",
                "상황실",
                "LG",
                "55UH5F",
                "A-1",
                "2023.03.02",
                "1,250,000",
                "2026-03-01",
                "사용중",
                None,
            ],
            ["장비", "다른 모니터", None, None, "lg", None, "A-1", None, None, None, None, None],
            ["물품", "의자", None, None, None, None, None, "2023년 5월 1일", 0, None, None, "기증"],
            ["물품", "책상", None, None, None, None, None, None, "", None, None, None],
            ["시설물", "항온항습기", None, "시스템실", "LS", None, "B-1", "2023-02-30", None, None, None, None],
            ["장비", "카메라 서버", "을", None, "Hanwha Vision", None, "on-file", 20240105, None, None, "보관중", None],
            ["장비", "이미 있는 장비", None, None, "hanwha vision", None, "ON-FILE", None, None, None, None, None],
            ["가구", "소파", None, None, None, None, None, None, None, None, None, None],
            ["장비", None, None, None, None, None, None, None, None, None, None, None],
            [None] * 12,
            ["장비", "스위치", None, None, "Cisco", None, "C-1", None, "-300", None, None, None],
            ["장비", "라우터", None, None, "Cisco", None, "C-2", None, None, None, "불용", None],
        ]
    )
    it = harness.token("district_it_officer")
    r = harness.client.post(f"{API}/import?filename=현황.xlsx", content=sheet, headers=it)
    assert r.status_code == 200, r.text
    report = r.json()
    bad = {e["line"]: e for e in report["errors"]}
    assert set(bad) == {5, 6, 9, 11, 12, 13, 15, 16}, report
    assert "4행" in bad[5]["ko"] and "line 4" in bad[5]["en"], "a repeated row names the first"
    assert "A-1" in bad[6]["ko"], "a serial repeated under the same make (case aside) within the file"
    assert "날짜" in bad[9]["ko"] and "date" in bad[9]["en"]
    assert "ON-FILE" in bad[11]["ko"], "a serial already on the register"
    assert report["created"] == 4 and report["rows_read"] == 12
    items = {i["name"]: i for i in harness.client.get(f"{API}?per_page=200", headers=it).json()["items"]}
    assert items["상황판 모니터"]["cost_krw"] == 1250000 and items["상황판 모니터"]["room"] == "situation_room"
    assert items["상황판 모니터"]["acquired_on"] == "2023-03-02" and items["상황판 모니터"]["status"] == "in_use"
    assert items["의자"]["cost_krw"] == 0 and items["의자"]["acquired_on"] == "2023-05-01"
    assert items["책상"]["cost_krw"] is None
    assert items["카메라 서버"]["owner_organisation"] == "police" and items["카메라 서버"]["status"] == "in_store"
    assert items["카메라 서버"]["acquired_on"] == "2024-01-05"
    assert "항온항습기" not in items and "소파" not in items
    history = harness.client.get(f"{API}/{items['의자']['id']}/history", headers=it).json()
    assert history[0]["action"] == "imported" and '"line": 7' in history[0]["after"]


def test_an_english_csv_in_cp949_imports_too(harness):
    csv = 'Class,Name,Manufacturer,Serial No,Cost\nsupply,Chair,Fursys,F-1,0\nfacility,항온항습기,LS,H-1,"3,000,000"\n'
    r = harness.client.post(
        f"{API}/import?filename=en.csv", content=csv.encode("cp949"), headers=harness.token("district_it_officer")
    )
    assert r.status_code == 200 and r.json()["created"] == 2 and r.json()["errors"] == [], r.text


def test_the_export_is_one_sheet_with_korean_headings_that_reads_back(harness):
    _add(harness, cost_krw=1250000, acquired_on="2024-03-05", note="상황판 1번")
    _add(harness, item_class="supply", name="의자", room=None, make=None, serial=None, owner_organisation="police")
    it = harness.token("district_it_officer")
    r = harness.client.get(f"{API}.xlsx", headers=harness.token("auditor"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(r.content))
    assert len(book.worksheets) == 1
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:4] == ("번호", "구분", "품명", "소유기관") and "수정일시(KST)" in rows[0]
    by_name = {row[2]: row for row in rows[1:]}
    assert by_name["상황판 모니터"][1] == "장비" and by_name["상황판 모니터"][4] == "상황실"
    assert by_name["상황판 모니터"][10] == 1250000
    assert by_name["의자"][3] == "성동경찰서" or "경찰" in by_name["의자"][3]
    # Read back into the same register: everything is already there (serials) or repeated.
    r = harness.client.get(f"{API}.xlsx?item_class=supply", headers=it)
    only = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert len(only) == 2 and only[1][2] == "의자"
    full = harness.client.get(f"{API}.xlsx", headers=it).content
    back = harness.client.post(f"{API}/import?filename=back.xlsx", content=full, headers=it).json()
    assert back["rows_read"] == 2
    assert [e["line"] for e in back["errors"]] == [r for r in (2, 3) if rows[r - 1][8]], back


def test_text_that_looks_like_a_formula_is_exported_as_text(harness):
    _add(harness, name='=HYPERLINK("http://evil.example","x")', note="+1-2", serial="@S")
    r = harness.client.get(f"{API}.xlsx", headers=harness.token("district_it_officer"))
    row = next(load_workbook(io.BytesIO(r.content)).active.iter_rows(min_row=2, max_row=2))
    assert row[2].value == '=HYPERLINK("http://evil.example","x")' and row[2].data_type == "s"
    assert row[8].value == "@S" and row[8].data_type == "s"
    assert row[13].value == "+1-2" and row[13].data_type == "s"


def test_the_camera_sync_over_http_is_idempotent_and_owns_per_art_5(harness):
    from gwanje.registry import service as registry
    from gwanje.registry.schemas import CameraCreate

    with harness.db.uow() as uow:
        for number, installer in (("SD-H1", "district"), ("SD-H2", "police")):
            registry.create_camera(
                uow,
                Actor.system("test"),
                harness.policy,
                CameraCreate(
                    management_number=number,
                    department="autonomous_admin",
                    primary_purpose="crime_prevention",
                    latitude=37.5636,
                    longitude=127.0369,
                    site={"road_address": f"서울특별시 성동구 {number}"},
                    installed_by=installer,
                ),
            )
        uow.commit()
    it = harness.token("district_it_officer")
    first = harness.client.post(f"{API}/sync-cameras", headers=it).json()
    again = harness.client.post(f"{API}/sync-cameras", headers=it).json()
    assert (first["created"], again["created"], again["unchanged"]) == (2, 0, 2)
    owners = {
        i["name"]: i["owner_organisation"]
        for i in harness.client.get(f"{API}?owner=police", headers=it).json()["items"]
    }
    assert list(owners.values()) == ["police"] and len(owners) == 1


@pytest.fixture
def hanbit(db, tmp_path):
    with app_under(db, tmp_path, load_policy(HANBIT_POLICY)) as pair:
        yield pair


def test_a_policy_without_maintenance_has_no_register(hanbit):
    app, client = hanbit
    role = next(r.code for r in app.state.policy.roles if r.home != "none")
    headers = bearer_for(app, role)
    for method, path in (
        ("GET", API),
        ("GET", f"{API}.xlsx"),
        ("GET", f"{API}/1"),
        ("POST", f"{API}/sync-cameras"),
        ("GET", "/maintenance/equipment"),
    ):
        r = client.request(method, path, headers=headers)
        _bilingual(r, 404)
    _bilingual(client.get(API), 401)
