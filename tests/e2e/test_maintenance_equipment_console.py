"""The register's page (Art. 2 ④): the IT officer adds an item through the form, edits it, moves it and
sees its history, imports a sheet and reads the report by line, in Korean by default and in English on the
switch; the police officer reads without the forms; a monitoring agent neither sees the link nor the page."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook

from tests.conftest import PASSWORD, fresh_totp

PAGE = "/maintenance/equipment"


def _sign_in(harness, username, role):
    user = harness.user(username, role)
    harness.client.cookies.clear()
    token = re.search(r'name="login_csrf" value="([^"]+)"', harness.client.get("/login").text).group(1)
    data = {"username": username, "password": PASSWORD, "login_csrf": token}
    if user.totp_secret:
        data["otp"] = fresh_totp(user.totp_secret)
    resp = harness.client.post("/login", data=data, follow_redirects=False)
    assert resp.status_code == 303, resp.text
    return user


def _csrf(text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def test_the_it_officer_keeps_the_register_through_the_page(harness):
    _sign_in(harness, "it-equip", "district_it_officer")
    page = harness.client.get(PAGE)
    assert page.status_code == 200, page.text
    assert "장비·시설물·물품 관리대장" in page.text and 'id="nav-equipment"' in page.text
    assert 'id="add-form"' in page.text and 'id="import-form"' in page.text and 'id="export-link"' in page.text
    csrf = _csrf(page.text)
    form = {
        "csrf_token": csrf,
        "item_class": "equipment",
        "name": "상황판 모니터",
        "room": "situation_room",
        "owner_organisation": "district",
        "make": "LG",
        "serial": "W-1",
        "cost_krw": "1,250,000",
        "acquired_on": "2024-03-05",
        "status": "in_use",
    }
    bad = harness.client.post(PAGE, data={**form, "acquired_on": "2024-02-30"})
    assert bad.status_code == 422 and 'id="equipment-error"' in bad.text and "날짜" in bad.text
    assert 'value="상황판 모니터"' in bad.text, "what was typed is kept"
    assert harness.client.post(PAGE, data={**form, "csrf_token": ""}, follow_redirects=False).status_code == 403
    ok = harness.client.post(PAGE, data=form, follow_redirects=False)
    assert ok.status_code == 303
    item_page = ok.headers["location"]
    detail = harness.client.get(item_page)
    assert 'id="edit-form"' in detail.text and "1,250,000" in detail.text and "상황실" in detail.text
    assert re.findall(r'data-action="(\w+)"', detail.text) == ["created"]

    edit = {k: v for k, v in form.items() if k != "status"} | {"version": "1", "model": "55UH5F"}
    assert harness.client.post(item_page, data=edit, follow_redirects=False).status_code == 303
    stale = harness.client.post(item_page, data=edit)
    assert stale.status_code == 409 and "다른 사용자가 먼저 수정했습니다" in stale.text
    moved = harness.client.post(
        f"{item_page}/status", data={"csrf_token": csrf, "version": "2", "status": "repair"}, follow_redirects=False
    )
    assert moved.status_code == 303
    detail = harness.client.get(item_page)
    assert re.findall(r'data-action="(\w+)"', detail.text) == ["created", "edited", "status"]
    assert "수리중" in detail.text
    assert '<span class="chip" data-field="model">모델: ' in detail.text, "the history names fields in words"

    book = Workbook()
    for row in (
        ["구분", "품명", "일련번호", "취득일"],
        ["물품", "의자", None, "2024.1.2"],
        ["물품", "책상", None, "어제"],
    ):
        book.active.append(row)
    data = io.BytesIO()
    book.save(data)
    report = harness.client.post(
        f"{PAGE}/import",
        data={"csrf_token": csrf},
        files={"file": ("물품.xlsx", data.getvalue(), "application/octet-stream")},
    )
    assert report.status_code == 200 and 'id="import-report"' in report.text
    assert re.findall(r'<tr data-line="(\d+)"', report.text) == ["3"]
    listed = harness.client.get(f"{PAGE}?item_class=supply")
    assert "의자" in listed.text and "상황판 모니터" not in listed.text

    harness.client.get(f"/lang/en?next={PAGE}")
    english = harness.client.get(PAGE)
    assert "Register of equipment, facilities and supplies" in english.text and "Situation room" in english.text
    assert "Under repair" in english.text and "Equipment" in english.text


def test_the_police_officer_reads_without_forms_and_an_agent_has_no_page(harness):
    _sign_in(harness, "it-seed", "district_it_officer")
    _sign_in(harness, "police-equip", "police_officer")
    page = harness.client.get(PAGE)
    assert page.status_code == 200 and 'id="nav-equipment"' in page.text
    assert 'id="add-form"' not in page.text and 'id="import-form"' not in page.text
    assert harness.client.post(PAGE, data={"csrf_token": _csrf(page.text), "name": "x"}).status_code == 403
    _sign_in(harness, "agent-equip", "monitoring_agent")
    board = harness.client.get("/cameras")
    assert 'id="nav-equipment"' not in board.text
    assert harness.client.get(PAGE).status_code == 403
