"""The live feed across app instances over the machine's real NATS (127.0.0.1:4222).

Under CI (``CI=true``) an unreachable NATS fails the run; elsewhere these tests are skipped with
the reason. Each test run uses its own subject (``?subject=`` in the bus URL), so runs on the
same broker do not hear each other.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from websockets.sync.client import ClientConnection

from gwanje.core.nats_bus import NatsBus, split_bus_url
from gwanje.situations.events import CameraFaulted, IncidentRaised
from tests.conftest import IN_CI, PASSWORD
from tests.support import wait_healthy

NATS_HOST, NATS_PORT = "127.0.0.1", 4222
ROOT = Path(__file__).resolve().parents[2]


def _nats_problem() -> str | None:
    try:
        with socket.create_connection((NATS_HOST, NATS_PORT), timeout=3) as s:
            s.settimeout(3)
            hello = s.recv(7)
        return None if hello.startswith(b"INFO") else f"not a NATS server: {hello!r}"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.fixture(scope="module")
def nats_url() -> str:
    problem = _nats_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"NATS at {NATS_HOST}:{NATS_PORT} is required under CI and is unreachable: {problem}")
        pytest.skip(f"NATS unreachable (required under CI=true): {problem}")
    return f"nats://{NATS_HOST}:{NATS_PORT}?subject=gwanje.test.{uuid.uuid4().hex[:12]}"


# ---- the bus itself ------------------------------------------------------------------------------


def test_the_subject_comes_from_the_url_and_bad_ones_are_refused():
    assert split_bus_url("nats://u:p@127.0.0.1:4222?subject=gwanje.live.a") == (
        "nats://u:p@127.0.0.1:4222",
        "gwanje.live.a",
    )
    assert split_bus_url("nats://127.0.0.1:4222")[1] == "gwanje.live"
    for bad in ("nats://h:4222?subject=a.*", "nats://h:4222?subject=a..b", "http://h:4222"):
        with pytest.raises(ValueError):
            split_bus_url(bad)


def test_two_buses_share_events_from_worker_threads_without_echo(nats_url):
    async def scenario() -> tuple[list, list, int, int]:
        a, b = NatsBus(nats_url), NatsBus(nats_url)
        await a.start()
        await b.start()
        try:
            assert a.connected and b.connected
            sub_a, sub_b = a.subscribe(), b.subscribe()
            # Sync routes publish from the thread pool: the bus must hand over to its loop.
            worker = threading.Thread(target=lambda: [a.publish(CameraFaulted(i, f"SD-{i}")) for i in range(20)])
            worker.start()
            worker.join()
            got_b = [(await asyncio.wait_for(sub_b.get(), 5)).camera_id for _ in range(20)]
            got_a = [(await asyncio.wait_for(sub_a.get(), 5)).camera_id for _ in range(20)]
            # A malformed message on the subject is ignored, not delivered and not fatal.
            await b._nc.publish(a.subject, b"not json")
            b.publish(CameraFaulted(99, "SD-99"))
            after = (await asyncio.wait_for(sub_a.get(), 5)).camera_id
            await asyncio.sleep(0.3)  # time for an echo, if there were one, to arrive
            assert after == 99
            return got_a, got_b, sub_a.queue.qsize(), a.received
        finally:
            await a.stop()
            await b.stop()

    got_a, got_b, left_a, received_a = asyncio.run(scenario())
    assert got_b == list(range(20))  # in order, on the other instance
    assert got_a == list(range(20))  # delivered locally at once ...
    assert left_a == 0 and received_a == 1  # ... and never a second time from the broker


def test_an_unreachable_broker_does_not_stop_the_app_and_local_consoles_still_get_events():
    async def scenario() -> dict:
        bus = NatsBus("nats://127.0.0.1:1?subject=gwanje.test.down")
        started = time.monotonic()
        await bus.start()
        waited = time.monotonic() - started
        try:
            sub = bus.subscribe()
            bus.publish(IncidentRaised({"id": 1}))
            assert waited < 10 and not bus.connected
            return await asyncio.wait_for(sub.get(), 2)
        finally:
            await bus.stop()

    assert asyncio.run(scenario()) == IncidentRaised({"id": 1})


# ---- two app instances -------------------------------------------------------------------------


def app_factory():
    """What each uvicorn child serves: the real app."""
    from gwanje.web.app import create_app

    return create_app()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(url: str) -> dict[str, str]:
    from gwanje.accounts import service as accounts
    from gwanje.core.audit import Actor
    from gwanje.core.db import Database
    from gwanje.policy import load_default

    db = Database(url)
    policy = load_default()
    tokens = {}
    with db.uow() as uow:
        for name, role in (("bell-device", "device"), ("agent", "monitoring_agent")):
            user, _ = accounts.add_user(uow, Actor.system("test"), policy, accounts.NewUser(name, name, role, PASSWORD))
            tokens[role] = accounts.issue_token(uow, Actor.system("test"), user, "test")
        uow.commit()
    db.dispose()
    return tokens


def _start(name: str, port: int, env: dict[str, str], var: Path) -> subprocess.Popen:
    log = open(var / f"{name}.log", "w")  # noqa: SIM115 - the child owns it
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tests.integration.test_nats_bus:app_factory",
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
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=var,
    )


@pytest.fixture
def two_instances(nats_url, pg_templates, tmp_path):
    from gwanje.core.settings import Settings

    url = pg_templates.fresh()
    tokens = _seed(url)
    subject = f"gwanje.test.{url.rsplit('/', 1)[-1]}"  # one feed per database, as in production
    env = {k: v for k, v in os.environ.items() if not k.startswith("GWANJE_")}
    env.update(
        GWANJE_DATABASE_URL=url,
        GWANJE_SECRET_KEY="n" * 48,
        GWANJE_BUS_URL=f"nats://{NATS_HOST}:{NATS_PORT}?subject={subject}",
    )
    if "escalation_seconds" in Settings.model_fields:
        env["GWANJE_ESCALATION_SECONDS"] = "0"
    procs, bases = [], []
    try:
        for name in ("a", "b"):
            var = tmp_path / name
            var.mkdir()
            port = _free_port()
            proc = _start(name, port, {**env, "GWANJE_VAR_DIR": str(var)}, var)
            procs.append(proc)
            bases.append(f"127.0.0.1:{port}")
            wait_healthy(proc, f"http://127.0.0.1:{port}", var / f"{name}.log")
        yield bases, tokens
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        pg_templates.drop(url)


def _post_bell(base: str, token: str) -> int:
    body = json.dumps(
        {
            "message_id": f"bell-{uuid.uuid4().hex}",
            "type": "emergency_bell",
            "payload": {"bell_id": "B-7", "latitude": 37.5636, "longitude": 127.0369},
        }
    ).encode()
    req = urllib.request.Request(
        f"http://{base}/api/events",
        data=body,
        method="POST",
        headers={"authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 202
        return json.loads(r.read())["incident_id"]


def _incidents(ws: ClientConnection, count: int, timeout: float = 10.0) -> list[int]:
    """The ids of the next ``count`` incident messages (pings and the like are skipped)."""
    ids, deadline = [], time.monotonic() + timeout
    while len(ids) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"only {ids} of {count} incidents arrived within {timeout:.0f} s")
        try:
            msg = json.loads(ws.recv(timeout=left))
        except TimeoutError:
            continue
        if msg["kind"] == "incident":
            ids.append(msg["incident"]["id"])
    return ids


def test_an_event_posted_to_one_instance_reaches_a_console_on_the_other(two_instances):
    from websockets.sync.client import connect

    (a, b), tokens = two_instances
    agent = tokens["monitoring_agent"]
    with (
        connect(f"ws://{b}/api/live?token={agent}", open_timeout=10) as on_b,
        connect(f"ws://{a}/api/live?token={agent}", open_timeout=10) as on_a,
    ):
        for ws in (on_b, on_a):
            assert json.loads(ws.recv(timeout=10))["kind"] == "snapshot"
        first = _post_bell(a, tokens["device"])
        second = _post_bell(b, tokens["device"])
        # Each console sees both bells once, whichever instance took them (order across
        # instances is not promised: the local one may overtake the one that crossed the broker).
        assert sorted(_incidents(on_b, 2)) == [first, second]
        assert sorted(_incidents(on_a, 2)) == [first, second]
        with pytest.raises(TimeoutError):
            while True:  # nothing else comes: no echo of an instance's own events
                if json.loads(on_a.recv(timeout=1.0))["kind"] == "incident":
                    raise AssertionError("an incident arrived twice")
