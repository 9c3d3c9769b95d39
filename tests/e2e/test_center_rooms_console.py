"""The rooms page (Annex 2 출입관리): the IT officer sees the rooms, who is inside, the authorisations
and the day's log, in Korean by default and in English on the switch, and grants entry through the
page's form; a police officer is refused; a district whose policy keeps no rooms gets no page at all."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest

from gwanje.core.clock import utcnow
from gwanje.policy import load_policy
from gwanje.ui.forms import kst_input
from tests.conftest import PASSWORD, fresh_totp
from tests.fixtures.districts import HANBIT_POLICY
from tests.support import app_under, bearer_for

PAGE = "/center/rooms"


def _sign_in(harness, username, role):
    user = harness.user(username, role)
    harness.client.cookies.clear()
    token = re.search(r'name="login_csrf" value="([^"]+)"', harness.client.get("/login").text).group(1)
    resp = harness.client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "otp": fresh_totp(user.totp_secret), "login_csrf": token},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    return user


def _csrf(page_text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_text).group(1)


def _grant_form(csrf: str, **over: Any) -> dict:
    now = utcnow()
    form = {
        "csrf_token": csrf,
        "room": "system_room",
        "person_name": "김수리",
        "organisation": "유지보수 업체",
        "badge": "CARD-7",
        "purpose": "서버 교체",
        "valid_from": kst_input(now - timedelta(minutes=5)),
        "valid_until": kst_input(now + timedelta(days=10)),
    }
    form.update(over)
    return form


def test_the_it_officer_grants_through_the_page_and_sees_who_is_inside(harness):
    """annex-2: the IT division grants entry; the page shows the rooms, who is inside and the log."""
    _sign_in(harness, "it-rooms", "district_it_officer")
    page = harness.client.get(PAGE)
    assert page.status_code == 200, page.text
    assert "출입관리 (시스템실·상황실)" in page.text and 'id="nav-rooms"' in page.text
    assert 'data-room="system_room"' in page.text and 'data-room="situation_room"' in page.text
    assert "시스템실" in page.text and "상황실" in page.text
    assert 'id="grant-form"' in page.text and 'id="access-log"' in page.text
    csrf = _csrf(page.text)

    too_long = harness.client.post(
        f"{PAGE}/authorisations", data=_grant_form(csrf, valid_until=kst_input(utcnow() + timedelta(days=400)))
    )
    assert too_long.status_code == 422 and 'id="rooms-error"' in too_long.text
    assert "최대 366일" in too_long.text
    no_csrf = harness.client.post(f"{PAGE}/authorisations", data=_grant_form(""), follow_redirects=False)
    assert no_csrf.status_code == 403
    unknown = harness.client.post(f"{PAGE}/authorisations", data=_grant_form(csrf, room="nowhere"))
    assert unknown.status_code == 422 and 'id="rooms-error"' in unknown.text

    ok = harness.client.post(f"{PAGE}/authorisations", data=_grant_form(csrf), follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == f"{PAGE}?room=system_room"
    page = harness.client.get(f"{PAGE}?room=system_room")
    [row] = re.findall(r'<tr data-authorisation="(\d+)" data-active="(true|false)"', page.text)
    assert row[1] == "true" and "김수리" in page.text and "CARD-7" in page.text
    before = page.text.split('id="inside-now"')[1].split("</p>")[0]
    assert "지금 재실" in before and 'class="chip"' not in before, "no one has come in yet"

    # The badge at the door: the log and "inside now" show the holder; a stranger's line is marked.
    device = harness.token("device")
    for event, badge in (("entry", "CARD-7"), ("entry", "CARD-?")):
        message = {
            "message_id": f"door-{uuid.uuid4().hex[:10]}",
            "type": "room_access",
            "payload": {"door": "door-system-room", "event": event, "badge": badge.replace("?", "Q")},
        }
        assert harness.client.post("/api/events", json=message, headers=device).status_code == 202
    page = harness.client.get(f"{PAGE}?room=system_room")
    inside = page.text.split('id="inside-now"')[1].split("</p>")[0]
    assert "김수리" in inside and "CARD-Q" in inside
    log = re.findall(r'<tr data-entry="\d+" data-event="(\w+)" data-authorised="(true|false)"', page.text)
    assert log == [("entry", "true"), ("entry", "false")]
    assert "입실" in page.text and 'href="/board?incident=' in page.text
    assert 'id="export-xlsx"' in page.text and 'id="export-pdf"' in page.text

    # An account's organisation shows by its name in the policy, not its code; a named person's as typed.
    officer = harness.user("officer-rooms", "police_officer")
    granted = harness.client.post(
        f"{PAGE}/authorisations",
        data=_grant_form(csrf, person_name="", organisation="", badge="P-7", account_id=str(officer.id)),
        follow_redirects=False,
    )
    assert granted.status_code == 303, granted.text
    page = harness.client.get(f"{PAGE}?room=system_room")
    cells = re.findall(r"<td>([^<]*)</td>", page.text.split('id="authorisations"')[1].split("</table>")[0])
    assert "성동경찰서" in cells and "유지보수 업체" in cells and "police" not in cells

    harness.client.get(f"/lang/en?next={PAGE}")
    english = harness.client.get(f"{PAGE}?room=system_room")
    assert english.status_code == 200
    assert "Seongdong police station" in english.text
    assert "Room access (system and situation rooms)" in english.text and "Entry authorisations" in english.text
    assert "Inside now" in english.text and "Entry" in english.text and "System room" in english.text


def test_revoking_through_the_page(harness):
    _sign_in(harness, "it-revoke", "district_it_officer")
    csrf = _csrf(harness.client.get(PAGE).text)
    harness.client.post(f"{PAGE}/authorisations", data=_grant_form(csrf), follow_redirects=False)
    page = harness.client.get(PAGE)
    auth_id = re.search(r'<tr data-authorisation="(\d+)"', page.text).group(1)
    empty = harness.client.post(
        f"{PAGE}/authorisations/{auth_id}/revoke", data={"csrf_token": csrf, "room": "system_room", "reason": ""}
    )
    assert empty.status_code == 422 and 'id="rooms-error"' in empty.text
    done = harness.client.post(
        f"{PAGE}/authorisations/{auth_id}/revoke",
        data={"csrf_token": csrf, "room": "system_room", "reason": "계약 종료"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = harness.client.get(PAGE)
    assert f'<tr data-authorisation="{auth_id}" data-active="false"' in page.text and "계약 종료" in page.text


def test_bad_input_on_the_page_is_a_refusal_not_an_error(harness):
    """The page's query and forms walked around: an unknown room, a bad day, a visitor without the escort
    the policy requires, a bad number, a console line naming no one — each a 4xx page with the reason."""
    _sign_in(harness, "it-bad", "district_it_officer")
    csrf = _csrf(harness.client.get(PAGE).text)
    assert harness.client.get(f"{PAGE}?room=nowhere").status_code == 422
    assert harness.client.get(f"{PAGE}?day=2026-13-45").status_code == 422
    now = utcnow()
    visitor = {
        "csrf_token": csrf,
        "room": "system_room",
        "name": "방문객",
        "organisation": "감사원",
        "purpose": "점검",
        "escort": "",
        "expected_from": kst_input(now),
        "expected_until": kst_input(now + timedelta(hours=1)),
    }
    alone = harness.client.post(f"{PAGE}/visitors", data=visitor)
    assert alone.status_code == 422 and "동행자" in alone.text and 'id="rooms-error"' in alone.text
    for bad in ("abc", "-1", "99999999999"):
        r = harness.client.post(f"{PAGE}/visitors", data={**visitor, "escort": bad})
        assert r.status_code == 422 and 'id="rooms-error"' in r.text, bad
    r = harness.client.post(f"{PAGE}/authorisations", data=_grant_form(csrf, account_id="x1"))
    assert r.status_code == 422 and 'id="rooms-error"' in r.text
    r = harness.client.post(f"{PAGE}/authorisations", data=_grant_form(csrf, valid_until="어제"))
    assert r.status_code == 422 and 'id="rooms-error"' in r.text
    line = {"csrf_token": csrf, "room": "system_room", "event": "entry", "person": "a:999"}
    assert harness.client.post(f"{PAGE}/access-log", data=line).status_code == 404
    r = harness.client.post(f"{PAGE}/access-log", data={**line, "person": "other", "person_name": ""})
    assert r.status_code == 422 and 'id="rooms-error"' in r.text
    r = harness.client.post(
        f"{PAGE}/access-log", data={**line, "event": "forced", "person": "other", "person_name": "누"}
    )
    assert r.status_code == 422
    assert harness.client.get("/api/center/rooms/visitors", headers=harness.token("auditor")).json() == []
    assert harness.client.get("/api/center/rooms/access-log", headers=harness.token("auditor")).json() == {
        "entries": []
    }


def test_a_police_officer_gets_no_rooms_page_and_no_link(harness):
    _sign_in(harness, "cop-rooms", "police_officer")
    refused = harness.client.get(PAGE)
    assert refused.status_code == 403
    assert 'id="grant-form"' not in refused.text and "김수리" not in refused.text
    home = harness.client.get("/center/presence")
    assert home.status_code == 200 and 'id="nav-rooms"' not in home.text
    csrf = _csrf(home.text)
    posted = harness.client.post(f"{PAGE}/authorisations", data=_grant_form(csrf), follow_redirects=False)
    assert posted.status_code == 403
    assert (
        harness.client.get("/api/center/rooms/authorisations", headers=harness.token("district_it_officer")).json()
        == []
    )


def test_the_auditor_reads_the_log_but_sees_no_forms(harness):
    page = harness.client.get(PAGE, headers=harness.token("auditor"))
    assert page.status_code == 200, page.text
    assert 'id="access-log"' in page.text and 'id="nav-rooms"' in page.text
    for form in ("grant-form", "visitor-form", "access-form"):
        assert f'id="{form}"' not in page.text


# ---- a district whose policy has no rooms_access section ----------------------------------------------------


@pytest.fixture
def hanbit(db, tmp_path):
    with app_under(db, tmp_path, load_policy(HANBIT_POLICY)) as pair:
        yield pair


def test_a_policy_without_rooms_access_has_no_rooms_page_nor_api(hanbit):
    """Hanbit's policy names a system room and grants rooms.access_log.write, but keeps no rooms_access:
    the link is hidden, and every rooms page and route answers 4xx (never a 500)."""
    app, client = hanbit
    assert app.state.policy.rooms_access is None and app.state.policy.duty.rooms
    it = bearer_for(app, "it_officer")
    home = client.get("/center/presence", headers=it)
    assert home.status_code == 200, home.text
    assert 'id="nav-rooms"' not in home.text
    now = utcnow()
    for method, path, body in (
        ("GET", PAGE, None),
        ("GET", f"{PAGE}?room=system_room", None),
        ("GET", "/api/center/rooms", None),
        ("GET", "/api/center/rooms/authorisations", None),
        ("GET", "/api/center/rooms/visitors", None),
        ("GET", "/api/center/rooms/access-log", None),
        ("GET", "/api/center/rooms/access-log.xlsx", None),
        ("GET", "/api/center/rooms/access-log.pdf", None),
        (
            "POST",
            "/api/center/rooms/access-log",
            {"room": "system_room", "event": "entry", "person_name": "누군가"},
        ),
        (
            "POST",
            "/api/center/rooms/visitors",
            {
                "room": "system_room",
                "name": "방문객",
                "organisation": "감사원",
                "purpose": "점검",
                "expected_from": now.isoformat(),
                "expected_until": (now + timedelta(hours=1)).isoformat(),
            },
        ),
    ):
        r = client.request(method, path, headers=it, json=body)
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text[:300])
        if path.startswith("/api/"):
            assert r.json()["message"]["ko"] and r.json()["message"]["en"], (path, r.text)
    form = client.post(
        f"{PAGE}/access-log",
        headers=it,
        data={"room": "system_room", "event": "entry", "person": "other", "person_name": "누군가"},
    )
    assert 400 <= form.status_code < 500, form.text[:300]
    for role in ("control_agent", "inspector"):
        assert client.get(PAGE, headers=bearer_for(app, role)).status_code == 403
    # A door message for this district is kept as rejected, not taken.
    message = {
        "message_id": "door-hanbit-1",
        "type": "room_access",
        "payload": {"door": "door-system-room", "event": "entry", "badge": "CARD-1"},
    }
    r = client.post("/api/events", json=message, headers=bearer_for(app, "sensor"))
    assert r.status_code == 422 and r.json()["message"]["ko"] and r.json()["message"]["en"], r.text
