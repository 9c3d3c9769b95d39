"""The camera map in a real browser (Debian's Chromium, Playwright, a real uvicorn): cameras sharing one
site are each clickable, search by management number and address, open incidents from the board's live
feed, and a base layer drawn from the district's shipped data with no request leaving the app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid

import pytest

from gwanje.accounts import service as accounts
from gwanje.core.audit import Actor
from gwanje.core.db import Database
from gwanje.core.migrate import upgrade
from gwanje.policy import load_default
from gwanje.registry import service as registry
from gwanje.registry.schemas import CameraCreate
from gwanje.situations import service as situations
from gwanje.ui.render import DATA_DIR
from tests.conftest import fresh_totp
from tests.e2e.test_browser import _free_port, assets, browser  # noqa: F401 - assets and browser are fixtures
from tests.support import wait_healthy

# One worker runs this module's tests, in order: they share one module-scoped server and what earlier tests
# left on it (pytest-xdist, --dist loadgroup).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-map")]

USERNAME, PASSWORD = "map.kim", "correct-horse-battery"
# A traffic-division officer: the board shows them only incidents on cameras of their division's purposes.
OFFICER = "map.park"
# An investigator reads the registry but not the board.
INVESTIGATOR = "map.choi"
SITE_ADDRESS = "서울특별시 성동구 왕십리로 222"
# (management number, department, primary purpose, latitude, longitude, road address)
SITE = [
    ("SD-MAP-101", "autonomous_admin", "crime_prevention", 37.5575, 127.0425, SITE_ADDRESS),
    ("SD-MAP-102", "traffic_guidance", "illegal_parking", 37.5575, 127.0425, SITE_ADDRESS),
    ("SD-MAP-103", "sanitation", "illegal_dumping", 37.5575, 127.0425, SITE_ADDRESS),
]
SPREAD = [
    ("SD-MAP-201", "parks_green", "facility_management", 37.5443, 127.0374, "서울특별시 성동구 뚝섬로 273"),
    ("SD-MAP-202", "autonomous_admin", "crime_prevention", 37.5633, 127.0371, "서울특별시 성동구 고산자로 270"),
    ("SD-MAP-203", "autonomous_admin", "crime_prevention", 37.5380, 127.0540, "서울특별시 성동구 성수이로 51"),
]
CAMERAS = SITE + SPREAD
REPORTED = "시험: 성동교 아래 연기"
PARKING = "시험: 불법주차 민원"  # reported on SD-MAP-102 (illegal parking, the traffic division's)


def _seed(url):
    db = Database(url)
    upgrade(db.engine)
    policy = load_default()
    system = Actor.system("test-seed")
    with db.uow() as uow:
        accounts.add_user(uow, system, policy, accounts.NewUser(USERNAME, "김지도", "monitoring_agent", PASSWORD))
        accounts.add_user(
            uow,
            system,
            policy,
            accounts.NewUser(OFFICER, "박교통", "department_officer", PASSWORD, department="traffic_guidance"),
        )
        _, totp = accounts.add_user(
            uow, system, policy, accounts.NewUser(INVESTIGATOR, "최수사", "police_investigator", PASSWORD)
        )
        device, _ = accounts.add_user(uow, system, policy, accounts.NewUser("bell-map", "bell", "device", PASSWORD))
        token = accounts.issue_token(uow, system, device, "map test")
        for number, dept, purpose, lat, lon, address in CAMERAS:
            registry.create_camera(
                uow,
                system,
                policy,
                CameraCreate(
                    management_number=number,
                    department=dept,
                    primary_purpose=purpose,
                    latitude=lat,
                    longitude=lon,
                    site={"road_address": address},
                    installed_by="district",
                ),
            )
        uow.commit()
    situations.report_incident(db, policy, "map-test", {"title": REPORTED, "latitude": 37.5500, "longitude": 127.0300})
    situations.report_incident(db, policy, "map-test", {"title": PARKING, "camera": "SD-MAP-102"})
    db.dispose()
    return {"token": token, "totp": totp}


@pytest.fixture(scope="module")
def server(tmp_path_factory, assets):  # noqa: F811 - the assets fixture
    var = tmp_path_factory.mktemp("map-var")
    url = f"sqlite:///{var / 'gwanje.db'}"
    secrets = _seed(url)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWANJE_")}
    env.update(GWANJE_DATABASE_URL=url, GWANJE_VAR_DIR=str(var), GWANJE_SECRET_KEY="m" * 48)
    log = open(var / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "gwanje.web.app:create_app", "--host", "127.0.0.1"]
        + ["--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=var,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base, var / "server.log", timeout=30)
        yield {"base": base, **secrets}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def page(browser, server):  # noqa: F811 - the browser fixture
    context = browser.new_context(
        base_url=server["base"], viewport={"width": 1400, "height": 900}, locale="ko-KR", timezone_id="Asia/Seoul"
    )
    p = context.new_page()
    p.set_default_timeout(15_000)
    problems: list[str] = []
    p.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    p.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    p.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    requests: list[str] = []
    p.on("request", lambda r: requests.append(r.url))
    p.on("websocket", lambda ws: requests.append(ws.url))
    p.problems, p.requests = problems, requests
    yield p
    context.close()


def _open_map(page, username=USERNAME, totp=None):
    page.goto("/login?next=/map")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    if totp:
        page.fill("#otp", fresh_totp(totp))
    page.click("button[type=submit]")
    page.wait_for_url("**/map")
    page.wait_for_selector("#map[data-state=loaded]")


def _popup_number(page):
    popup = page.locator(".leaflet-popup-content .popup strong")
    popup.wait_for()
    number = popup.inner_text()
    page.click(".leaflet-popup-close-button")
    page.locator(".leaflet-popup").wait_for(state="detached")
    return number


def _only_popup(page):
    """The text of the one open popup (a closed one fades out for a moment)."""
    page.wait_for_function("() => document.querySelectorAll('.leaflet-popup').length === 1")
    return page.locator(".leaflet-popup-content").inner_text()


def test_the_base_layer_is_the_district_s_own_data_and_nothing_leaves_the_app(page, server):
    _open_map(page)
    shipped = json.loads((DATA_DIR / "seongdong_neighborhoods.geojson").read_text(encoding="utf-8"))
    names = sorted(f["properties"]["EMD_KOR_NM"] for f in shipped["features"])
    page.wait_for_selector("#map[data-neighbourhoods]")
    assert page.get_attribute("#map", "data-boundary") == "drawn"
    assert page.locator("#map path.neighbourhood").count() == len(names)
    assert sorted(page.locator("#map .nbhd-label").all_inner_texts()) == names
    page.wait_for_selector("#incident-feed[data-feed=live]")
    # Every request the page made (documents, scripts, styles, GeoJSON, icons, the live feed) went to the
    # app itself: a closed network with no tile server still gets its whole map.
    base, ws = server["base"] + "/", server["base"].replace("http://", "ws://") + "/"
    assert page.requests and any(u.startswith(ws) for u in page.requests)
    outside = [u for u in page.requests if not (u.startswith((base, ws)) or u.startswith("data:"))]
    assert outside == []
    assert page.problems == [], page.problems


def test_the_english_map_labels_neighbourhoods_and_controls_in_english(page):
    _open_map(page)
    page.goto("/map?lang=en")
    page.wait_for_selector("#map[data-neighbourhoods]")
    shipped = json.loads((DATA_DIR / "seongdong_neighborhoods.geojson").read_text(encoding="utf-8"))
    names = sorted(f["properties"]["EMD_ENG_NM"] for f in shipped["features"])
    assert sorted(page.locator("#map .nbhd-label").all_inner_texts()) == names
    assert page.inner_text("label[for=map-search]") == "Find a camera"
    assert page.inner_text("#legend-incidents .legend-label") == "Open incidents"
    assert page.problems == [], page.problems


def test_each_camera_at_one_site_can_be_clicked(page, tmp_path):
    _open_map(page)
    spread = {c[0] for c in SPREAD}
    # The three cameras at one site show as one numbered cluster; the others stand alone.
    cluster = page.locator("#map .cam-cluster")
    assert cluster.count() == 1 and cluster.inner_text() == "3"
    assert page.locator("#map path.cam-marker").count() == len(SPREAD)
    # spreads them around the site: each is its own marker now (clicked on itself: an open incident
    # of an earlier test may sit on top of it at this zoom)
    cluster.evaluate("el => el.click()")
    markers = page.locator("#map path.cam-marker")
    assert markers.count() == len(CAMERAS)
    assert page.locator("#map path.leaflet-cluster-spider-leg, #map path").count() > len(CAMERAS)
    page.screenshot(path=str(tmp_path / "spiderfied.png"))
    seen = []
    for i in range(markers.count()):
        markers.nth(i).click()
        seen.append(_popup_number(page))
    assert sorted(seen) == sorted(c[0] for c in CAMERAS)
    assert set(seen) - spread == {c[0] for c in SITE}
    # The popup leads to the camera's page.
    page.locator("#map path.cam-marker").first.click()
    link = page.locator(".leaflet-popup-content a")
    assert link.get_attribute("href").startswith("/cameras/")
    assert page.problems == [], page.problems


def test_search_by_management_number_and_by_address_opens_the_camera(page):
    _open_map(page)
    page.fill("#map-search", "sd-map-202")
    hits = page.locator("#map-search-results .search-hit")
    hits.first.wait_for()
    assert hits.count() == 1 and hits.first.get_attribute("data-number") == "SD-MAP-202"
    page.press("#map-search", "Enter")
    page.wait_for_selector("#map[data-focused=SD-MAP-202]")
    assert _only_popup(page).startswith("SD-MAP-202")

    # An address, typed without its spaces: the three cameras of the site; the second one is opened
    # from inside its cluster.
    page.fill("#map-search", "왕십리로222")
    page.wait_for_function("() => document.querySelectorAll('#map-search-results .search-hit').length === 3")
    assert sorted(
        page.locator("#map-search-results .search-hit").evaluate_all("nodes => nodes.map(n => n.dataset.number)")
    ) == [c[0] for c in SITE]
    page.click("#map-search-results .search-hit[data-number=SD-MAP-102]")
    page.wait_for_selector("#map[data-focused=SD-MAP-102]")
    text = _only_popup(page)
    assert text.startswith("SD-MAP-102") and SITE_ADDRESS in text

    page.fill("#map-search", "없는번호-999")
    page.wait_for_selector("#map-search-results li.muted")
    assert page.locator("#map-search-results .search-hit").count() == 0
    assert page.problems == [], page.problems


def _ring_bell(server, latitude, longitude):
    body = {
        "message_id": f"map-bell-{uuid.uuid4().hex[:8]}",
        "type": "emergency_bell",
        "payload": {"bell_id": "MAP-BELL-1", "latitude": latitude, "longitude": longitude, "camera": "SD-MAP-201"},
    }
    req = urllib.request.Request(
        server["base"] + "/api/events",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"authorization": f"Bearer {server['token']}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 202


def test_open_incidents_show_and_a_new_one_arrives_live(page, server):
    _open_map(page)
    page.wait_for_selector("#incident-feed[data-feed=live]")
    page.wait_for_selector("#map[data-incident-count='2']")
    assert page.inner_text("#incident-count") == "2"
    titles = []
    for i in range(2):
        page.locator("#map .incident-marker").nth(i).click()
        popup = page.locator(".leaflet-popup-content .incident-popup")
        popup.wait_for()
        assert "KST" in popup.inner_text() and popup.locator("a").get_attribute("href") == "/board"
        titles.append(popup.locator("p").inner_text())
        page.click(".leaflet-popup-close-button")
        page.locator(".leaflet-popup").wait_for(state="detached")
    assert sorted(titles) == sorted([REPORTED, PARKING])

    _ring_bell(server, 37.5445, 127.0376)  # no reload: the board's feed brings it
    page.wait_for_selector("#map[data-incident-count='3']")
    assert page.locator("#map .incident-marker").count() == 3
    # Hiding the layer hides the markers, not the count.
    page.uncheck("#incidents-toggle")
    assert page.locator("#map .incident-marker").count() == 0
    page.check("#incidents-toggle")
    assert page.locator("#map .incident-marker").count() == 3
    assert page.problems == [], page.problems


def test_the_map_shows_only_the_incidents_the_board_would_show_this_person(page):
    # The traffic officer sees the parking complaint on their division's camera, not the smoke report
    # (no camera) nor a bell on a parks camera: the board's own rule, through its own feed.
    _open_map(page, OFFICER)
    page.wait_for_selector("#incident-feed[data-feed=live]")
    page.wait_for_selector("#map[data-incident-count]")
    assert page.get_attribute("#map", "data-incident-count") == "1"
    page.locator("#map .incident-marker").click()
    assert page.locator(".leaflet-popup-content .incident-popup p").inner_text() == PARKING
    # It stands at its camera's site, though the report named only the camera, and leaves the cameras
    # there clickable.
    at = page.get_attribute("#map .incident-marker", "data-at")
    assert at == f"{SITE[0][3]:.6f},{SITE[0][4]:.6f}"
    page.click(".leaflet-popup-close-button")
    page.locator("#map .cam-cluster").click()
    assert page.locator("#map path.cam-marker").count() == len(CAMERAS)
    assert page.problems == [], page.problems


def test_a_reader_without_the_board_gets_cameras_but_no_incident_layer_or_feed(page, server):
    _open_map(page, INVESTIGATOR, server["totp"])
    assert page.get_attribute("#map", "data-camera-count") == str(len(CAMERAS))
    assert page.locator("#legend-incidents").count() == 0
    page.wait_for_timeout(300)
    assert page.locator("#map .incident-marker").count() == 0
    ws = server["base"].replace("http://", "ws://")
    assert not [u for u in page.requests if u.startswith(ws)]
    assert page.problems == [], page.problems
