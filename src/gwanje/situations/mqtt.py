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
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.client import MQTTErrorCode
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


_PUBLISH = 0x30
_READ_CHUNK = 256 * 1024
_PAHO_INTERNALS = ("_packet_handle", "_loop_rc_handle", "_call_socket_register_write")


def _fresh_in_packet() -> dict[str, Any]:
    return {
        "command": 0,
        "have_remaining": 0,
        "remaining_count": [],
        "remaining_mult": 1,
        "remaining_length": 0,
        "packet": bytearray(),
        "to_process": 0,
        "pos": 0,
    }


class MalformedPublish(ValueError):
    """A packet that does not parse as the MQTT 5 standard says."""


def split_packets(buf: bytearray | bytes) -> tuple[list[tuple[int, bytes]], int]:
    """The complete MQTT packets at the start of ``buf`` as (first byte, body), and how many bytes they
    took; an incomplete packet at the end is left for the next read (MQTT 5 §2.1: fixed header, then a
    variable-byte remaining length of at most four bytes)."""
    packets: list[tuple[int, bytes]] = []
    pos, end = 0, len(buf)
    while end - pos >= 2:
        length, mult, i = 0, 1, pos + 1
        while True:
            if i >= end:
                return packets, pos
            byte = buf[i]
            i += 1
            length += (byte & 127) * mult
            mult *= 128
            if not byte & 128:
                break
            if i - pos > 4:
                raise MalformedPublish("remaining length longer than four bytes")
        if i + length > end:
            break
        packets.append((buf[pos], bytes(buf[i : i + length])))
        pos = i + length
    return packets, pos


def decode_publish(command: int, body: bytes) -> tuple[int, int, str, bytes]:
    """An MQTT 5 PUBLISH body → (packet id, QoS, topic, payload); properties are skipped (§3.3.2)."""
    try:
        qos = (command >> 1) & 3
        tlen = (body[0] << 8) | body[1]
        topic = body[2 : 2 + tlen].decode("utf-8", "replace")
        j = 2 + tlen
        mid = 0
        if qos:
            mid = (body[j] << 8) | body[j + 1]
            j += 2
        plen, mult = 0, 1
        while True:
            byte = body[j]
            j += 1
            plen += (byte & 127) * mult
            mult *= 128
            if not byte & 128:
                break
        j += plen
        if j > len(body) or 2 + tlen > len(body):
            raise MalformedPublish("properties run past the packet")
        return mid, qos, topic, body[j:]
    except IndexError as exc:
        raise MalformedPublish("PUBLISH shorter than its header") from exc


class _ReadingClient(paho.Client):
    """paho's client, reading the socket in large pieces and taking PUBLISH packets on a short path.

    paho reads a packet with three or more ``recv`` calls and builds a message object with its
    properties for each; at thousands of events a second that was most of the consumer's network
    thread (measured: 52–70 µs of CPU per message against 8 µs this way, docs/benchmarks.md). Here one
    ``recv`` takes whatever has arrived, every complete packet in it is handled at once, QoS 0/1
    PUBLISH packets go straight to ``on_publish_raw(mid, qos, topic, payload)``, and every other packet
    (CONNACK, SUBACK, PINGRESP, DISCONNECT…) is handed to paho's own handler as paho would.
    Connection, keep-alive, reconnection, TLS and writing stay paho's.
    """

    def __init__(self, *args: Any, on_publish_raw: Callable[[int, int, str, bytes], None], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.on_publish_raw = on_publish_raw
        self._rbuf = bytearray()
        self._rsock: object | None = None

    def _fill(self) -> bool:
        sock = self._sock
        if sock is None:
            raise ConnectionError("no socket")
        if sock is not self._rsock:  # a new connection: what was buffered belonged to the old one
            self._rsock = sock
            self._rbuf.clear()
        try:
            data = sock.recv(_READ_CHUNK)
        except ssl.SSLWantReadError as err:
            raise BlockingIOError from err
        except ssl.SSLWantWriteError as err:
            self._call_socket_register_write()
            raise BlockingIOError from err
        self._rbuf += data
        return bool(data)

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        if self._sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        try:
            if not self._fill():
                return self._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)
        except BlockingIOError:
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        except OSError:
            return self._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)
        try:
            packets, used = split_packets(self._rbuf)
        except MalformedPublish:
            return self._loop_rc_handle(MQTTErrorCode.MQTT_ERR_PROTOCOL)
        del self._rbuf[:used]
        for command, body in packets:
            if command & 0xF0 == _PUBLISH and (command >> 1) & 3 < 2:
                try:
                    self.on_publish_raw(*decode_publish(command, body))
                except MalformedPublish:
                    return self._loop_rc_handle(MQTTErrorCode.MQTT_ERR_PROTOCOL)
                continue
            self._in_packet = {**_fresh_in_packet(), "command": command, "packet": bytearray(body)}
            try:
                rc = self._packet_handle()
            except Exception:  # paho's MalformedPacket and the like: the connection is dropped and remade
                log.exception("MQTT: a packet from the broker could not be handled")
                rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
            self._in_packet = _fresh_in_packet()
            if rc:
                return self._loop_rc_handle(rc)
            if self._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
        if packets:
            with self._msgtime_mutex:
                self._last_bytes_received = paho.time_func()
        return MQTTErrorCode.MQTT_ERR_SUCCESS


# A paho without the internals the short path uses is used as it comes.
FAST_READER = all(hasattr(paho.Client, name) for name in _PAHO_INTERNALS) and hasattr(paho, "time_func")


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
    receive_maximum: int = 4000
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
        args = (CallbackAPIVersion.VERSION2,)
        kwargs: dict[str, Any] = {"client_id": self.config.client_id, "protocol": paho.MQTTv5, "manual_ack": True}
        c = (
            _ReadingClient(*args, on_publish_raw=self._on_publish, **kwargs)
            if FAST_READER
            else paho.Client(*args, **kwargs)
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
        self._on_publish(message.mid, message.qos, message.topic, message.payload)

    def _on_publish(self, mid: int, qos: int, topic: str, payload: bytes) -> None:
        self.stats.received += 1
        self._queue.put(_Received(self._generation, mid, qos, topic, payload))

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
