"""Door readers over MQTT on both engines (Annex 2 출입관리): a ``room_access`` message published on
``gwanje/v1/events/doors/door-system-room`` is consumed, logged once even when published twice, and an
entry by a badge not on file raises the room's incident once.

The broker is one of our own (on a free port), so the consumer can use the real topic root without
meeting messages of other test runs on the machine's Mosquitto."""

from __future__ import annotations

import json
import uuid

import paho.mqtt.client as paho
import pytest
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from gwanje.center.rooms.models import RoomAccessEntry
from gwanje.situations.models import InboxMessage, Incident
from gwanje.situations.mqtt import TOPIC_ROOT, ConsumerConfig, MqttConsumer, topic_for
from tests.integration.mqtt_support import OwnBroker, wait_for

TOPIC = "gwanje/v1/events/doors/door-system-room"


@pytest.fixture
def broker(tmp_path):
    own = OwnBroker(tmp_path).start()
    yield own
    own.stop()


def _publish(port: int, topic: str, bodies: list[bytes]) -> None:
    client = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for body in bodies:
            client.publish(topic, body, qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def _entry(message_id: str, badge: str, door: str = "door-system-room") -> bytes:
    message = {
        "message_id": message_id,
        "type": "room_access",
        "payload": {"door": door, "event": "entry", "badge": badge},
    }
    return json.dumps(message).encode()


def test_a_door_message_published_twice_is_logged_once(db, policy, broker):
    assert topic_for("doors", "door-system-room") == TOPIC and TOPIC.startswith(TOPIC_ROOT)
    config = ConsumerConfig(
        url=broker.url, client_id=f"gwanje-rooms-{uuid.uuid4().hex[:8]}", session_expiry_s=60, batch_wait_s=0.01
    )
    with MqttConsumer(db, policy, config) as consumer:
        assert consumer.connected.wait(10)
        same = _entry("door-mqtt-1", "CARD-STRANGER")
        _publish(broker.port, TOPIC, [same, same])
        wait_for(lambda: consumer.stats.acked == 2, what="both deliveries to be handled and acknowledged")
        assert (consumer.stats.stored, consumer.stats.duplicate, consumer.stats.rejected) == (1, 1, 0)
        # A second entry by the same badge is a new line on the same open incident.
        _publish(broker.port, TOPIC, [_entry("door-mqtt-2", "CARD-STRANGER")])
        wait_for(lambda: consumer.stats.acked == 3, what="the second entry")
        # A message on a door the policy does not know is kept as rejected, with no line.
        _publish(broker.port, "gwanje/v1/events/doors/door-cellar", [_entry("door-mqtt-3", "CARD-1", "door-cellar")])
        wait_for(lambda: consumer.stats.acked == 4, what="the unknown door's message")
    with db.reading() as s:
        inbox = list(s.scalars(sa.select(InboxMessage).order_by(InboxMessage.id)))
        log = list(s.scalars(sa.select(RoomAccessEntry).order_by(RoomAccessEntry.id)))
        alarms = list(s.scalars(sa.select(Incident).where(Incident.type == "room_access")))
    assert [(m.message_id, m.source, m.device_id, m.channel) for m in inbox] == [
        ("door-mqtt-1", "mqtt:doors", "door-system-room", "mqtt"),
        ("door-mqtt-2", "mqtt:doors", "door-system-room", "mqtt"),
        ("door-mqtt-3", "mqtt:doors", "door-cellar", "mqtt"),
    ]
    assert [m.status for m in inbox] == ["processed", "processed", "rejected"] and "door-cellar" in inbox[2].error
    assert [(e.inbox_id, e.event, e.badge, e.authorised) for e in log] == [
        (inbox[0].id, "entry", "CARD-STRANGER", False),
        (inbox[1].id, "entry", "CARD-STRANGER", False),
    ]
    assert log[0].source == "device:mqtt:doors" and log[0].door == "door-system-room"
    [alarm] = alarms
    assert {e.incident_id for e in log} == {alarm.id} and alarm.assigned_role == "district_it_officer"
