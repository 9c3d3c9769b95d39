"""The demo path in a real browser: ``gwanje demo`` as a newcomer runs it, then an operator opens a demo
camera's live view and sees frames, plays back a minute of its recording, exports that minute and
verifies the downloaded copy (its SHA-256 is the one the center recorded; it plays one minute).

The demo runs as its own process (the real command, no broker so that it leaves the machine's shared
Mosquitto alone), with its packaged sample clips, RTSP server and recorder; nothing is prepared by hand.
"""

import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import timedelta, timezone

import pytest
import sqlalchemy as sa

from gwanje.accounts.demo import DEMO_PASSWORD
from gwanje.cli.demo_wiring import video_problem
from gwanje.core.clock import KST
from gwanje.core.db import Database
from gwanje.registry.models import Camera
from gwanje.video import probe
from gwanje.video.models import RecordingSegment
from tests.e2e.test_browser import _free_port, _unavailable, assets, browser  # noqa: F401 - fixtures
from tests.support import wait_healthy

# One worker runs this module's tests, in order: they share one module-scoped server and what earlier tests
# left on it (pytest-xdist, --dist loadgroup).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-demo")]
MINUTE = 60.0
# A stream-copied cut of a minute joined from several segments starts on a keyframe and loses a few
# seconds at the joins (measured: 56.8 s of 60); more than this is a recording gap.
SHORT_BY_AT_MOST = 5.0


@pytest.fixture(scope="module")
def demo(tmp_path_factory, assets):  # noqa: F811 - the assets fixture
    problem = video_problem()
    if problem:
        _unavailable(f"the demo's video needs ffmpeg and GStreamer: {problem}")
    var = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWANJE_")}
    port = _free_port()
    env.update(
        GWANJE_VAR_DIR=str(var / "var"),
        GWANJE_PORT=str(port),
        GWANJE_DEMO_CAMERAS="2",
        GWANJE_MQTT_URL="mqtt://127.0.0.1:1",  # nothing answers: the demo says MQTT is off
        GWANJE_ESCALATION_SECONDS="0",
    )
    log = var / "demo.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gwanje", "demo"], env=env, cwd=var, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, base, log, timeout=90)
        db = Database(f"sqlite:///{var / 'var' / 'gwanje.db'}")
        with db.reading() as s:
            cameras = list(s.scalars(sa.select(Camera).where(Camera.stream_url.is_not(None)).order_by(Camera.id)))
        yield {"base": base, "var": var / "var", "db": db, "cameras": cameras, "log": log}
        db.dispose()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _recorded_since(db, camera_id):
    with db.reading() as s:
        first, last = s.execute(
            sa.select(sa.func.min(RecordingSegment.started_at), sa.func.max(RecordingSegment.ended_at)).where(
                RecordingSegment.camera_id == camera_id
            )
        ).one()
    return first, last


def _kst_input(at):
    return at.astimezone(KST).strftime("%Y-%m-%dT%H:%M")


def test_the_demo_cameras_streams_are_sealed_and_the_demo_says_what_is_live(demo):
    log = demo["log"].read_text()
    password = (demo["var"] / "demo-rtsp-password").read_text().strip()
    assert len(demo["cameras"]) == 2
    for camera in demo["cameras"]:
        assert camera.stream_credentials and password not in camera.stream_credentials  # sealed
        assert password not in camera.stream_url and "@" not in camera.stream_url  # stored without them
    assert password not in log
    assert "off: no broker answers at mqtt://127.0.0.1:1 " in log
    assert "POST http://127.0.0.1:" in log and "mosquitto_pub" in log
    assert "demo video: 2 cameras play the sample clips and are recorded" in log


def test_an_operator_watches_live_plays_back_a_minute_exports_it_and_verifies_the_copy(browser, demo, tmp_path):  # noqa: F811
    camera = demo["cameras"][0]
    context = browser.new_context(
        base_url=demo["base"],
        viewport={"width": 1400, "height": 1000},
        locale="ko-KR",
        timezone_id="Asia/Seoul",
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems = []
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    try:
        path = f"/cameras/{camera.id}"
        page.goto(path)
        page.fill("#username", "agent")  # the policy's demo monitoring agent
        page.fill("#password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**{path}")
        assert password_free(page, demo)

        # Live: frames of the sample clip, from the demo's RTSP server.
        page.wait_for_selector("[data-video-panel] [data-video-action=live]")
        page.click("[data-video-panel] [data-video-action=live]")
        page.wait_for_function(
            "() => { const i = document.querySelector('[data-video-stage] img[data-role=live]'); "
            "return i && i.naturalWidth > 0; }",
            timeout=45_000,
        )
        page.wait_for_selector("[data-video-stage][data-state=live]")
        assert page.evaluate("document.querySelector('[data-video-stage] img[data-role=live]').naturalWidth") == 768
        page.click("[data-video-panel] [data-video-action=stop]")

        # The recorder has been storing the camera since the demo started: wait until a whole minute of
        # the clock (the form's precision) is recorded.
        deadline = time.monotonic() + 200
        while True:
            first, last = _recorded_since(demo["db"], camera.id)
            if first and last:
                start = (first.replace(tzinfo=timezone.utc) + timedelta(minutes=1)).replace(second=0, microsecond=0)
                end = start + timedelta(seconds=MINUTE)
                if last.replace(tzinfo=timezone.utc) >= end:
                    break
            assert time.monotonic() < deadline, f"no whole minute recorded: {first} … {last}"
            time.sleep(2)
        page.fill("[data-video-playback] input[name=start]", _kst_input(start))
        page.fill("[data-video-playback] input[name=end]", _kst_input(end))

        # Playback of that minute.
        page.click("[data-video-panel] [data-video-action=playback]")
        assert _settled(page, "playback") == "playback", (_stage_text(page), problems)
        page.wait_for_function(
            "() => { const v = document.querySelector('[data-video-stage] video[data-role=clip]'); "
            "return v && v.readyState >= 1 && isFinite(v.duration); }"
        )
        duration = page.evaluate("document.querySelector('[data-video-stage] video[data-role=clip]').duration")
        assert MINUTE - SHORT_BY_AT_MOST <= duration <= MINUTE + 1.5, duration

        # Export the same minute and download the copy.
        page.click("[data-video-panel] [data-video-action=export]")
        assert _settled(page, "exported") == "exported", (_stage_text(page), problems)
        link = page.locator("[data-video-stage] [data-role=download] a")
        href = link.get_attribute("href")
        clip_id = int(href.split("/api/video/clips/", 1)[1].split("/", 1)[0])
        with page.expect_download() as info:
            link.click()
        saved = tmp_path / "export.mp4"
        info.value.save_as(saved)

        # Verify: the copy is the one the center recorded (SHA-256), and it is that minute.
        record = context.request.get(f"/api/video/clips/{clip_id}")
        assert record.status == 200, record.text()
        recorded = record.json()
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == recorded["sha256"]
        assert recorded["kind"] == "export" and recorded["camera_id"] == camera.id
        assert saved.stat().st_size == recorded["bytes"]
        stored = probe(saved)
        seconds = float(stored["format"]["duration"])
        assert MINUTE - SHORT_BY_AT_MOST <= seconds <= MINUTE + 1.5, json.dumps(stored["format"])
        assert abs(seconds - recorded["seconds"]) <= 1.0  # the record states the copy's true length
        assert [s["codec_type"] for s in stored["streams"]] == ["video"]  # never sound (PIPA Art. 25 ⑤)
        assert problems == [], problems
    finally:
        context.close()


def _settled(page, wanted):
    """The stage's state once it is ``wanted`` or has failed (so a failure shows why at once)."""
    page.wait_for_function(
        "(w) => { const s = document.querySelector('[data-video-stage]').getAttribute('data-state'); "
        "return s === w || s === 'failed' || s === 'refused'; }",
        arg=wanted,
        timeout=60_000,
    )
    return page.get_attribute("[data-video-stage]", "data-state")


def _stage_text(page):
    return page.inner_text("[data-video-stage]")


def password_free(page, demo):
    """No page shows the demo cameras' stream password."""
    password = (demo["var"] / "demo-rtsp-password").read_text().strip()
    return password not in page.content()
