"""The MQTT consumer against a real Mosquitto, on SQLite and PostgreSQL.

Ordinary cases use the machine's broker (127.0.0.1:1883) with a unique topic root and client id per
test; restart and broker-loss cases start a broker of their own.
"""

from __future__ import annotations

import json
import uuid

import paho.mqtt.client as paho
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from gwanje.core.events import DomainEvent
from gwanje.registry.seed import seed_seongdong
from gwanje.situations import mqtt as mqtt_module
from gwanje.situations.events import IncidentRaised, MessageRejected
from gwanje.situations.models import InboxMessage, Incident
from gwanje.situations.mqtt import BAD_TOPIC_SOURCE, ConsumerConfig, MqttConsumer
from tests.integration.mqtt_support import SYSTEM_BROKER, OwnBroker, reachable, unavailable, wait_for

CAMERA = "SD-AD-001-1"


class RecordingBus:
    """Where the database's committed units of work publish, as the wiring root sets a real bus."""

    def __init__(self, db) -> None:  # noqa: ANN001
        self.events: list[DomainEvent] = []
        db.publish_to(self.publish_many)

    def publish_many(self, events: list[DomainEvent]) -> None:
        self.events.extend(events)


@pytest.fixture
def system_broker() -> str:
    if not reachable(*SYSTEM_BROKER):
        unavailable(f"Mosquitto unreachable at {SYSTEM_BROKER[0]}:{SYSTEM_BROKER[1]}")
    return f"mqtt://{SYSTEM_BROKER[0]}:{SYSTEM_BROKER[1]}"


@pytest.fixture
def own_broker(tmp_path):
    broker = OwnBroker(tmp_path).start()
    yield broker
    broker.stop()


@pytest.fixture
def seeded(db, policy):
    seed_seongdong(db, policy)
    return db


@pytest.fixture
def root() -> str:
    return f"test-{uuid.uuid4().hex[:10]}/gwanje/v1/events"


def config(url: str, root: str, client_id: str | None = None) -> ConsumerConfig:
    # A short session expiry keeps the shared broker free of sessions left by test runs.
    return ConsumerConfig(
        url=url,
        client_id=client_id or f"gwanje-test-{uuid.uuid4().hex[:10]}",
        topic_root=root,
        session_expiry_s=120,
        batch_wait_s=0.01,
    )


class Publisher:
    def __init__(self, url: str, root: str):
        host, port = url.removeprefix("mqtt://").split(":")
        self.root = root
        self.client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        self.client.max_inflight_messages_set(1000)
        self.client.connect(host, int(port))
        self.client.loop_start()

    def raw(self, topic_tail: str, body: bytes) -> None:
        self.client.publish(f"{self.root}/{topic_tail}", body, qos=1).wait_for_publish(10)

    def send(self, message: dict, topic_tail: str = "bells/BELL-1") -> None:
        self.raw(topic_tail, json.dumps(message, ensure_ascii=False).encode())

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher_factory():
    made = []

    def make(url: str, root: str) -> Publisher:
        p = Publisher(url, root)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def bell(message_id: str, camera: str = CAMERA) -> dict:
    return {
        "message_id": message_id,
        "type": "emergency_bell",
        "occurred_at": "2025-11-26T21:14:03+09:00",
        "payload": {"bell_id": "BELL-1", "latitude": 37.5608, "longitude": 127.0547, "camera": camera},
    }


def inbox(db) -> list[InboxMessage]:  # noqa: ANN001
    with db.reading() as s:
        return list(s.scalars(sa.select(InboxMessage).order_by(InboxMessage.id)))


def incidents(db) -> list[Incident]:  # noqa: ANN001
    with db.reading() as s:
        return list(s.scalars(sa.select(Incident).order_by(Incident.id)))


def handled(consumer: MqttConsumer) -> int:
    s = consumer.stats
    return s.stored + s.duplicate + s.rejected


def test_a_routed_message_is_stored_once_raises_its_incident_and_is_acknowledged_after(
    seeded, policy, system_broker, root, publisher_factory
):
    bus = RecordingBus(seeded)
    with MqttConsumer(seeded, policy, config(system_broker, root)) as consumer:
        assert consumer.connected.wait(10)
        publisher_factory(system_broker, root).send(bell("bell-0001"), "bells/BELL-SD-AD-001")
        wait_for(lambda: consumer.stats.acked == 1, what="the message to be stored and acknowledged")
    rows = inbox(seeded)
    assert [(r.source, r.message_id, r.device_id, r.channel, r.status) for r in rows] == [
        ("mqtt:bells", "bell-0001", "BELL-SD-AD-001", "mqtt", "processed")
    ]
    [incident] = incidents(seeded)
    assert (incident.type, incident.inbox_id, incident.source) == ("emergency_bell", rows[0].id, "mqtt:bells")
    assert incident.clause  # routed by the duty table
    assert [e.incident["id"] for e in bus.events if isinstance(e, IncidentRaised)] == [incident.id]


def test_duplicates_and_replays_are_recognised_and_ignored(seeded, policy, system_broker, root, publisher_factory):
    with MqttConsumer(seeded, policy, config(system_broker, root)) as consumer:
        assert consumer.connected.wait(10)
        pub = publisher_factory(system_broker, root)
        for _ in range(3):
            pub.send(bell("bell-dup"))
        wait_for(lambda: handled(consumer) == 3, what="three deliveries")
        pub.send(bell("bell-dup"))  # a replay, later, in its own batch
        wait_for(lambda: handled(consumer) == 4, what="the replay")
        assert (consumer.stats.stored, consumer.stats.duplicate) == (1, 3)
    assert len(inbox(seeded)) == 1
    assert len(incidents(seeded)) == 1


def test_bad_messages_are_kept_with_their_error_and_the_consumer_goes_on(
    seeded, policy, system_broker, root, publisher_factory
):
    bus = RecordingBus(seeded)
    with MqttConsumer(seeded, policy, config(system_broker, root)) as consumer:
        assert consumer.connected.wait(10)
        pub = publisher_factory(system_broker, root)
        pub.raw("bells/BELL-1", b'{"message_id": "broken", "type": ')
        pub.send({"message_id": "wrong-schema", "type": "video_analytics", "payload": {"camera": CAMERA}})
        pub.send(
            {"message_id": "too-big", "type": "manual_report", "payload": {"title": "x", "description": "y" * 70_000}}
        )
        pub.send(bell("no-device-level"), "bells")
        pub.send(bell("unknown-camera", camera="SD-XX-999-9"))
        pub.raw("bells/BELL-1", b"\xff\xfe not utf-8")
        wait_for(lambda: handled(consumer) == 6, what="the six bad messages")
        pub.send(bell("good-after-bad"))
        wait_for(lambda: consumer.stats.stored == 1, what="the good message after the bad ones")
        assert consumer._worker.is_alive()
    rows = {r.message_id: r for r in inbox(seeded)}
    rejected = [r for r in rows.values() if r.status == "rejected"]
    assert len(rejected) == 6 and all(r.error for r in rejected)
    broken = next(r for r in rejected if r.raw.startswith('{"message_id": "broken"'))
    assert "JSON" in broken.error and broken.message_id.startswith("sha256:")
    assert "camera" in rows["unknown-camera"].error
    assert any("65536" in r.error for r in rejected)  # the oversized one
    bad_topic = next(r for r in rejected if r.source == BAD_TOPIC_SOURCE)
    assert bad_topic.device_id == f"{root}/bells" and "topic" in bad_topic.error
    assert json.loads(bad_topic.raw)["message_id"] == "no-device-level"  # kept exactly as it came
    assert rows["good-after-bad"].status == "processed"
    assert [i.inbox_id for i in incidents(seeded)] == [rows["good-after-bad"].id]
    assert sum(isinstance(e, MessageRejected) for e in bus.events) == 6


def test_an_oversized_message_is_kept_truncated_not_whole(seeded, policy, system_broker, root, publisher_factory):
    with MqttConsumer(seeded, policy, config(system_broker, root)) as consumer:
        assert consumer.connected.wait(10)
        publisher_factory(system_broker, root).raw("lpr/cam-1", b"{" + b" " * 2_000_000 + b"}")
        wait_for(lambda: consumer.stats.rejected == 1, what="the oversized message")
    [row] = inbox(seeded)
    assert row.status == "rejected" and len(row.raw) <= 64 * 1024 + 1


def test_nothing_is_acknowledged_before_it_is_committed(
    seeded, policy, own_broker, root, publisher_factory, monkeypatch
):
    """A consumer whose database is away keeps retrying and never acks; the next one stores it."""
    client_id = f"gwanje-test-{uuid.uuid4().hex[:8]}"
    real_ingest = mqtt_module.service.ingest_batch

    def database_away(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(mqtt_module.service, "ingest_batch", database_away)
    first = MqttConsumer(seeded, policy, config(own_broker.url, root, client_id))
    first.start()
    assert first.connected.wait(10)
    publisher_factory(own_broker.url, root).send(bell("bell-uncommitted"))
    wait_for(lambda: first.stats.store_failures >= 1, what="a failed store")
    first.stop()
    assert first.stats.acked == 0
    monkeypatch.setattr(mqtt_module.service, "ingest_batch", real_ingest)
    with MqttConsumer(seeded, policy, config(own_broker.url, root, client_id)) as second:
        wait_for(lambda: second.stats.acked == 1, what="the re-sent message")
    assert [r.message_id for r in inbox(seeded)] == ["bell-uncommitted"]
    assert len(incidents(seeded)) == 1


def test_a_restarted_consumer_gets_what_was_published_while_it_was_down(
    seeded, policy, own_broker, root, publisher_factory
):
    client_id = f"gwanje-test-{uuid.uuid4().hex[:8]}"
    with MqttConsumer(seeded, policy, config(own_broker.url, root, client_id)) as consumer:
        assert consumer.connected.wait(10)  # the session and its subscription now exist
    pub = publisher_factory(own_broker.url, root)
    for i in range(1500):  # more than Mosquitto's default per-client queue (1000)
        pub.client.publish(f"{root}/bells/BELL-1", json.dumps(bell(f"offline-{i}")), qos=1)
    pub.send(bell("offline-last"))
    with MqttConsumer(seeded, policy, config(own_broker.url, root, client_id)) as consumer:
        wait_for(lambda: consumer.stats.stored == 1501, timeout=60, what="everything published while down")
    assert len(inbox(seeded)) == 1501
    assert len(incidents(seeded)) == 1501


def test_the_consumer_reconnects_after_losing_the_broker(seeded, policy, own_broker, root, publisher_factory):
    with MqttConsumer(seeded, policy, config(own_broker.url, root)) as consumer:
        assert consumer.connected.wait(10)
        publisher_factory(own_broker.url, root).send(bell("before-loss"))
        wait_for(lambda: consumer.stats.stored == 1, what="the first message")
        own_broker.stop()
        wait_for(lambda: not consumer.connected.is_set(), what="the consumer to notice")
        own_broker.start()
        wait_for(lambda: consumer.connected.is_set(), timeout=30, what="the consumer to reconnect")
        publisher_factory(own_broker.url, root).send(bell("after-loss"))
        wait_for(lambda: consumer.stats.stored == 2, what="a message after the reconnect")
    assert [r.message_id for r in inbox(seeded)] == ["before-loss", "after-loss"]
