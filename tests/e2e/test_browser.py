"""The console in a real browser: Debian's Chromium driven by Playwright against a real uvicorn.

Never runs ``playwright install``: it uses /usr/bin/chromium (``apt-get install chromium``).
Under CI (``CI=true``) a missing Chromium, Playwright or front-end asset folder fails the test;
elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gwanje.accounts import service as accounts
from gwanje.core.audit import Actor
from gwanje.core.db import Database
from gwanje.core.migrate import upgrade
from gwanje.policy import load_default
from gwanje.registry import service as registry
from gwanje.registry.schemas import CameraCreate
from tests.support import wait_healthy

# One worker runs this module's tests, in order: they share one module-scoped server and what earlier tests
# left on it (pytest-xdist, --dist loadgroup).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-registry")]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VENDOR = ROOT / "src" / "gwanje" / "static" / "vendor"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
USERNAME, PASSWORD = "agent.kim", "correct-horse-battery"

# (management number, department, primary purpose, latitude, longitude, status, road address)
CAMERAS = [
    ("SD-B-001", "autonomous_admin", "crime_prevention", 37.5633, 127.0371, "active", "서울특별시 성동구 고산자로 270"),
    ("SD-B-002", "autonomous_admin", "crime_prevention", 37.5480, 127.0445, "fault", "서울특별시 성동구 왕십리로 83"),
    ("SD-B-003", "traffic_guidance", "illegal_parking", 37.5571, 127.0290, "active", "서울특별시 성동구 마조로 10"),
    (
        "SD-B-004",
        "parks_green",
        "facility_management",
        37.5443,
        127.0374,
        "maintenance",
        "서울특별시 성동구 뚝섬로 273",
    ),
    ("SD-B-005", "sanitation", "illegal_dumping", 37.5524, 127.0193, "active", "서울특별시 성동구 청계천로 500"),
    ("SD-B-006", "police_station", "crime_prevention", 37.5612, 127.0553, "active", "서울특별시 성동구 광장로 9"),
    ("SD-B-007", "traffic_guidance", "green_parking", 37.5380, 127.0540, "active", "서울특별시 성동구 성수이로 51"),
]


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(url: str) -> None:
    db = Database(url)
    upgrade(db.engine)
    policy = load_default()
    system = Actor.system("test-seed")
    with db.uow() as uow:
        accounts.add_user(uow, system, policy, accounts.NewUser(USERNAME, "김관제", "monitoring_agent", PASSWORD))
        for number, dept, purpose, lat, lon, status, address in CAMERAS:
            group = purpose if purpose in ("green_parking", "bicycle_storage") else None
            registry.create_camera(
                uow,
                system,
                policy,
                CameraCreate(
                    management_number=number,
                    department=dept,
                    primary_purpose=purpose,
                    camera_group=group,
                    latitude=lat,
                    longitude=lon,
                    status=status,
                    site={"road_address": address},
                    installed_by="police" if dept == "police_station" else "district",
                ),
            )
        uow.commit()
    db.dispose()


@pytest.fixture(scope="module")
def assets() -> None:
    needed = (
        VENDOR / "leaflet" / "leaflet.js",
        VENDOR / "htmx" / "htmx.min.js",
        VENDOR / "markercluster" / "leaflet.markercluster.js",
    )
    if not all(path.exists() for path in needed):
        done = subprocess.run(
            ["bash", str(ROOT / "scripts" / "install-assets.sh")], capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            _unavailable(f"front-end assets missing and scripts/install-assets.sh failed: {done.stderr[-500:]}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, assets: None) -> str:
    var = tmp_path_factory.mktemp("browser-var")
    url = f"sqlite:///{var / 'gwanje.db'}"
    _seed(url)
    port = _free_port()
    # Settings refuse unknown GWANJE_* variables, so the child gets only the ones it knows.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWANJE_")}
    env.update(GWANJE_DATABASE_URL=url, GWANJE_VAR_DIR=str(var), GWANJE_SECRET_KEY="b" * 48)
    log = open(var / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "gwanje.web.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=var,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        log.flush()
        wait_healthy(proc, base, var / "server.log", timeout=30)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing: apt-get install -y chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright (Python) is not installed: pip install -e '.[test]'")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(
        base_url=server, viewport={"width": 1400, "height": 900}, locale="ko-KR", timezone_id="Asia/Seoul"
    )
    p = context.new_page()
    p.set_default_timeout(15_000)
    problems: list[str] = []
    p.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    p.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    p.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    p.problems = problems
    yield p
    context.close()


def _login(page: Any) -> None:  # a playwright Page
    page.goto("/map")
    assert "/login" in page.url  # anonymous: sent to the sign-in form, keeping where we were going
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/map")


def test_map_draws_the_district_boundary_and_one_marker_per_camera(page, tmp_path):
    _login(page)
    page.wait_for_selector("#map[data-state=loaded]")
    n = len(CAMERAS)
    assert page.get_attribute("#map", "data-camera-count") == str(n)
    assert page.locator("#map path.cam-marker").count() == n
    assert page.locator("#map path.district-boundary").count() == 1
    assert page.get_attribute("#map", "data-boundary") == "drawn"
    # Coloured by primary purpose: three crime-prevention cameras (two district, one police).
    crime = sum(1 for c in CAMERAS if c[2] == "crime_prevention")
    assert page.locator("path.cam-crime_prevention").count() == crime == 3
    assert page.locator("[data-count-for=crime_prevention]").inner_text() == "3"
    assert "카메라 7대" in page.inner_text("#map-count")
    # Hiding a purpose in the legend removes its markers.
    page.uncheck("#legend-purposes input[value=crime_prevention]")
    assert page.locator("#map path.cam-marker").count() == n - crime
    page.screenshot(path=str(tmp_path / "map.png"), full_page=True)
    assert page.problems == [], page.problems  # CSP violations and script errors show up here


def test_operator_filters_the_list_reads_annex1_and_switches_to_english(page):
    _login(page)
    page.goto("/cameras")
    assert page.locator("#camera-table tbody tr").count() == len(CAMERAS)
    page.select_option("#department", "traffic_guidance")  # htmx swaps the results in place
    # A function, not an expression string: Playwright evals strings in the page, which the CSP forbids.
    page.wait_for_function("() => document.querySelector('#camera-total').dataset.total === '2'")
    assert "department=traffic_guidance" in page.url
    page.click("#camera-table a >> nth=0")
    page.wait_for_selector("#camera-map[data-state=loaded]")
    assert page.locator("#camera-map path.cam-marker").count() == 1

    page.goto("/reports/annex1")
    # Cameras in fault or maintenance are still installed: only retired ones leave Annex 1.
    assert page.locator("#annex1-total td[data-col=cameras]").inner_text() == str(len(CAMERAS))
    assert page.locator("#annex1-total td[data-col=sites]").inner_text() == str(len(CAMERAS))
    assert page.locator("tr[data-department=traffic_guidance] th.dept").get_attribute("rowspan") == "2"

    page.click("a[hreflang=en]")
    page.wait_for_selector("html[lang=en]")
    assert "/reports/annex1" in page.url
    nav = page.inner_text(".mainnav").split()
    assert not [w for w in nav if any("\uac00" <= ch <= "\ud7a3" for ch in w)], nav  # all of it in English
    assert nav[:9] == [
        "Situation",
        "board",
        "Ingest",
        "health",
        "Cameras",
        "Map",
        "Annex",
        "1",
        "report",
    ]
    assert page.locator("#annex1-total th").inner_text() == "Total"
    assert page.problems == [], page.problems
