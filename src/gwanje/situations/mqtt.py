"""The MQTT consumer: device events in over ``gwanje/v1/events/{source}/{device_id}``.

Delivery is at least once and storage exactly once. The consumer subscribes with QoS 1 on a
persistent session (MQTT 5, ``clean_start`` off, a session expiry, a fixed client id) and turns
paho's automatic acknowledgement off: a message's PUBACK is sent only after the batch holding it
has been committed to the inbox by :func:`gwanje.situations.service.ingest_batch`. A consumer
killed at any point therefore loses nothing: the broker re-sends what was not acknowledged, and
the inbox (unique on source and message id) recognises what was already stored.

Threads: paho's network thread only queues what arrives; one worker thread gathers batches (up to
``batch_max`` messages or ``batch_wait_s``), stores them (their units of work publish the resulting
events after commit) and then acknowledges. The broker's in-flight window (our MQTT 5 Receive Maximum) bounds the queue.
"""

from __future__ import annotations

import logging
import queue
import re
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gwanje.core.db import Database
from gwanje.policy.model import Policy
from gwanje.situations import service
from gwanje.situations.hotlist import service as hotlist_service
from gwanje.situations.messages import MAX_MESSAGE_BYTES
from gwanje.situations.inbox import RawMessage
from gwanje.situations.service import IngestBatch

log = logging.getLogger(__name__)

TOPIC_ROOT = "gwanje/v1/events"
DEFAULT_URL = "mqtt://127.0.0.1:1883"
DEFAULT_CLIENT_ID = "gwanje-consumer"
# Inbox sources are "mqtt:<source>" in a 40-character column.
_SOURCE = re.compile(r"^[0-9A-Za-z_.\-]{1,35}$")
_DEVICE = re.compile(r"^[0-9A-Za-z가-힣_.:\-]{1,120}$")
BAD_TOPIC_SOURCE = "mqtt:?topic"
_PUBACK = 0x40
_PUBACK_PACKET = struct.Struct("!BBH")


# The consumer's session: clean start off and a session expiry, so the broker keeps the subscription
# and queues for it while the consumer is away (``gwanje doctor`` reports both).
CLEAN_START = False

# What docs/mqtt.md asks of a Mosquitto 2 broker (its ``conf`` block says exactly this; a test checks
# it). The brokers the tests and benchmarks start use these, and ``gwanje doctor`` compares with them.
DOCUMENTED_BROKER_SETTINGS: dict[str, str] = {
    "persistence": "true",
    "autosave_interval": "30",
    "max_queued_messages": "0",
    "max_queued_bytes": "2147483648",
    "max_inflight_messages": "0",
    "max_packet_size": "1048576",
    "persistent_client_expiration": "14d",
}
MOSQUITTO_DEFAULT_MAX_QUEUED = 1000


def private_broker_conf(port: int, *, persistence: bool = False) -> str:
    """A mosquitto.conf for a broker on 127.0.0.1:``port`` with the documented queue settings. A
    throw-away broker (tests, benchmarks) turns persistence off: nothing outlives it anyway."""
    settings = dict(DOCUMENTED_BROKER_SETTINGS)
    if not persistence:
        settings["persistence"] = "false"
        settings.pop("autosave_interval")
    lines = [f"listener {port} 127.0.0.1", "allow_anonymous true", *(f"{k} {v}" for k, v in settings.items())]
    return "\n".join(lines) + "\n"


class TopicError(ValueError):
    """A topic that does not name a source and a device."""


@dataclass(frozen=True)
class TopicRoute:
    source: str  # inbox source, "mqtt:<source>"
    device_id: str


def route_topic(topic: str, root: str = TOPIC_ROOT) -> TopicRoute:
    """``<root>/{source}/{device_id}`` → where the message came from, or :class:`TopicError`."""
    prefix = root.rstrip("/") + "/"
    if not topic.startswith(prefix):
        raise TopicError(f"토픽 형식 오류 / topic outside {root}/: {topic[:200]}")
    parts = topic[len(prefix) :].split("/")
    if len(parts) != 2:
        raise TopicError(f"토픽 형식 오류 / topic must be {root}/{{source}}/{{device_id}}: {topic[:200]}")
    source, device = parts
    if not _SOURCE.match(source):
        raise TopicError(f"토픽의 출처 형식 오류 / bad source in topic (1-35 of A-Z a-z 0-9 _ . -): {source[:60]}")
    if not _DEVICE.match(device):
        raise TopicError(f"토픽의 장치 ID 형식 오류 / bad device id in topic: {device[:120]}")
    return TopicRoute(f"mqtt:{source}", device)


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtt://[user:pass@]host[:1883]`` or ``mqtts://…[:8883]``."""
    parts = urlsplit(url)
    if parts.scheme not in {"mqtt", "mqtts", "tcp", "ssl"} or not parts.hostname:
        raise ValueError(f"MQTT 주소 형식 오류 / bad MQTT url (mqtt://host:port): {url}")
    tls = parts.scheme in {"mqtts", "ssl"}
    return BrokerAddress(
        parts.hostname,
        parts.port or (8883 if tls else 1883),
        tls,
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
    )


def topic_for(source: str, device_id: str, root: str = TOPIC_ROOT) -> str:
    return f"{root.rstrip('/')}/{source}/{device_id}"


@dataclass(frozen=True)
class ConsumerConfig:
    url: str = DEFAULT_URL
    client_id: str = DEFAULT_CLIENT_ID
    topic_root: str = TOPIC_ROOT
    batch_max: int = 500
    # 0: take what has queued up while the last batch was stored. Under load batches grow on their
    # own; when it is quiet a bell is stored at once instead of waiting for company.
    batch_wait_s: float = 0.0
    # How many unacknowledged messages the broker may have in flight to us (MQTT 5 Receive Maximum).
    receive_maximum: int = 2000
    # How long the broker keeps our session (subscription and queued messages) while we are away.
    session_expiry_s: int = 7 * 24 * 3600
    keepalive_s: int = 30


@dataclass
class ConsumerStats:
    received: int = 0
    stored: int = 0
    duplicate: int = 0
    rejected: int = 0
    acked: int = 0
    batches: int = 0
    connects: int = 0
    store_failures: int = 0


@dataclass
class _Received:
    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes


@dataclass
class _Pending:
    items: list[_Received]
    good: list[RawMessage] = field(default_factory=list)
    bad: list[tuple[RawMessage, str]] = field(default_factory=list)


class MqttConsumer:
    """Subscribes, batches, stores, acknowledges; reconnects on its own.

    What the stored batches record (incidents, rejections, camera faults) is published by their
    units of work to wherever ``db`` publishes (the wiring root sets it).
    """

    def __init__(
        self,
        db: Database,
        policy: Policy,
        config: ConsumerConfig | None = None,
        *,
        hotlist: Callable[[str], Any] | None = None,
    ):
        self.db = db
        self.policy = policy
        self.config = config or ConsumerConfig()
        self.hotlist = hotlist or hotlist_service.HotListCache(db).match
        self.stats = ConsumerStats()
        self.connected = threading.Event()
        self._queue: queue.Queue[_Received] = queue.Queue()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards the connection generation against acks in flight
        self._generation = 0
        self._worker: threading.Thread | None = None
        self._address = parse_broker_url(self.config.url)
        self._client = self._make_client()

    # ---- connection (paho's network thread) ---------------------------------------------------

    def _make_client(self) -> paho.Client:
        c = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=self.config.client_id, protocol=paho.MQTTv5, manual_ack=True
        )
        if self._address.username:
            c.username_pw_set(self._address.username, self._address.password)
        if self._address.tls:
            c.tls_set()
        c.reconnect_delay_set(min_delay=1, max_delay=15)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        return c

    def _connect_properties(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self.config.session_expiry_s
        props.ReceiveMaximum = max(1, min(65535, self.config.receive_maximum))
        return props

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            log.error("MQTT broker refused the connection: %s", reason_code)
            return
        with self._lock:
            self._generation += 1
        self.stats.connects += 1
        log.info(
            "MQTT connected to %s:%d as %s (session present: %s)",
            self._address.host,
            self._address.port,
            self.config.client_id,
            flags.session_present,
        )
        client.subscribe(self.config.topic_root.rstrip("/") + "/#", qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:  # noqa: ANN001
        failed = [rc for rc in reason_codes if rc.is_failure]
        if failed:
            log.error("MQTT broker refused the subscription to %s/#: %s", self.config.topic_root, failed)
            return
        log.info("MQTT subscribed to %s/# (QoS 1)", self.config.topic_root)
        self.connected.set()  # connected and subscribed: from now on nothing published is missed

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        # Message ids belong to one connection: what is still queued will be re-sent by the broker
        # and must not be acknowledged on the next connection under a recycled id.
        with self._lock:
            self._generation += 1
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message: paho.MQTTMessage) -> None:  # noqa: ANN001
        self.stats.received += 1
        self._queue.put(_Received(self._generation, message.mid, message.qos, message.topic, message.payload))

    # ---- batches (worker thread) --------------------------------------------------------------

    def _next_batch(self) -> list[_Received]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.config.batch_wait_s
        while len(batch) < self.config.batch_max:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self._queue.get_nowait() if remaining <= 0 else self._queue.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _split(self, items: list[_Received]) -> _Pending:
        pending = _Pending(items)
        for item in items:
            payload = item.payload
            if len(payload) > MAX_MESSAGE_BYTES:
                # Keep enough to show and to be refused as oversized, not the whole flood.
                payload = payload[: MAX_MESSAGE_BYTES + 1]
            try:
                route = route_topic(item.topic, self.config.topic_root)
            except TopicError as exc:
                pending.bad.append((RawMessage(BAD_TOPIC_SOURCE, payload, "mqtt", item.topic[:120]), str(exc)))
                continue
            pending.good.append(RawMessage(route.source, payload, "mqtt", route.device_id))
        return pending

    def _store(self, pending: _Pending) -> bool:
        """Store until it works or we are told to stop; False means stop before acknowledging."""
        delay = 0.5
        steps: list[Callable[[], IngestBatch]] = []
        if pending.good:
            steps.append(lambda: service.ingest_batch(self.db, self.policy, pending.good, hotlist=self.hotlist))
        if pending.bad:
            steps.append(lambda: service.reject_unroutable(self.db, pending.bad))
        for step in steps:
            while True:
                try:
                    result = step()
                    break
                except Exception:  # the database is away: keep the batch, retry, never ack
                    self.stats.store_failures += 1
                    log.exception("storing a batch of %d failed; retrying in %.1fs", len(pending.items), delay)
                    if self._stop.wait(delay):
                        return False
                    delay = min(delay * 2, 10.0)
            for r in result.results:
                if r.status == "stored":
                    self.stats.stored += 1
                elif r.status == "duplicate":
                    self.stats.duplicate += 1
                else:
                    self.stats.rejected += 1
        return True

    def _ack(self, items: list[_Received]) -> None:
        with self._lock:
            current = [item for item in items if item.qos > 0 and item.generation == self._generation]
            pubacks = [item.mid for item in current if item.qos == 1]
            if pubacks:
                self._send_pubacks(pubacks)
            for item in current:
                if item.qos != 1:
                    self._client.ack(item.mid, item.qos)
            self.stats.acked += len(current)

    def _send_pubacks(self, mids: list[int]) -> None:
        """The batch's PUBACKs as one write to the socket.

        ``Client.ack`` queues one 4-byte packet per message, and wakes the network thread for each:
        a syscall per message on both threads, most of what acknowledging cost. A PUBACK is fixed
        (MQTT 5 §3.4: type 0x40, remaining length 2 means "success" with no properties), so the
        batch's are packed together and handed to paho's writer in one piece; paho's own queue
        keeps them on this connection (it clears them when the connection drops).
        """
        queue_packet = getattr(self._client, "_packet_queue", None)
        if queue_packet is None:  # a paho without the internal writer: one at a time
            for mid in mids:
                self._client.ack(mid, 1)
            return
        queue_packet(_PUBACK, b"".join(_PUBACK_PACKET.pack(_PUBACK, 2, mid) for mid in mids), 0, 0)

    def _work(self) -> None:
        while not self._stop.is_set():
            items = self._next_batch()
            if not items:
                continue
            try:
                pending = self._split(items)
                if not self._store(pending):
                    return
                self.stats.batches += 1
                self._ack(items)
            except Exception:  # a bug here must not stop the consumer; the broker re-sends
                log.exception("unexpected error on a batch of %d; not acknowledged", len(items))

    # ---- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._worker = threading.Thread(target=self._work, name="mqtt-ingest", daemon=True)
        self._worker.start()
        self._client.connect_async(
            self._address.host,
            self._address.port,
            keepalive=self.config.keepalive_s,
            clean_start=CLEAN_START,
            properties=self._connect_properties(),
        )
        self._client.loop_start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand, then disconnect; the session keeps everything not acknowledged."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout)
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> "MqttConsumer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.stop()


def run_consumer(
    db: Database,
    policy: Policy,
    config: ConsumerConfig | None = None,
    *,
    stop_event: threading.Event | None = None,
    hotlist: Callable[[str], Any] | None = None,
) -> None:
    """Consume until ``stop_event`` is set (or forever); for ``gwanje consume`` and the app."""
    stop_event = stop_event or threading.Event()
    consumer = MqttConsumer(db, policy, config, hotlist=hotlist)
    consumer.start()
    try:
        while not stop_event.wait(60):
            s = consumer.stats
            log.info(
                "MQTT ingest: %d received, %d stored, %d duplicate, %d rejected",
                s.received,
                s.stored,
                s.duplicate,
                s.rejected,
            )
    finally:
        consumer.stop()
