"""Ingest benchmark: MQTT publish → stored in PostgreSQL → delivered on the live WebSocket.

    .venv/bin/python bench/situations_ingest.py [--events 30000] [--latency-seconds 15] [--anchor-events 50000]

Everything runs on this machine, each part in its own process, as in production: a private Mosquitto
(the settings of docs/mqtt.md: ``max_queued_messages 0``, a byte cap), the consumer (``python -m gwanje consume``), the
app (uvicorn, ``WS /api/live``) sharing the consumer's events over the machine's NATS
(127.0.0.1:4222), and a fresh temporary PostgreSQL database seeded with the Seongdong registry
(dropped afterwards). The events are the simulator's realistic mix (about a quarter raise incidents;
plate reads are stored but raise nothing without a hot-list hit, so they reach no console).

* ``ingest events/s``: publish N events as fast as the client can; the time until all N are stored
  *and* every incident they raise has arrived on a WebSocket of the running app.
* ``ingest p99 ms @1000/s``: publish at a fixed 1,000 events/s; for each incident, the time from its
  ``occurred_at`` (stamped when the message is made, just before publishing) to its arrival on the
  WebSocket.

Anchor, measured in the same run with the same broker settings and the same load generator: raw
Mosquitto QoS 1 publish → subscribe throughput (and its p99 at 1,000 msg/s), a paho-mqtt subscriber
in its own process. The load generator (:class:`Devices`) stands for devices on other machines: one
raw MQTT 5 connection whose QoS 1 packets are encoded before the clock starts and sent in large
writes, so that on this 2-core machine it takes little of the CPU it shares with what it measures
(paho's own publisher took about a third of the machine at these rates). Without NATS the
WebSocket leg is left out and the figures say so.

Prints a table, then one JSON object per figure per line; ``ingest events/s`` also carries ``ratio``
(ours / the same-run anchor) and ``met`` (both parts of its target).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("GWANJE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
NATS = os.environ.get("BENCH_NATS_URL", "nats://127.0.0.1:4222")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
ANCHOR_TOPIC = "bench/anchor"
TARGET_RATE = 5000.0
TARGET_RATIO = 0.3
TARGET_P99_MS = 100.0


# ---- helpers -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _wait(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
    return value


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Broker:
    def __init__(self, folder: Path):
        self.port = _free_port()
        conf = folder / "mosquitto.conf"
        from gwanje.situations.mqtt import private_broker_conf

        conf.write_text(private_broker_conf(self.port))  # the settings of docs/mqtt.md
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: _reachable("127.0.0.1", self.port), 10, "mosquitto")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, byte = divmod(n, 128)
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _mqtt_str(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


class Devices:
    """The load generator: devices publishing QoS 1 over one raw MQTT 5 connection.

    On a 2-core machine the generator shares the CPU with what it measures; paho's publisher cost about
    100 µs of CPU per message (publish, then its PUBACK), a third of the machine at these rates. Here
    packets are encoded before the clock starts and sent in large writes, and the broker's PUBACKs
    are counted in bulk by a reader thread. The anchor and ours use the same generator.
    """

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = _mqtt_str("MQTT") + bytes([5, 0x02]) + struct.pack("!H", 60) + b"\x00"
        body += _mqtt_str(f"bench-devices-{uuid.uuid4().hex[:6]}")
        self.sock.sendall(b"\x10" + _varint(len(body)) + body)
        head = self.sock.recv(2)
        rest = self.sock.recv(head[1])
        if head[0] != 0x20 or rest[1] != 0:
            raise RuntimeError(f"the broker refused the load generator: {head!r} {rest!r}")
        self.mid = 0
        self.sent = 0
        self.acked = 0
        self.reader = threading.Thread(target=self._read_acks, daemon=True)
        self.reader.start()

    def packet(self, topic: str, payload: bytes) -> bytes:
        self.mid = self.mid % 65535 + 1
        body = _mqtt_str(topic) + struct.pack("!H", self.mid) + b"\x00" + payload
        return b"\x32" + _varint(len(body)) + body

    def send(self, packets: list[bytes]) -> None:
        for k in range(0, len(packets), 500):
            self.sock.sendall(b"".join(packets[k : k + 500]))
        self.sent += len(packets)

    def publish(self, topic: str, payload: bytes) -> None:
        self.send([self.packet(topic, payload)])

    def _read_acks(self) -> None:
        buf = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            i = 0
            while len(buf) - i >= 2 and len(buf) - i >= 2 + buf[i + 1]:
                if buf[i] & 0xF0 == 0x40:
                    self.acked += 1
                i += 2 + buf[i + 1]
            buf = buf[i:]

    def close(self) -> None:
        _wait(lambda: self.acked >= self.sent, 60, "the broker's PUBACKs")
        with contextlib.suppress(OSError):
            self.sock.sendall(b"\xe0\x00")
        self.sock.close()


# ---- anchor: raw Mosquitto QoS 1 --------------------------------------------------------------


def child_anchor_subscriber(port: int, n: int) -> None:
    """Subscriber process: print READY, receive n messages, print {"last": t, "latencies_ms": [...]}."""
    done = threading.Event()
    latencies: list[float] = []
    state = {"count": 0, "last": 0.0}

    def on_message(client, userdata, msg):
        now = time.time()
        latencies.append((now - float(msg.payload.split(b"|", 1)[0])) * 1000)
        state["count"] += 1
        state["last"] = now
        if state["count"] >= n:
            done.set()

    ready = threading.Event()
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"anchor-{uuid.uuid4().hex[:6]}", protocol=paho.MQTTv5)
    c.on_message = on_message
    c.on_subscribe = lambda *a: ready.set()
    c.on_connect = lambda client, *a: client.subscribe(ANCHOR_TOPIC, qos=1)
    c.connect("127.0.0.1", port)
    c.loop_start()
    ready.wait(10)
    print("READY", flush=True)
    done.wait(300)
    c.loop_stop()
    print(json.dumps({"last": state["last"], "count": state["count"], "latencies_ms": latencies}), flush=True)


def _anchor_run(broker: Broker, n: int, rate: float | None) -> dict:
    sub = subprocess.Popen(
        [sys.executable, __file__, "--child-anchor", str(broker.port), str(n)], stdout=subprocess.PIPE, text=True
    )
    assert sub.stdout.readline().strip() == "READY"
    pub = Devices(broker.port)
    pad = b"|" + b"x" * 380  # about the size of a device event
    if rate:
        t0 = time.time()
        start = time.monotonic()
        for i in range(n):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pub.publish(ANCHOR_TOPIC, f"{time.time():.6f}".encode() + pad)
    else:  # throughput: the packets are made before the clock starts, as for ours
        packets = [pub.packet(ANCHOR_TOPIC, b"0" + pad) for _ in range(n)]
        t0 = time.time()
        pub.send(packets)
    out = json.loads(sub.stdout.readline())
    sub.wait(30)
    pub.close()
    return {"rate": out["count"] / (out["last"] - t0), "latencies": out["latencies_ms"]}


def measure_anchor(broker: Broker, n: int, latency_seconds: float) -> dict:
    throughput = _anchor_run(broker, n, None)
    paced = _anchor_run(broker, int(1000 * latency_seconds), 1000.0)
    lat = paced["latencies"][1000:] or paced["latencies"]
    return {"rate": throughput["rate"], "p50": _percentile(lat, 50), "p99": _percentile(lat, 99)}


# ---- ours: consumer → PostgreSQL → live WebSocket -----------------------------------------------


class Stack:
    """A fresh database, the consumer and the app, each in its own process."""

    def __init__(self, folder: Path, broker: Broker, with_ws: bool):
        import sqlalchemy as sa

        from gwanje.accounts import service as accounts
        from gwanje.core.audit import Actor
        from gwanje.core.db import Database
        from gwanje.core.migrate import upgrade
        from gwanje.policy import load_default
        from gwanje.registry.seed import seed_seongdong

        self.folder = folder
        self.admin = sa.create_engine(
            PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
        )
        self.name = f"gwanje_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        self.url = PG_ADMIN.rsplit("/", 1)[0] + "/" + self.name
        self.db = Database(self.url)
        upgrade(self.db.engine)
        policy = load_default()
        seed_seongdong(self.db, policy)
        with self.db.uow() as uow:
            user, _ = accounts.add_user(
                uow,
                Actor.system("bench"),
                policy,
                accounts.NewUser(
                    username="bench_manager",
                    display_name="bench",
                    role="district_manager",
                    password="bench-password-123",
                ),
            )
            self.token = accounts.issue_token(uow, Actor.system("bench"), user, "bench")
            uow.commit()
        self.procs: list[subprocess.Popen] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("GWANJE_")}
        env.update(GWANJE_DATABASE_URL=self.url, GWANJE_VAR_DIR=str(folder / "var"), PYTHONUNBUFFERED="1")
        if with_ws:
            env["GWANJE_BUS_URL"] = f"{NATS}?subject=gwanje.bench.{uuid.uuid4().hex[:8]}"
        self.env = env
        self.consumer_log = folder / "consumer.log"
        self.procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "gwanje", "consume", "--url", broker.url, "--client-id", "bench-consumer"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=self.consumer_log.open("wb"),
            )
        )
        _wait(lambda: "MQTT subscribed" in self.consumer_log.read_text(errors="replace"), 60, "the consumer")
        self.ws: LiveClient | None = None
        if with_ws:
            self.port = _free_port()
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--child-app", str(self.port)],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=(folder / "app.log").open("wb"),
                )
            )
            _wait(lambda: _reachable("127.0.0.1", self.port), 60, "the app", interval=0.1)
            self.ws = LiveClient(f"ws://127.0.0.1:{self.port}/api/live?token={self.token}")

    def stored(self) -> int:
        import sqlalchemy as sa

        with self.db.reading() as s:
            return s.scalar(sa.text("SELECT count(*) FROM inbox"))

    def close(self) -> None:
        import sqlalchemy as sa

        if self.ws is not None:
            self.ws.close()
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        self.db.dispose()
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def child_app(port: int) -> None:
    import uvicorn

    from gwanje.core.settings import Settings
    from gwanje.situations import live
    from gwanje.web.app import create_app

    app = create_app(Settings())
    if not any(getattr(r, "path", None) == live.PATH for r in app.router.routes):
        app.include_router(live.router)  # until create_app installs the live feed itself
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets")


class LiveClient:
    """Reads ``WS /api/live`` in a thread; records each incident's arrival time and occurred_at."""

    def __init__(self, url: str):
        from websockets.sync.client import connect

        self.ws = connect(url, max_size=16 * 1024 * 1024, open_timeout=30)
        first = json.loads(self.ws.recv(30))
        assert first.get("kind") == "snapshot", first
        self.arrivals: list[tuple[float, str]] = []
        self.closed_with: str | None = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while True:
                text = self.ws.recv()
                now = time.time()
                event = json.loads(text)
                if event.get("kind") == "incident" and event.get("change") == "created":
                    self.arrivals.append((now, event["incident"]["occurred_at"]))
        except Exception as exc:  # noqa: BLE001 - closed: remember why, for the report
            self.closed_with = f"{type(exc).__name__}: {exc}"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ws.close()


def _mix(seed: int):  # noqa: ANN202
    from gwanje.situations.simulator import EventMix, packaged_cameras

    return EventMix(packaged_cameras(), seed=seed)


def measure_sustained(stack: Stack, broker: Broker, n: int, mix) -> dict:  # noqa: ANN001
    from gwanje.situations.mqtt import topic_for

    messages = [mix.next() for _ in range(n)]
    expected = sum(m.raises_incident for m in messages)
    before_ws = len(stack.ws.arrivals) if stack.ws else 0
    base = stack.stored()
    pub = Devices(broker.port)
    packets = [pub.packet(topic_for(m.source, m.device_id), m.body) for m in messages]
    t0 = time.time()
    pub.send(packets)
    published = time.time()
    _wait(lambda: stack.stored() >= base + n, 600, "all events stored", interval=0.05)
    stored_at = time.time()
    ws_at = None
    if stack.ws is not None:
        _wait(
            lambda: len(stack.ws.arrivals) - before_ws >= expected or stack.ws.closed_with,
            120,
            "all incidents on the WebSocket",
            interval=0.02,
        )
        if stack.ws.closed_with:
            raise RuntimeError(f"the live feed closed: {stack.ws.closed_with}")
        ws_at = stack.ws.arrivals[before_ws + expected - 1][0]
    pub.close()
    end = max(stored_at, ws_at or 0)
    return {
        "rate": n / (end - t0),
        "stored_rate": n / (stored_at - t0),
        "publish_rate": n / (published - t0),
        "incidents": expected,
    }


def measure_latency(stack: Stack, broker: Broker, seconds: float, mix) -> dict:  # noqa: ANN001
    from gwanje.situations.mqtt import topic_for

    before = len(stack.ws.arrivals)
    pub = Devices(broker.port)
    n = int(1000 * seconds)
    expected = 0
    start = time.monotonic()
    for i in range(n):
        delay = start + i / 1000.0 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        m = mix.next()  # stamps occurred_at now
        expected += m.raises_incident
        pub.publish(topic_for(m.source, m.device_id), m.body)
    _wait(lambda: len(stack.ws.arrivals) - before >= expected or stack.ws.closed_with, 120, "the last incidents")
    pub.close()
    arrivals = stack.ws.arrivals[before : before + expected]
    lat = [(t - datetime.fromisoformat(occ).timestamp()) * 1000 for t, occ in arrivals]
    lat = lat[int(len(lat) * 0.1) :]  # the first second warms up connections and caches
    return {"p50": _percentile(lat, 50), "p99": _percentile(lat, 99), "samples": len(lat)}


def measure_latency_stored(stack: Stack, broker: Broker, seconds: float, mix) -> dict:  # noqa: ANN001
    """Without the live feed: publish → visible in PostgreSQL, polled every 5 ms."""
    import sqlalchemy as sa

    from gwanje.situations.mqtt import topic_for

    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = threading.Event()

    def poll() -> None:
        last = 0
        while not stop.is_set():
            with stack.db.reading() as s:
                rows = s.execute(
                    sa.text("SELECT id, message_id FROM inbox WHERE id > :last ORDER BY id"), {"last": last}
                ).all()
            now = time.time()
            for r in rows:
                seen[r.message_id] = now
                last = r.id
            time.sleep(0.005)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    pub = Devices(broker.port)
    start = time.monotonic()
    for i in range(int(1000 * seconds)):
        delay = start + i / 1000.0 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        m = mix.next()
        sent[json.loads(m.body)["message_id"]] = time.time()
        pub.publish(topic_for(m.source, m.device_id), m.body)
    _wait(lambda: len(seen.keys() & sent.keys()) >= len(sent), 120, "the last events")
    stop.set()
    pub.close()
    lat = [(seen[k] - t) * 1000 for k, t in sent.items()][1000:]
    return {"p50": _percentile(lat, 50), "p99": _percentile(lat, 99), "samples": len(lat)}


# ---- main ---------------------------------------------------------------------------------------


def figures(anchor: dict, sustained: dict, latency: dict, ws: bool) -> list[dict]:
    leg = (
        "MQTT publish → stored (PostgreSQL) → delivered on WS /api/live"
        if ws
        else "MQTT publish → stored (PostgreSQL); live WebSocket leg NOT measured (no NATS)"
    )
    return [
        {
            "name": "ingest events/s",
            "value": round(sustained["rate"]),
            "unit": "events/s",
            "better": "higher",
            "anchor": "raw Mosquitto QoS 1 publish→subscribe throughput, paho-mqtt, subscriber in its own process",
            "anchor_value": round(anchor["rate"]),
            "target": f">= {TARGET_RATE:.0f} events/s and >= {TARGET_RATIO} x anchor",
            "ratio": round(sustained["rate"] / anchor["rate"], 3),
            "met": sustained["rate"] >= TARGET_RATE and sustained["rate"] >= TARGET_RATIO * anchor["rate"],
            "what": leg,
        },
        {
            "name": "ingest p99 ms @1000/s",
            "value": round(latency["p99"], 1),
            "unit": "ms",
            "better": "lower",
            "anchor": "raw Mosquitto QoS 1 publish→subscribe p99 at 1,000 msg/s, paho-mqtt",
            "anchor_value": round(anchor["p99"], 1),
            "target": f"<= {TARGET_P99_MS:.0f} ms",
            "what": leg,
            "p50_ms": round(latency["p50"], 1),
            "samples": latency["samples"],
        },
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description="MQTT ingest benchmark")
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--anchor-events", type=int, default=50_000)
    parser.add_argument("--latency-seconds", type=float, default=15.0)
    parser.add_argument("--child-anchor", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-app", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_anchor:
        child_anchor_subscriber(*args.child_anchor)
        return 0
    if args.child_app:
        child_app(args.child_app)
        return 0

    sys.path.insert(0, str(ROOT / "src"))
    with tempfile.TemporaryDirectory(prefix="gwanje-bench-") as tmp:
        folder = Path(tmp)
        broker = Broker(folder)
        try:
            anchor = measure_anchor(broker, args.anchor_events, min(args.latency_seconds, 10))
            nats_host, nats_port = NATS.removeprefix("nats://").rsplit(":", 1)
            with_ws = _reachable(nats_host, int(nats_port))
            stack = Stack(folder, broker, with_ws)
            try:
                mix = _mix(30_000)
                measure_sustained(stack, broker, 2000, mix)  # warm-up: caches, connections, JIT of the pools
                sustained = measure_sustained(stack, broker, args.events, mix)
                if with_ws:
                    latency = measure_latency(stack, broker, args.latency_seconds, mix)
                else:
                    latency = measure_latency_stored(stack, broker, args.latency_seconds, mix)
            finally:
                stack.close()
        finally:
            broker.stop()
    figs = figures(anchor, sustained, latency, with_ws)
    print(f"{'figure':<26}{'value':>12}{'anchor':>12}{'ratio':>8}   target")
    for f in figs:
        ratio = f"{f['ratio']:.2f}" if "ratio" in f else "–"
        print(f"{f['name']:<26}{f['value']:>12}{f['anchor_value']:>12}{ratio:>8}   {f['target']}")
    print(
        f"  sustained: publish {sustained['publish_rate']:.0f}/s, stored {sustained['stored_rate']:.0f}/s, "
        f"{sustained['incidents']} incidents; latency p50 {latency['p50']:.1f} ms over {latency['samples']} samples; "
        f"anchor p50 {anchor['p50']:.1f} ms"
    )
    for f in figs:
        print(
            json.dumps(
                {
                    k: f[k]
                    for k in ("name", "value", "unit", "better", "anchor", "anchor_value", "ratio", "target", "met")
                    if k in f
                },
                ensure_ascii=False,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
