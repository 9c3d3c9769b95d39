"""``gwanje demo`` works end to end on a fresh database (both engines): its MQTT consumer starts when a
broker answers at the default address and a bell published as ``docs/events.md`` shows it reaches the
live feed within a second; every ``mosquitto_pub`` line it prints raises its Annex 2 situation; its hot
list makes plate hits happen; its simulator's pace and self-tidying keep the board bounded.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from gwanje.cli import demo_wiring
from gwanje.core.settings import Settings
from gwanje.registry.seed import seed_seongdong
from gwanje.situations import live, simulator
from gwanje.situations.models import Incident, IncidentEvent
from gwanje.situations.mqtt import DEFAULT_URL
from tests.integration.mqtt_support import SYSTEM_BROKER, reachable, unavailable, wait_for

DOCS_EVENTS = Path(__file__).resolve().parents[2] / "docs" / "events.md"
MOSQUITTO_PUB = shutil.which("mosquitto_pub")


@pytest.fixture
def h(harness, monkeypatch):
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.2)
    seed_seongdong(harness.db, harness.policy)
    return harness


def _docs_bell_command():
    """The bell example of docs/events.md, exactly as a newcomer would paste it."""
    text = DOCS_EVENTS.read_text(encoding="utf-8")
    block = re.search(r"```sh\n(mosquitto_pub .*?)\n```", text, re.S)
    assert block, "docs/events.md has no mosquitto_pub example"
    return shlex.split(block.group(1).replace("\\\n", " "))


def _publish(argv):
    if MOSQUITTO_PUB is None:
        unavailable("mosquitto_pub not installed (apt-get install mosquitto-clients)")
    result = subprocess.run([MOSQUITTO_PUB, *argv[1:]], capture_output=True, timeout=10)
    assert result.returncode == 0, result.stderr


def _settings(h):
    # No GWANJE_MQTT_URL: the demo must find the broker at the default address by itself.
    return Settings(database_url=h.db.url, var_dir=h.settings.var_dir, demo_cameras=0, mqtt_url="")


@pytest.fixture
def services(h):
    if not reachable(*SYSTEM_BROKER):
        unavailable(f"no MQTT broker at {DEFAULT_URL}")
    # A client id of its own: the machine's broker is shared with other runs.
    started = demo_wiring.start_demo_services(
        h.db, h.policy, _settings(h), hotlist=h.app.state.hotlist.match, client_id=f"demo-test-{uuid.uuid4().hex[:8]}"
    )
    try:
        assert started.consumer is not None and started.broker_url == DEFAULT_URL
        assert started.consumer.connected.wait(10)
        time.sleep(0.3)  # the subscription is acknowledged
        yield started
    finally:
        started.stop()


# The demo consumes the default topic root on the machine's broker, and these tests publish the docs' own
# messages there: a second worker's demo consumer would take them too. One worker runs them, one after another.
SHARED_BROKER_TOPICS = pytest.mark.xdist_group("mqtt-default-topic-root")


def _ws_url(h):
    token = h.token("district_manager")["Authorization"].split(" ", 1)[1]
    return f"{live.PATH}?token={token}"


@SHARED_BROKER_TOPICS
def test_the_docs_bell_published_with_mosquitto_pub_is_on_the_live_board_within_a_second(h, services):
    argv = _docs_bell_command()
    bell = argv[argv.index("-t") + 1].rsplit("/", 1)[1]
    with h.client.websocket_connect(_ws_url(h)) as ws:
        assert ws.receive_json()["kind"] == "snapshot"
        sent = time.monotonic()
        _publish(argv)
        while True:
            msg = ws.receive_json()
            assert time.monotonic() - sent < 1.0, "the bell did not reach the live feed within 1 s"
            if msg["kind"] == "incident" and msg["incident"].get("device_id") == bell:
                break
    assert msg["change"] == "created" and msg["incident"]["type"] == "emergency_bell"
    board = h.client.get("/api/incidents", headers=h.token("district_manager"))
    assert board.status_code == 200
    assert [r["id"] for r in board.json() if r["device_id"] == bell] == [msg["incident"]["id"]]


@SHARED_BROKER_TOPICS
def test_each_printed_mosquitto_pub_line_raises_its_annex_2_situation(h, services):
    lines = demo_wiring.howto_lines(h.db, h.policy, services.broker_url, services.hot_plates)
    commands = [shlex.split(line) for line in lines if line.strip().startswith("mosquitto_pub")]
    kinds = [re.search(r'"type":"([a-z_]+)"', line).group(1) for line in lines if "mosquitto_pub" in line]
    assert kinds == ["emergency_bell", "u_seoul_safety", "video_analytics", "plate_read", "camera_fault"]
    # Real devices of the registry: the camera the lines name exists.
    camera = re.search(r'"camera":"([^"]+)"', lines[1]).group(1)
    with h.db.reading() as s:
        from gwanje.registry.models import Camera

        assert s.scalar(sa.select(sa.func.count()).select_from(Camera).where(Camera.management_number == camera)) == 1
    for argv in commands:
        _publish(argv)
    ids = [re.search(r'"message_id":"([^"]+)"', line).group(1) for line in lines if "mosquitto_pub" in line]

    def raised():
        with h.db.reading() as s:
            from gwanje.situations.models import InboxMessage

            return list(
                s.scalars(
                    sa.select(Incident.type)
                    .join(InboxMessage, InboxMessage.id == Incident.inbox_id)
                    .where(InboxMessage.message_id.in_(ids))
                )
            )

    got = wait_for(lambda: len(raised()) == 5 and raised(), timeout=10, what="five incidents")
    # The plate read is of a hot-list plate: it raises a wanted-vehicle hit, not nothing.
    assert len(got) == 5 and "emergency_bell" in got and "camera_fault" in got


def test_the_demo_hot_list_is_loaded_once_and_never_replaces_a_real_one(h):
    plates = demo_wiring.load_demo_hotlist(h.db)
    assert len(plates) == demo_wiring.DEMO_HOTLIST_SIZE
    assert demo_wiring.load_demo_hotlist(h.db) == plates  # a second start changes nothing
    from gwanje.core.audit import Actor
    from gwanje.situations.hotlist import service as hotlist_service

    hotlist_service.replace_hotlist(h.db, Actor.system("police"), [("12가3456", "wanted")])
    assert demo_wiring.load_demo_hotlist(h.db) == ["12가3456"]


def test_without_a_broker_the_demo_says_mqtt_is_off_and_how_to_turn_it_on(h):
    settings = Settings(
        database_url=h.db.url, var_dir=h.settings.var_dir, demo_cameras=0, mqtt_url="mqtt://127.0.0.1:1"
    )
    started = demo_wiring.start_demo_services(h.db, h.policy, settings)
    try:
        assert started.consumer is None and started.broker_url is None
        text = "\n".join(demo_wiring.report_lines(started, "127.0.0.1", 8000))
        assert "off: no broker answers at mqtt://127.0.0.1:1 " in text and "GWANJE_MQTT_URL" in text
        assert "POST http://127.0.0.1:8000/api/events" in text
    finally:
        started.stop()


def test_the_simulators_default_pace_keeps_the_board_bounded_over_an_hour_with_a_fast_clock(h):
    """An hour of the demo feed, simulated in seconds: the board holds what an operator can follow."""
    clock = [datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc)]  # 10:00 KST

    def now():
        return clock[0]

    hot = demo_wiring.load_demo_hotlist(h.db)
    mix = simulator.EventMix(simulator.load_cameras(h.db), hot, seed=11, clock=now)
    sender = simulator.DirectSender(h.db, h.policy, clock=now)
    step = timedelta(seconds=1 / simulator.DEMO_RATE)
    next_tidy = clock[0] + timedelta(seconds=simulator.DEMO_TIDY_EVERY_S)
    peak, minutes = 0, 60
    end = clock[0] + timedelta(minutes=minutes)
    while clock[0] < end:
        sender.send([mix.next()])
        clock[0] += step
        if clock[0] >= next_tidy:
            simulator.tidy_simulated_incidents(h.db, h.policy, now=clock[0])
            next_tidy += timedelta(seconds=simulator.DEMO_TIDY_EVERY_S)
            peak = max(peak, simulator.open_incident_count(h.db))
    with h.db.reading() as s:
        raised = s.scalar(sa.select(sa.func.count()).select_from(Incident))
        types = dict(s.execute(sa.select(Incident.type, sa.func.count()).group_by(Incident.type)).all())
        tidied = list(s.scalars(sa.select(IncidentEvent).where(IncidentEvent.action == "cancel")))
    per_minute = raised / minutes
    assert 1.0 <= per_minute <= 6.0, f"{per_minute:.1f} incidents a minute"  # a few a minute
    # Bounded: at most what five minutes of the feed raise, plus some slack; never the whole hour's.
    assert peak <= 6 * 5 + 10, peak
    assert simulator.open_incident_count(h.db) < raised / 3
    # The simulator said who tidied and why, on each incident's timeline.
    assert tidied and all(e.actor_name == simulator.SIMULATOR_NAME and e.to_status == "cancelled" for e in tidied)
    assert all("simulated incident tidied" in (e.note or "") for e in tidied)
    # The demo hot list makes wanted-vehicle hits happen.
    assert (
        sum(
            n
            for t, n in types.items()
            if t not in {"video_analytics", "emergency_bell", "u_seoul_safety", "camera_fault"}
        )
        > 0
    ), types


def test_an_incident_someone_took_on_is_never_tidied(h):
    clock = datetime(2026, 11, 20, 1, 0, tzinfo=timezone.utc)
    mix = simulator.EventMix(simulator.load_cameras(h.db), seed=3, clock=lambda: clock)
    sender = simulator.DirectSender(h.db, h.policy, clock=lambda: clock)
    msgs = []
    while len(msgs) < 2:
        m = mix.next()
        if m.type == "video_analytics":
            msgs.append(m)
    sender.send(msgs)
    with h.db.reading() as s:
        first, second = s.scalars(sa.select(Incident).order_by(Incident.id)).all()
    from gwanje.core.audit import Actor
    from gwanje.situations import service

    service.act(h.db, h.policy, Actor(id=1, name="op", role=first.recognising_role), first.id, "acknowledge", now=clock)
    assert simulator.tidy_simulated_incidents(h.db, h.policy, now=clock + timedelta(minutes=4)) == []
    assert simulator.tidy_simulated_incidents(h.db, h.policy, now=clock + timedelta(minutes=6)) == [second.id]
    with h.db.reading() as s:
        assert s.get(Incident, first.id).status == "acknowledged"
        assert s.get(Incident, second.id).status == "cancelled"


def test_the_demo_rtsp_server_ends_with_the_demo_even_when_it_is_killed(tmp_path):
    problem = demo_wiring.video_problem()
    if problem:
        unavailable(problem)
    script = (
        "import sys; from pathlib import Path; from gwanje.cli import demo_wiring as d; "
        "s = d.RtspServer(Path(sys.argv[1]), ['cam1'], d.sample_clips()); s.start(port=0); "
        "print(s.proc.pid, s.port, flush=True); import time; time.sleep(60)"
    )
    import os
    import signal
    import sys

    demo = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE)
    try:
        pid, port = map(int, demo.stdout.readline().split())
        assert reachable("127.0.0.1", port)
        os.kill(demo.pid, signal.SIGKILL)  # no clean-up runs in the demo
        demo.wait(10)
        wait_for(lambda: not reachable("127.0.0.1", port, 0.2), timeout=10, what="the RTSP server to end")
        wait_for(lambda: _gone(pid), timeout=10, what="the RTSP server process to end")
    finally:
        if demo.poll() is None:
            demo.kill()


def _gone(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (FileNotFoundError, IndexError):
        return True
    return state == "Z"  # ended; only its parent (now gone) would reap it
