"""The operator console (HTML) over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pyotp
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from gwanje.accounts.models import User
from gwanje.core.audit import Actor
from gwanje.core.clock import to_kst
from gwanje.core.db import Database
from gwanje.registry import service as registry
from gwanje.registry.schemas import CameraCreate
from gwanje.registry.views import PAGE_SIZE
from tests.conftest import PASSWORD, Harness

HTML = {"accept": "text/html,application/xhtml+xml"}
WRONG_KO = "사용자명 또는 비밀번호가 올바르지 않습니다"


def _camera(
    harness: Harness,
    number: str,
    *,
    department: str = "autonomous_admin",
    purpose: str = "crime_prevention",
    secondary: tuple[str, ...] = (),
    status: str = "active",
    site_key: str | None = None,
    address: str = "서울특별시 성동구 왕십리로 83",
    lat: float = 37.5612,
    lon: float = 127.0371,
    group: str | None = None,
) -> int:
    site = {"road_address": address}
    if site_key:
        site["site_key"] = site_key
    with harness.db.uow() as uow:
        camera = registry.create_camera(
            uow,
            Actor.system("test"),
            harness.policy,
            CameraCreate(
                management_number=number,
                department=department,
                primary_purpose=purpose,
                secondary_purposes=list(secondary),
                status=status,
                site=site,
                latitude=lat,
                longitude=lon,
                camera_group=group,
                installed_by="police" if department == "police_station" else "district",
            ),
        )
        uow.commit()
        return camera.id


def _retire(harness: Harness, camera_id: int) -> None:
    with harness.db.uow() as uow:
        registry.retire_camera(uow, Actor.system("test"), camera_id, "철거")
        uow.commit()


def _login_token(client: TestClient) -> str:
    page = client.get("/login")
    return re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)


def _post_login(
    client: TestClient, username: str, password: str = PASSWORD, otp: str = "", next_url: str = "/cameras"
) -> httpx.Response:
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "otp": otp,
            "next": next_url,
            "login_csrf": _login_token(client),
        },
        follow_redirects=False,
    )


def _set_cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            return header
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def login(harness: Harness, role: str = "monitoring_agent", username: str | None = None) -> str:
    """Sign in through the form; returns the session's CSRF token read from the page."""
    username = username or f"c_{role}"[:60]
    harness.user(username, role)
    resp = _post_login(harness.client, username)
    assert resp.status_code == 303, resp.text
    page = harness.client.get("/cameras")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-camera-id="\d+">\s*<td class="mono"><a href="/cameras/\d+">([^<]+)</a>', html)


# ------------------------------------------------------------------------- sign-in


def test_login_page_is_public_in_korean_with_a_strict_pre_session_token(harness):
    resp = harness.client.get("/login")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert '<html lang="ko">' in resp.text and "로그인" in resp.text and "OTP" in resp.text
    assert "script-src 'self'" in resp.headers["content-security-policy"]
    cookie = _set_cookie(resp, "gwanje_login_csrf").lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/login" in cookie


@pytest.mark.parametrize("path", ["/cameras", "/cameras/1", "/map", "/reports/annex1", "/"])
def test_console_pages_send_anonymous_browsers_to_the_login_form(harness, path):
    resp = harness.client.get(path, headers=HTML, follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == ("/login" if path == "/" else f"/login?next={path}")
    followed = harness.client.get(path, headers=HTML)
    assert followed.status_code == 200 and 'action="/login"' in followed.text


def test_console_pages_answer_401_to_api_clients_and_the_boundary_is_not_public(harness):
    for path in ("/cameras", "/map", "/api/geo/boundary"):
        assert harness.client.get(path, headers={"accept": "application/json"}).status_code == 401


def test_login_sets_an_httponly_samesite_session_cookie_and_returns_to_next(harness):
    harness.user("kim", "monitoring_agent")
    resp = _post_login(harness.client, "kim", next_url="/map")
    assert resp.status_code == 303 and resp.headers["location"] == "/map"
    cookie = _set_cookie(resp, "gwanje_session").lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # settings.cookie_secure is off in tests
    page = harness.client.get("/map")
    assert page.status_code == 200
    assert "kim" in page.text and "모니터링 요원" in page.text  # user name and role label from the policy


def test_session_cookie_is_secure_when_the_settings_say_so(harness):
    harness.app.state.settings = harness.settings.model_copy(update={"cookie_secure": True})
    harness.user("lee", "monitoring_agent")
    token = re.search(r'name="login_csrf" value="([^"]+)"', harness.client.get("/login").text).group(1)
    # The Secure pre-session cookie is not sent back over plain http, so hand it over explicitly.
    harness.client.cookies.set("gwanje_login_csrf", token)
    resp = harness.client.post(
        "/login", data={"username": "lee", "password": PASSWORD, "login_csrf": token}, follow_redirects=False
    )
    assert resp.status_code == 303
    assert "; secure" in _set_cookie(resp, "gwanje_session").lower()


def test_wrong_password_shows_the_korean_error_on_the_form(harness):
    harness.user("park", "monitoring_agent")
    resp = _post_login(harness.client, "park", password="not-the-password")
    assert resp.status_code == 401
    assert WRONG_KO in resp.text
    assert 'value="park"' in resp.text  # the username stays in the form
    assert not any(h.startswith("gwanje_session=") for h in resp.headers.get_list("set-cookie"))


def test_wrong_password_shows_the_english_error_after_switching(harness):
    harness.user("choi", "monitoring_agent")
    harness.client.get("/lang/en", follow_redirects=False)
    resp = _post_login(harness.client, "choi", password="not-the-password")
    assert resp.status_code == 401
    assert "wrong username or password" in resp.text and WRONG_KO not in resp.text


def test_role_with_two_factor_needs_a_valid_otp_code(harness):
    user = harness.user("manager1", "district_manager")
    refused = _post_login(harness.client, "manager1")
    assert refused.status_code == 401 and "OTP" in refused.text
    ok = _post_login(harness.client, "manager1", otp=pyotp.TOTP(user.totp_secret).now())
    assert ok.status_code == 303


def test_login_without_the_pre_session_token_or_from_another_site_is_refused(harness):
    harness.user("yoon", "monitoring_agent")
    missing = harness.client.post("/login", data={"username": "yoon", "password": PASSWORD}, follow_redirects=False)
    assert missing.status_code == 403
    assert "gwanje_session=" not in " ".join(missing.headers.get_list("set-cookie"))
    token = _login_token(harness.client)
    foreign = harness.client.post(
        "/login",
        data={"username": "yoon", "password": PASSWORD, "login_csrf": token},
        headers={"origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert foreign.status_code == 403


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "/logout"])
def test_login_never_redirects_off_site(harness, target):
    harness.user("han", "monitoring_agent")
    resp = _post_login(harness.client, "han", next_url=target)
    assert resp.status_code == 303 and resp.headers["location"] == "/"  # then the role's own landing page


def test_english_switch_sets_a_cookie_and_redirects_back(harness):
    login(harness)
    resp = harness.client.get("/lang/en", params={"next": "/cameras?department=sanitation"}, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/cameras?department=sanitation"
    assert SimpleCookie(_set_cookie(resp, "lang"))["lang"].value == "en"
    page = harness.client.get("/cameras")
    assert '<html lang="en">' in page.text
    assert ">Cameras</a>" in page.text and "Sign out" in page.text
    assert "Autonomous Administration Division" in page.text  # department labels come from the policy
    assert "Monitoring agent" in page.text
    # ?lang= wins for one request; the cookie stays.
    assert '<html lang="ko">' in harness.client.get("/cameras", params={"lang": "ko"}).text
    assert '<html lang="en">' in harness.client.get("/cameras").text
    back = harness.client.get("/lang/ko", headers={"referer": "http://testserver/map"}, follow_redirects=False)
    assert back.headers["location"] == "/map"
    assert (
        harness.client.get("/lang/ko", headers={"referer": "http://evil.example/x"}, follow_redirects=False).headers[
            "location"
        ]
        == "/"
    )


# ------------------------------------------------------------------------- CSRF and logout


def test_cookie_authenticated_posts_without_the_csrf_token_are_refused(harness):
    csrf = login(harness)
    assert harness.client.post("/logout", follow_redirects=False).status_code == 403
    assert harness.client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False).status_code == 403
    assert harness.client.get("/cameras", follow_redirects=False).status_code == 200  # still signed in
    api = harness.client.post("/api/cameras", json={"management_number": "X-1", "latitude": 37.5, "longitude": 127.0})
    assert api.status_code == 403 and api.json()["field"] == "csrf_token"

    out = harness.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert harness.client.get("/cameras", headers=HTML, follow_redirects=False).status_code == 303


def test_logout_ends_the_session_on_the_server(harness):
    csrf = login(harness)
    stolen = harness.client.cookies.get("gwanje_session")
    harness.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert "gwanje_session" not in harness.client.cookies
    harness.client.cookies.set("gwanje_session", stolen)
    replay = harness.client.get("/cameras", headers=HTML, follow_redirects=False)
    assert replay.status_code == 303


# ------------------------------------------------------------------------- cameras


def test_camera_list_filters_by_text_department_purpose_and_status(harness):
    _camera(harness, "SD-A-1", address="서울특별시 성동구 왕십리로 83")
    _camera(harness, "SD-A-2", address="서울특별시 성동구 고산자로 270", status="fault", secondary=("illegal_parking",))
    _camera(
        harness,
        "SD-T-1",
        department="traffic_guidance",
        purpose="illegal_parking",
        address="서울특별시 성동구 마조로 10",
    )
    _camera(
        harness, "SD-S-1", department="sanitation", purpose="illegal_dumping", address="서울특별시 성동구 청계천로 500"
    )
    gone = _camera(harness, "SD-A-9")
    _retire(harness, gone)
    login(harness)

    everything = harness.client.get("/cameras")
    assert sorted(_rows(everything.text)) == ["SD-A-1", "SD-A-2", "SD-S-1", "SD-T-1"]  # retired ones hidden
    assert "총 4대" in everything.text
    assert _rows(harness.client.get("/cameras", params={"q": "고산자로"}).text) == ["SD-A-2"]
    assert _rows(harness.client.get("/cameras", params={"department": "traffic_guidance"}).text) == ["SD-T-1"]
    # A purpose matches primary and approved secondary purposes.
    assert sorted(_rows(harness.client.get("/cameras", params={"purpose": "illegal_parking"}).text)) == [
        "SD-A-2",
        "SD-T-1",
    ]
    assert _rows(harness.client.get("/cameras", params={"status": "fault"}).text) == ["SD-A-2"]
    assert _rows(harness.client.get("/cameras", params={"status": "retired"}).text) == ["SD-A-9"]
    combined = harness.client.get("/cameras", params={"department": "autonomous_admin", "status": "active"})
    assert _rows(combined.text) == ["SD-A-1"]
    none = harness.client.get("/cameras", params={"q": "없는주소"})
    assert none.status_code == 200 and "조건에 맞는 카메라가 없습니다" in none.text
    # Hostile or malformed filters are not errors for an operator, just no match.
    odd = harness.client.get("/cameras", params={"q": "%_\\", "status": "nope", "page": "abc"})
    assert odd.status_code == 200 and _rows(odd.text) == []


def test_camera_list_pages_and_answers_htmx_with_a_partial(harness):
    for n in range(PAGE_SIZE + 3):
        _camera(harness, f"SD-P-{n:03d}", lat=37.55 + n * 0.0001)
    login(harness)
    first = harness.client.get("/cameras")
    assert len(_rows(first.text)) == PAGE_SIZE and "1 / 2 쪽" in first.text
    second = harness.client.get("/cameras", params={"page": 2})
    assert _rows(second.text) == [f"SD-P-{n:03d}" for n in range(PAGE_SIZE, PAGE_SIZE + 3)]
    partial = harness.client.get("/cameras", params={"page": 2}, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.text and 'id="camera-total"' in partial.text
    assert len(_rows(partial.text)) == 3
    assert "HX-Request" in partial.headers["vary"]
    restore = harness.client.get("/cameras", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_camera_detail_shows_every_field_with_korean_labels_and_times_in_kst(harness):
    cid = _camera(harness, "SD-D-1", secondary=("illegal_parking", "disaster"), address="서울특별시 성동구 뚝섬로 273")
    login(harness)
    page = harness.client.get(f"/cameras/{cid}")
    assert page.status_code == 200
    for label in (
        "관리번호",
        "도로명주소",
        "부서",
        "주목적",
        "주목적 외 용도",
        "저장 방식",
        "보관기간(일)",
        "등록 일시",
    ):
        assert f"<dt>{label}</dt>" in page.text
    assert "자치행정과" in page.text and "방범(차량번호수집 포함)" in page.text
    assert "1. 불법주정차 단속 2. 재난" in page.text and "센터저장" in page.text and "30일" in page.text
    with harness.db.reading() as session:
        created = registry.get_camera(session, cid).created_at
    assert to_kst(created).strftime("%Y-%m-%d %H:%M KST") in page.text
    assert 'id="camera-map"' in page.text and 'data-lat="37.5612"' in page.text
    missing = harness.client.get("/cameras/999999")
    assert missing.status_code == 404 and "카메라를 찾을 수 없습니다" in missing.text


# ------------------------------------------------------------------------- map


def test_map_page_loads_with_a_legend_from_the_policy_and_no_cdn(harness):
    login(harness)
    page = harness.client.get("/map")
    assert page.status_code == 200
    assert 'id="map"' in page.text and 'data-camera-count=""' in page.text
    for purpose in harness.policy.purposes:
        assert f'data-purpose="{purpose.code}"' in page.text
        assert purpose.ko in page.text
    assert "/static/vendor/leaflet/leaflet.js" in page.text and "/static/js/map.js" in page.text
    assert "unpkg" not in page.text and "cdn" not in page.text.lower() and "<script>" not in page.text
    assert "/api/cameras.geojson" in page.text  # the markers come from the API at load time

    boundary = harness.client.get("/api/geo/boundary")
    assert boundary.status_code == 200 and boundary.headers["content-type"].startswith("application/geo+json")
    feature = boundary.json()["features"][0]
    assert feature["properties"]["SIG_KOR_NM"] == "성동구" and feature["geometry"]["type"] == "Polygon"
    dongs = harness.client.get("/api/geo/neighbourhoods").json()["features"]
    assert len(dongs) == 17 and all(f["properties"]["EMD_CD"].startswith("11200") for f in dongs)


def test_static_assets_are_served(harness):
    assert harness.client.get("/static/css/gwanje.css").status_code == 200
    assert harness.client.get("/static/js/map.js").status_code == 200


# ------------------------------------------------------------------------- Annex 1


def _annex_cells(html: str) -> dict[str, tuple[str, str]]:
    """department code → (sites, cameras) of its first row, plus 'total'."""
    out = {}
    for code, body in re.findall(r'<tr data-department="([^"]*)">(.*?)</tr>', html, re.S):
        sites = re.search(r'data-col="sites">([^<]+)<', body).group(1)
        cams = re.search(r'data-col="cameras">([^<]+)<', body).group(1)
        out.setdefault(code, (sites, cams))
    total = re.search(r'<tr id="annex1-total">(.*?)</tr>', html, re.S).group(1)
    out["total"] = (
        re.search(r'data-col="sites">([^<]+)<', total).group(1),
        re.search(r'data-col="cameras">([^<]+)<', total).group(1),
    )
    return out


def test_annex1_page_shows_numbers_computed_from_the_registry(harness):
    # 자치행정과: three cameras on two sites; 교통지도과 그린파킹: one; 경찰서: one; a retired one does not count.
    _camera(harness, "SD-AD-1-1", site_key="SD-AD-1")
    _camera(harness, "SD-AD-1-2", site_key="SD-AD-1")
    _camera(harness, "SD-AD-2-1", site_key="SD-AD-2")
    _camera(harness, "SD-GP-1-1", department="traffic_guidance", purpose="green_parking", group="green_parking")
    _camera(harness, "SD-PS-1-1", department="police_station", secondary=())
    _retire(harness, _camera(harness, "SD-AD-3-1", site_key="SD-AD-3"))
    login(harness)

    page = harness.client.get("/reports/annex1")
    assert page.status_code == 200
    html = page.text
    for heading in ("부서", "주목적", "개소", "대수", "주목적 외 용도", "비고", "합계"):
        assert heading in html
    assert "성동구 다목적 CCTV 운영 현황" in html
    cells = _annex_cells(html)
    assert cells["autonomous_admin"] == ("2", "3")
    assert cells["police_station"] == ("1", "1")
    assert cells["sanitation"] == ("0", "0")
    assert cells["total"] == ("4", "5")
    # Same numbers as the JSON report: one computation, two renderings.
    api = harness.client.get("/api/reports/annex1").json()
    assert (api["total_sites"], api["total_cameras"]) == (4, 5)
    # As printed: 교통지도과 spans its two rows; secondary purposes numbered; 비고 from the annex.
    assert re.search(r'rowspan="2">교통지도과<', html)
    assert "그린파킹" in html and "현장저장" in html and "이동형" in html
    assert "1. 불법주정차 단속 2. 쓰레기 무단투기 단속 3. 시설물 관리 4. 재난" in html

    # Another camera changes the page: nothing is a constant.
    _camera(harness, "SD-AD-2-2", site_key="SD-AD-2")
    again = _annex_cells(harness.client.get("/reports/annex1").text)
    assert again["autonomous_admin"] == ("2", "4") and again["total"] == ("4", "6")


def test_annex1_thousands_are_grouped_and_english_uses_policy_labels(harness):
    _camera(harness, "SD-AD-1-1")
    login(harness)
    page = harness.client.get("/reports/annex1", params={"lang": "en"})
    assert "Autonomous Administration Division" in page.text and ">Total<" in page.text
    assert "Crime prevention (incl. licence-plate collection)" in page.text
    assert "on-site storage" in page.text  # the 현장저장 remark, translated


def test_annex1_page_needs_the_reports_permission(harness):
    harness.user("fixer", "maintenance_staff")
    assert _post_login(harness.client, "fixer").status_code == 303
    assert harness.client.get("/cameras").status_code == 200
    assert harness.client.get("/reports/annex1").status_code == 403
    page = harness.client.get("/reports/annex1", headers={"accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    # the refusal names the clause it rests on, by its text, not its bare id
    assert harness.policy.clause("policy-rbac").ko in page.text and "policy-rbac:" not in page.text


def test_login_redirect_keeps_the_query_string(harness):
    resp = harness.client.get("/cameras?purpose=disaster", headers={"accept": "text/html"}, follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/login?next=/cameras%3Fpurpose%3Ddisaster"


# ------------------------------------------------------------------------- the map of another district


HANBIT_OUTLINE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "한빛구"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[127.0, 37.5], [127.1, 37.5], [127.1, 37.6], [127.0, 37.5]]],
            },
        }
    ],
}


def _hanbit_harness(db: Database, tmp_path: Path, map_section: str) -> Harness:
    import json as jsonlib

    from gwanje.policy import load_policy
    from tests.fixtures.districts import HANBIT_POLICY

    text = HANBIT_POLICY.read_text(encoding="utf-8")
    start = text.index("\nmap:\n")
    end = text.index("\n\n", start + 1)
    folder = tmp_path / "policy"
    (folder / "maps").mkdir(parents=True)
    (folder / "maps" / "hanbit.geojson").write_text(jsonlib.dumps(HANBIT_OUTLINE), encoding="utf-8")
    (folder / "hanbit.yaml").write_text(text[:start] + map_section + text[end:], encoding="utf-8")
    return Harness(db, load_policy(folder / "hanbit.yaml"), tmp_path)


def _map_config(h: Harness) -> dict:
    import json as jsonlib

    page = h.client.get("/map", headers=h.token("control_agent"))
    assert page.status_code == 200, page.text
    found = re.search(r'<script type="application/json" id="map-config">(.*?)</script>', page.text, re.S)
    return jsonlib.loads(found.group(1))


def test_the_map_draws_the_boundary_the_policy_names_and_no_neighbourhoods_it_does_not(db, tmp_path):
    h = _hanbit_harness(db, tmp_path, "\nmap:\n  boundary: maps/hanbit.geojson\n  neighbourhoods: null")
    with h.client:
        config = _map_config(h)
        assert config["boundaryUrl"] == "/api/geo/boundary" and config["neighbourhoodsUrl"] is None
        reader = h.token("control_agent")
        boundary = h.client.get("/api/geo/boundary", headers=reader)
        assert boundary.status_code == 200 and boundary.headers["content-type"].startswith("application/geo+json")
        assert boundary.json() == HANBIT_OUTLINE
        assert h.client.get("/api/geo/neighbourhoods", headers=reader).status_code == 404


def test_a_policy_without_a_map_gets_no_background_layers(db, tmp_path):
    import dataclasses

    from gwanje.policy import load_policy
    from tests.fixtures.districts import HANBIT_POLICY

    h = Harness(db, dataclasses.replace(load_policy(HANBIT_POLICY), map=None), tmp_path)
    with h.client:
        config = _map_config(h)
        assert config["boundaryUrl"] is None and config["neighbourhoodsUrl"] is None
        reader = h.token("control_agent")
        assert h.client.get("/api/geo/boundary", headers=reader).status_code == 404
        body = {
            "management_number": "HB-M-1",
            "department": "safety_div",
            "primary_purpose": "crime_prevention",
            "latitude": 37.55,
            "longitude": 127.04,
        }
        created = h.client.post("/api/cameras", json=body, headers=h.token("control_chief"))
        assert created.status_code == 201, created.text
        assert created.json()["owner_organisation"] == "gu_office"  # installed_by: the policy's default owner
        page = h.client.get(f"/cameras/{created.json()['id']}", headers=reader)
        assert page.status_code == 200 and 'data-boundary-url=""' in page.text


def test_the_sign_in_form_throttles_instead_of_locking(harness):
    """Finding 8: past the policy's failures the form answers 429 with Retry-After; the account
    stays unlocked and the same form reads the same for a name that does not exist."""
    harness.user("kang", "monitoring_agent")
    for _ in range(harness.policy.security.throttle_after_failed_logins):
        assert _post_login(harness.client, "kang", "wrong-password").status_code == 401
    held = _post_login(harness.client, "kang")
    assert held.status_code == 429 and int(held.headers["retry-after"]) >= 1
    assert _post_login(harness.client, "nobody-here", "wrong-password").status_code == 401
    with harness.db.reading() as s:
        assert not s.scalar(sa.select(User).where(User.username == "kang")).locked
