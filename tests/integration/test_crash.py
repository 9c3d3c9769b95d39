"""Crash test: 20,000 events, the consumer killed with SIGKILL midway and restarted.

Every event must end up stored exactly once and every incident must exist once. Runs on
PostgreSQL (production) with a private Mosquitto whose per-client queue is unlimited, so the
broker itself drops nothing while the consumer is down (see docs/mqtt.md).
"""

from __future__ import annotations

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
from gwanje.situations.mqtt import topic_for
from gwanje.situations.simulator import EventMix, load_cameras
from tests.integration.mqtt_support import OwnBroker, wait_for

TOTAL = 20_000
ROOT = Path(__file__).resolve().parents[2]


def _count(db, sql: str) -> int:  # noqa: ANN001
    with db.reading() as s:
        return s.scalar(sa.text(sql))


class ConsumerProcess:
    def __init__(self, db_url: str, broker_url: str, client_id: str, folder: Path, n: int):
        self.log = folder / f"consumer-{n}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GWANJE_")}
        env.update(GWANJE_DATABASE_URL=db_url, GWANJE_VAR_DIR=str(folder / "var"), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gwanje", "consume", "--url", broker_url, "--client-id", client_id],
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


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_kill_9_midway_then_restart_stores_every_event_exactly_once(db, policy, tmp_path):
    started = time.monotonic()
    seed_seongdong(db, policy)
    mix = EventMix(load_cameras(db), seed=20_000)
    messages = [mix.next() for _ in range(TOTAL)]
    expected_incidents = sum(m.raises_incident for m in messages)
    assert len({m.body for m in messages}) == TOTAL

    broker = OwnBroker(tmp_path).start()
    client_id = f"gwanje-crash-{uuid.uuid4().hex[:8]}"
    first = ConsumerProcess(db.url, broker.url, client_id, tmp_path, 1)
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
                published.append(publisher.publish(topic_for(m.source, m.device_id), m.body, qos=1))

        sender = threading.Thread(target=publish_all)
        sender.start()

        stored = lambda: _count(db, "SELECT count(*) FROM inbox")  # noqa: E731
        wait_for(lambda: stored() >= TOTAL // 2, timeout=60, interval=0.01, what="half the events stored")
        os.kill(first.proc.pid, signal.SIGKILL)
        first.proc.wait(10)
        at_kill = stored()
        assert 0 < at_kill < TOTAL, at_kill

        sender.join(60)
        for info in published:
            info.wait_for_publish(30)  # the broker holds all of them for the session
        publisher.disconnect()
        publisher.loop_stop()

        second = ConsumerProcess(db.url, broker.url, client_id, tmp_path, 2)
        wait_for(lambda: stored() >= TOTAL, timeout=90, interval=0.1, what="all events stored after the restart")
        time.sleep(1.0)  # let re-deliveries of the killed consumer's in-flight window arrive too
        second.proc.send_signal(signal.SIGTERM)
        assert second.proc.wait(20) == 0
    finally:
        for c in (first, second):
            if c is not None and c.proc.poll() is None:
                c.proc.kill()
                c.proc.wait(10)
        broker.stop()

    assert _count(db, "SELECT count(*) FROM inbox") == TOTAL
    assert _count(db, "SELECT count(DISTINCT message_id) FROM inbox") == TOTAL
    assert _count(db, "SELECT count(*) FROM inbox WHERE status <> 'processed'") == 0
    with db.reading() as s:
        ids = set(s.scalars(sa.text("SELECT message_id FROM inbox")))
        per_type = Counter(dict(s.execute(sa.text("SELECT type, count(*) FROM incidents GROUP BY type")).all()))
    assert ids == {m.body.split(b'"message_id":"')[1].split(b'"')[0].decode() for m in messages}
    assert _count(db, "SELECT count(*) FROM incidents") == expected_incidents
    assert (
        _count(db, "SELECT count(*) FROM (SELECT inbox_id FROM incidents GROUP BY inbox_id HAVING count(*) > 1) d") == 0
    )
    assert _count(db, "SELECT count(*) FROM incidents WHERE inbox_id IS NULL") == 0
    assert sum(per_type.values()) == expected_incidents
    log = (tmp_path / "consumer-2.log").read_text(errors="replace")
    assert "session present: True" in log  # the restart resumed the session rather than starting over
    assert time.monotonic() - started < 120
