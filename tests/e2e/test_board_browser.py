"""The situation board in a real browser: a bell appears without reload and is worked from the board.

The board is opened by the manager in charge (district_manager, a supervisor who sees and may act
on every incident), so nothing depends on the wall clock's day/night duty split.

The MQTT test runs the real chain: Mosquitto (127.0.0.1:1883) → ``gwanje consume`` (a separate
process) → NATS (127.0.0.1:4222) → the web app → WebSocket → the open page. Under CI a missing
broker, Chromium or Playwright fails; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gwanje.accounts import service as accounts
from gwanje.core.audit import Actor
from gwanje.core.db import Database
from gwanje.core.migrate import upgrade
from gwanje.policy import load_default
from gwanje.registry import service as registry
from gwanje.registry.schemas import CameraCreate
from tests.conftest import fresh_totp
from tests.e2e.test_browser import _unavailable, assets, browser  # noqa: F401 - assets and browser are fixtures

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

# One worker runs this module's tests, in order: they share one module-scoped server and what earlier tests
# left on it (pytest-xdist, --dist loadgroup).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-board")]

ROOT = Path(__file__).resolve().parents[2]
USERNAME, PASSWORD = "manager.han", "correct-horse-battery"
MQTT = ("127.0.0.1", 1883)
NATS = ("127.0.0.1", 4222)
RUN = uuid.uuid4().hex[:10]
TOPIC_ROOT = f"gwanje/test-board-{RUN}"
CAMERAS = [  # management number, department, purpose, lat, lon
    ("SD-BB-001", "autonomous_admin", "crime_prevention", 37.5640, 127.0369),
    ("SD-BB-002", "autonomous_admin", "crime_prevention", 37.5630, 127.0380),
    ("SD-BB-003", "parks_green", "facility_management", 37.5650, 127.0350),
]


def app_factory():
    """The app the uvicorn child serves."""
    from gwanje.web.app import create_app

    return create_app()


def _reachable(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=2):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(url: str) -> dict[str, str]:
    db = Database(url)
    upgrade(db.engine)
    policy = load_default()
    system = Actor.system("test-seed")
    with db.uow() as uow:
        _, secret = accounts.add_user(
            uow, system, policy, accounts.NewUser(USERNAME, "한관리", "district_manager", PASSWORD)
        )
        device, _ = accounts.add_user(uow, system, policy, accounts.NewUser("bell-http", "bell", "device", PASSWORD))
        token = accounts.issue_token(uow, system, device, "board test")
        for number, dept, purpose, lat, lon in CAMERAS:
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
                    site={"road_address": f"서울특별시 성동구 {number}"},
                    installed_by="district",
                ),
            )
        uow.commit()
    db.dispose()
    return {"totp": secret, "device_token": token}


class Stack:
    def __init__(self, base: str, secrets: dict[str, str], mqtt: bool, var: Path):
        self.base, self.secrets, self.mqtt, self.var = base, secrets, mqtt, var


def _wait(proc: subprocess.Popen, ready, log: Path, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + 40
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory, assets):  # noqa: F811 - the assets fixture
    var = tmp_path_factory.mktemp("board-var")
    url = f"sqlite:///{var / 'gwanje.db'}"
    secrets = _seed(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWANJE_")}
    env.update(GWANJE_DATABASE_URL=url, GWANJE_VAR_DIR=str(var), GWANJE_SECRET_KEY="c" * 48)
    brokers = _reachable(MQTT) and _reachable(NATS)
    if brokers:
        # The consumer is another process: NATS carries its events to the web app's consoles.
        env["GWANJE_BUS_URL"] = f"nats://{NATS[0]}:{NATS[1]}?subject=gwanje.test.board.{RUN}"
        env["GWANJE_MQTT_URL"] = f"mqtt://{MQTT[0]}:{MQTT[1]}"
    procs = []
    try:
        port = _free_port()
        log = var / "server.log"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "tests.e2e.test_board_browser:app_factory",
                "--app-dir",
                str(ROOT),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            cwd=var,
        )
        procs.append(server)
        base = f"http://127.0.0.1:{port}"
        _wait(server, lambda: _healthy(base), log, "uvicorn")
        if brokers:
            clog = var / "consumer.log"
            consumer = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gwanje",
                    "consume",
                    "--client-id",
                    f"gwanje-board-{RUN}",
                    "--topic-root",
                    TOPIC_ROOT,
                    "--batch-ms",
                    "5",
                ],
                env=env,
                stdout=clog.open("w"),
                stderr=subprocess.STDOUT,
                cwd=var,
            )
            procs.append(consumer)
            _wait(consumer, lambda: "consuming" in clog.read_text(), clog, "gwanje consume")
        yield Stack(base, secrets, brokers, var)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def board(browser, stack):  # noqa: F811 - the browser fixture
    """One signed-in board page for the module (a TOTP code may be used only once)."""
    context = browser.new_context(
        base_url=stack.base, viewport={"width": 1500, "height": 900}, locale="ko-KR", timezone_id="Asia/Seoul"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    page.problems = problems
    page.goto("/board")
    assert "/login" in page.url
    page.fill("#username", USERNAME)
    page.fill("#password", PASSWORD)
    page.fill("#otp", fresh_totp(stack.secrets["totp"]))
    page.click("button[type=submit]")
    page.wait_for_url("**/board")
    page.wait_for_selector("#board[data-live=open]")
    page.wait_for_selector("#board-map[data-state=loaded]")
    yield page
    context.close()


def _bell_message(bell: str) -> bytes:
    return json.dumps(
        {
            "message_id": f"{bell}-{uuid.uuid4().hex[:8]}",
            "type": "emergency_bell",
            "payload": {"bell_id": bell, "latitude": 37.5636, "longitude": 127.0369, "camera": "SD-BB-001"},
        }
    ).encode()


def _publish_mqtt(bell: str) -> None:
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bell-{RUN}", protocol=paho.MQTTv5)
    client.connect(*MQTT)
    client.loop_start()
    try:
        info = client.publish(f"{TOPIC_ROOT}/bells/{bell}", _bell_message(bell), qos=1)
        info.wait_for_publish(10)
        assert info.is_published()
    finally:
        client.loop_stop()
        client.disconnect()


def _post_http(stack: Stack, bell: str) -> None:
    req = urllib.request.Request(
        stack.base + "/api/events",
        data=_bell_message(bell),
        method="POST",
        headers={"authorization": f"Bearer {stack.secrets['device_token']}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 202


def _row_for(page: Page, bell: str) -> Locator:
    row = page.locator("#incident-list tr.incident", has_text=bell)
    row.wait_for()
    return row


def test_an_mqtt_bell_appears_on_the_open_board_without_reload_and_is_acknowledged(board, stack):
    if not stack.mqtt:
        _unavailable(f"MQTT at {MQTT[0]}:{MQTT[1]} and NATS at {NATS[0]}:{NATS[1]} are needed for this test")
    board.evaluate("window.__notReloaded = true")
    _publish_mqtt("B-MQTT-1")
    row = _row_for(board, "B-MQTT-1")
    assert board.evaluate("window.__notReloaded") is True  # it came over the WebSocket, not a reload
    assert row.get_attribute("data-status") == "new"
    assert "신규" in row.inner_text() and "비상벨" in row.inner_text()
    incident_id = row.get_attribute("data-id")
    assert board.locator(f"#board-map path.inc-marker[data-id='{incident_id}']").count() == 1

    row.click()
    board.wait_for_selector(f"#detail[data-id='{incident_id}'] #detail-actions button[data-action=acknowledge]")
    board.wait_for_selector("#nearby-list li[data-camera=SD-BB-001]")
    assert board.locator("#board-map path.near-cam").count() == len(CAMERAS)
    assert board.locator("#sop-list li").count() == 4
    board.click("#detail-actions button[data-action=acknowledge]")
    board.wait_for_selector(f"#incident-list tr[data-id='{incident_id}'][data-status=acknowledged]")
    board.wait_for_selector("#detail-status[data-status=acknowledged]")
    board.wait_for_selector("#timeline li[data-action=acknowledge]")
    assert board.evaluate("window.__notReloaded") is True
    assert board.problems == [], board.problems


def test_a_bell_over_http_is_worked_from_the_board_sop_and_dispatch(board, stack, tmp_path):
    board.evaluate("window.__notReloaded = true")
    _post_http(stack, "B-HTTP-1")
    row = _row_for(board, "B-HTTP-1")
    incident_id = row.get_attribute("data-id")
    row.click()
    detail = f"#detail[data-id='{incident_id}']"
    board.wait_for_selector(f"{detail} #sop-list li[data-step=view_cameras][data-state=todo]")
    board.click("#sop-list li[data-step=view_cameras] button[data-sop=tick]")
    board.wait_for_selector("#sop-list li[data-step=view_cameras][data-state=done]")
    board.click("#sop-list li[data-step=talk_to_caller] button[data-sop=skip]")
    board.fill("#sop-list li[data-step=talk_to_caller] .skip-form input", "통화 연결 안 됨")
    board.click("#sop-list li[data-step=talk_to_caller] .skip-form button[type=submit]")
    board.wait_for_selector("#sop-list li[data-step=talk_to_caller][data-state=skipped]")
    # Skipping a step alerts the supervisor, who is the one looking at this board.
    board.wait_for_selector("#alerts li")

    board.click("#detail-actions button[data-action=acknowledge]")
    board.wait_for_selector("#detail-actions button[data-action=dispatch]")
    board.click("#detail-actions button[data-action=dispatch]")
    assert board.locator("#detail-error").is_visible()  # a dispatch needs a call sign
    board.fill("#dispatch-unit", "성동12")
    board.click("#detail-actions button[data-action=dispatch]")
    board.wait_for_selector(f"#incident-list tr[data-id='{incident_id}'][data-status=dispatched]")
    board.wait_for_selector("#dispatch-list li", state="attached")
    assert "성동12" in board.inner_text("#dispatch-list")
    board.screenshot(path=str(tmp_path / "board.png"))
    assert board.evaluate("window.__notReloaded") is True
    assert board.problems == [], board.problems


def test_the_112_view_labels_itself_and_shows_police_routed_incidents_only(board, stack):
    body = json.dumps(
        {
            "message_id": f"useoul-{uuid.uuid4().hex[:8]}",
            "type": "u_seoul_safety",
            "payload": {
                "person_id": "P-112",
                "category": "child",
                "latitude": 37.55,
                "longitude": 127.04,
                "accuracy_m": 10,
            },
        }
    ).encode()
    req = urllib.request.Request(
        stack.base + "/api/events",
        data=body,
        method="POST",
        headers={"authorization": f"Bearer {stack.secrets['device_token']}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10):
        pass
    board.goto("/board/112")
    board.wait_for_selector("#board[data-view='112'][data-live=open]")
    assert "112 상황실" in board.inner_text("h1")
    board.wait_for_selector("#incident-list tr.incident[data-type=emergency_bell]")
    assert board.locator("#incident-list tr.incident[data-type=u_seoul_safety]").count() == 0
    board.goto("/board")
    board.wait_for_selector("#incident-list tr.incident[data-type=u_seoul_safety]")
    assert board.problems == [], board.problems


def test_irreversible_actions_ask_first_and_the_panel_names_the_routing_clause(board, stack):
    """Issue 9 §5: 오경보 처리, 취소, 종결 act only after the person confirms; the detail panel shows
    the clause the routing rests on, by its text, not its id."""
    _post_http(stack, "B-CONFIRM-1")
    row = _row_for(board, "B-CONFIRM-1")
    incident_id = row.get_attribute("data-id")
    row.click()
    detail = f"#detail[data-id='{incident_id}']"
    board.wait_for_selector(f"{detail} #detail-actions button[data-action=false_alarm]")
    clause = board.locator("#detail-clause")
    code = clause.get_attribute("data-clause")
    text = clause.inner_text()
    policy = load_default()
    assert code and policy.clause(code).ko in text and f"{code}:" not in text and not text.startswith(code)
    assert "비상벨 B-CONFIRM-1" in board.inner_text("#detail-text")

    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    board.once("dialog", dismiss)
    board.click("#detail-actions button[data-action=false_alarm]")
    board.wait_for_timeout(1500)  # a request, had one been sent, would have come back by now
    assert asked and "오경보" in asked[0] and "되돌릴 수 없습니다" in asked[0]
    assert board.get_attribute("#detail-status", "data-status") == "new"
    assert row.get_attribute("data-status") == "new"

    def accept(dialog):
        asked.append(dialog.message)
        dialog.accept()

    board.once("dialog", accept)
    board.click("#detail-actions button[data-action=false_alarm]")
    board.wait_for_selector("#detail-status[data-status=false_alarm]")
    assert len(asked) == 2
    # (Acknowledging asks nothing: the tests above click it with no dialog handler, and Playwright
    # would dismiss any question, leaving the incident new.)
    assert board.problems == [], board.problems
