"""Crash test: 20,000 events, the consumer killed with SIGKILL midway and restarted (issue 8, finding 4).

Against two brokers, on PostgreSQL (production):

* ``documented``: a private Mosquitto with the settings of docs/mqtt.md — the broker drops nothing
  while the consumer is down, so every event is stored exactly once and nothing is counted missing;
* ``system``: the machine's Mosquitto as installed (``max_queued_messages`` at its default of 1,000),
  which silently drops what does not fit its queue for the absent session. gwanje cannot undo that,
  but nothing may be lost silently: after the devices' next message, every lost event is counted for
  its device (``device_sequences``), raised as a ``message_loss`` incident and on the health counts.

In both: nothing is stored twice and every incident exists once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import paho.mqtt.client as paho
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from gwanje.registry.seed import seed_seongdong
from gwanje.situations import service
from gwanje.situations.mqtt import topic_for
from gwanje.situations.simulator import EventMix, load_cameras
from tests.integration.mqtt_support import SYSTEM_BROKER, OwnBroker, reachable, unavailable, wait_for

TOTAL = 20_000
ROOT = Path(__file__).resolve().parents[2]


def _count(db, sql: str) -> int:  # noqa: ANN001
    with db.reading() as s:
        return s.scalar(sa.text(sql))


class ConsumerProcess:
    def __init__(self, db_url: str, broker_url: str, client_id: str, topic_root: str, folder: Path, n: int):
        self.log = folder / f"consumer-{n}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GWANJE_")}
        env.update(GWANJE_DATABASE_URL=db_url, GWANJE_VAR_DIR=str(folder / "var"), PYTHONUNBUFFERED="1")
        command = [sys.executable, "-m", "gwanje", "consume", "--url", broker_url, "--client-id", client_id]
        self.proc = subprocess.Popen(
            [*command, "--topic-root", topic_root],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("wb"),
        )

    def wait_subscribed(self) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"consumer exited {self.proc.returncode}: {self.log.read_text()[-3000:]}")
            return "MQTT subscribed" in self.log.read_text(errors="replace")

        wait_for(ready, timeout=30, what="the consumer to subscribe")


class _Broker:
    """The broker under test: a private one with the documented settings, or the machine's own."""

    def __init__(self, kind: str, folder: Path):
        self.kind = kind
        self.own = OwnBroker(folder) if kind == "documented" else None

    def start(self) -> "_Broker":
        if self.own is not None:
            self.own.start()
        elif not reachable(*SYSTEM_BROKER):
            unavailable(f"Mosquitto unreachable at {SYSTEM_BROKER[0]}:{SYSTEM_BROKER[1]}")
        return self

    @property
    def port(self) -> int:
        return self.own.port if self.own is not None else SYSTEM_BROKER[1]

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def forget_session(self, client_id: str) -> None:
        """Leave no session of ours on a broker that outlives the test."""
        if self.own is not None:
            self.own.stop()
            return
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        c.connect("127.0.0.1", self.port, clean_start=True)
        c.loop_start()
        time.sleep(0.3)
        c.disconnect()
        c.loop_stop()


def _stable(read, seconds: float):  # noqa: ANN001, ANN202
    """A predicate: the value has not changed for ``seconds``."""
    state = {"value": None, "since": time.monotonic()}

    def check() -> bool:
        value = read()
        if value != state["value"]:
            state.update(value=value, since=time.monotonic())
            return False
        return time.monotonic() - state["since"] >= seconds

    return check


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("broker_kind", ["documented", "system"])
def test_kill_9_midway_then_restart_loses_nothing_silently(db, policy, tmp_path, broker_kind):
    started = time.monotonic()
    seed_seongdong(db, policy)
    cameras = load_cameras(db)
    mix = EventMix(cameras, seed=20_000)
    messages = [mix.next() for _ in range(TOTAL)]
    # Each device's next message, sent once the consumer is back: a gap shows when a device speaks again.
    nexts = []
    for (source, device), last in sorted(mix.last_seq().items()):
        body = {
            "message_id": f"next-{source}-{device}",
            "type": "plate_read",
            "device_id": device,
            "seq": last + 1,
            "payload": {"camera": cameras[0].number, "plate": "00가0000", "confidence": 0.5},
        }
        nexts.append((source, device, json.dumps(body, ensure_ascii=False).encode()))
    expected_incidents = sum(m.raises_incident for m in messages)
    assert len({m.body for m in messages}) == TOTAL

    broker = _Broker(broker_kind, tmp_path).start()
    run = uuid.uuid4().hex[:8]
    client_id, root = f"gwanje-crash-{run}", f"gwanje-crash-{run}/v1/events"
    first = ConsumerProcess(db.url, broker.url, client_id, root, tmp_path, 1)
    second = None
    try:
        first.wait_subscribed()

        publisher = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        publisher.max_inflight_messages_set(1000)
        publisher.max_queued_messages_set(0)
        publisher.connect("127.0.0.1", broker.port)
        publisher.loop_start()
        published: list = []

        def publish_all() -> None:
            for m in messages:
                published.append(publisher.publish(topic_for(m.source, m.device_id, root), m.body, qos=1))

        sender = threading.Thread(target=publish_all)
        sender.start()

        stored = lambda: _count(db, "SELECT count(*) FROM inbox")  # noqa: E731
        # Mid-stream. The machine's broker already drops what outruns the consumer while it is up, so
        # half may never be stored there: kill it once a few thousand are in.
        kill_at = TOTAL // 2 if broker_kind == "documented" else 3_000
        wait_for(lambda: stored() >= kill_at, timeout=60, interval=0.01, what=f"{kill_at} events stored")
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
        at_kill = stored()
        assert 0 < at_kill < TOTAL, at_kill

        sender.join(60)
        for info in published:
            info.wait_for_publish(30)  # the broker has taken every one (whether it keeps them is its settings)

        second = ConsumerProcess(db.url, broker.url, client_id, root, tmp_path, 2)
        second.wait_subscribed()
        if broker_kind == "documented":
            wait_for(lambda: stored() >= TOTAL, timeout=90, interval=0.1, what="all events stored after the restart")
        wait_for(_stable(stored, 3.0), timeout=90, interval=0.2, what="the re-sent events to be stored")
        before_next = stored()
        for source, device, body in nexts:
            publisher.publish(topic_for(source, device, root), body, qos=1).wait_for_publish(30)
        wait_for(lambda: stored() >= before_next + len(nexts), timeout=60, interval=0.1, what="the next messages")
        time.sleep(1.0)  # let re-deliveries of the killed consumer's in-flight window arrive too
        publisher.disconnect()
        publisher.loop_stop()
        second.proc.send_signal(signal.SIGTERM)
        assert second.proc.wait(20) == 0
    finally:
        for c in (first, second):
            if c is not None and c.proc.poll() is None:
                c.proc.kill()
                c.proc.wait(10)
        broker.forget_session(client_id)

    # Nothing stored twice, and only what was sent.
    sent_ids = {json.loads(m.body)["message_id"] for m in messages} | {json.loads(b)["message_id"] for *_, b in nexts}
    with db.reading() as s:
        rows = s.execute(sa.text("SELECT source, device_id, message_id, status FROM inbox")).all()
        per_type = Counter(dict(s.execute(sa.text("SELECT type, count(*) FROM incidents GROUP BY type")).all()))
        sequences = {
            (r.source, r.device_id): r
            for r in s.execute(sa.text("SELECT source, device_id, missing, incident_id FROM device_sequences"))
        }
        loss_incidents = s.execute(
            sa.text("SELECT id, source, device_id FROM incidents WHERE type = 'message_loss'")
        ).all()
    stored_ids = [r.message_id for r in rows]
    assert len(stored_ids) == len(set(stored_ids))
    assert set(stored_ids) <= sent_ids
    assert {r.status for r in rows} == {"processed"}
    assert (
        _count(
            db,
            "SELECT count(*) FROM (SELECT inbox_id FROM incidents WHERE inbox_id IS NOT NULL"
            " GROUP BY inbox_id HAVING count(*) > 1) d",
        )
        == 0
    )
    assert all(n["message_id"] in set(stored_ids) for n in (json.loads(b) for *_, b in nexts))

    # Every lost event is counted for its device; every device that lost some has its incident.
    sent_per_device = Counter((f"mqtt:{m.source}", m.device_id) for m in messages)
    stored_per_device = Counter((r.source, r.device_id) for r in rows if not r.message_id.startswith("next-"))
    lost = {k: n - stored_per_device[k] for k, n in sent_per_device.items() if n > stored_per_device[k]}
    counted = {k: r.missing for k, r in sequences.items() if r.missing}
    assert counted == lost
    assert sum(lost.values()) == TOTAL - (len(rows) - len(nexts))
    # raised: one message-loss incident per sending system that lost any, naming each device's loss
    assert sorted(i.source for i in loss_incidents) == sorted({source for source, _ in lost})
    incident_of = {i.source: i.id for i in loss_incidents}
    assert all(sequences[k].incident_id == incident_of[k[0]] for k in lost)
    health = service.ingest_health(db)
    assert health.totals["missing"] == sum(lost.values())
    assert health.totals["devices_with_loss"] == len(lost)
    print(f"\n{broker_kind} broker: {sum(lost.values())} of {TOTAL} lost, on {len(lost)} devices, all counted")

    if broker_kind == "documented":
        assert lost == {} and len(rows) == TOTAL + len(nexts)
        assert per_type["message_loss"] == 0
        assert _count(db, "SELECT count(*) FROM incidents") == expected_incidents
    assert _count(db, "SELECT count(*) FROM incidents WHERE inbox_id IS NULL AND type <> 'message_loss'") == 0
    log = (tmp_path / "consumer-2.log").read_text(errors="replace")
    assert "session present: True" in log  # the restart resumed the session rather than starting over
    assert time.monotonic() - started < 180
