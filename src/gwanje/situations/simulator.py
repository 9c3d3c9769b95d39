"""Device-event simulator: a realistic mix at a chosen rate, placed at real cameras of the registry.

``gwanje simulate`` publishes over MQTT (QoS 1, ``gwanje/v1/events/{source}/{device_id}``) or posts
to ``POST /api/events``; ``gwanje demo`` runs :func:`run_simulator_in_background`, which publishes
over MQTT when ``GWANJE_MQTT_URL`` is set and otherwise stores straight through the ingest use
case, so the demo board is alive with no broker.

The demo's pace is one an operator can keep up with (:data:`DEMO_RATE`: a few incidents a
minute), and the simulator tidies up after itself: a simulated incident nobody has touched for
:data:`DEMO_KEEP_FOR` is cancelled by the simulator (:func:`tidy_simulated_incidents`, on the
incident's timeline with its own name), so the board stays bounded however long the demo runs.

The mix: plate reads dominate (about 2% of them are hot-list plates when a hot list is loaded),
video-analytics rules fire now and then, emergency bells are rarer and three times as frequent at
night (22–05 KST), u-Seoul safety signals are rare, and cameras fail and later recover. With the
policy's ``rooms_access``, badges come and go at its doors (rarely a refused badge or a door held open). With
``--with-bad`` about 1% of messages are malformed, oversized, on a bad topic, or replays.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from gwanje.core.audit import Actor
from gwanje.core.clock import KST, utcnow
from gwanje.core.db import Database
from gwanje.core.errors import Forbidden
from gwanje.core.migrate import upgrade
from gwanje.policy import load_default
from gwanje.registry.models import Camera
from gwanje.registry.service import seed_seongdong
from gwanje.situations import rules, service
from gwanje.situations.hotlist import service as hotlist_service
from gwanje.situations.inbox import RawMessage
from gwanje.situations.models import InboxMessage, Incident
from gwanje.situations.mqtt import TOPIC_ROOT, parse_broker_url, route_topic, topic_for

log = logging.getLogger(__name__)

# Sources (the topic's first level): which system the message comes from.
SOURCE_OF = {
    "plate_read": "lpr",
    "video_analytics": "analytics",
    "emergency_bell": "bells",
    "u_seoul_safety": "useoul",
    "camera_fault": "nms",
    "camera_recovery": "nms",
    "room_access": "doors",
}
DAY_WEIGHTS = {
    "plate_read": 70.0,
    "video_analytics": 18.0,
    "emergency_bell": 2.0,
    "u_seoul_safety": 1.0,
    "camera_fault": 1.0,
}
# Badges at the center's doors, only when the policy has rooms_access (a share beside the mix above,
# which keeps its proportions): mostly entries and exits of authorised badges, now and then a badge
# the reader refuses or a door left open past the policy's held_open_seconds (each raises an incident).
ROOM_WEIGHT = 2.0
ROOM_REFUSED_RATE = 0.03
ROOM_HELD_OPEN_RATE = 0.02
# The refused badges are a few unknown cards: the rooms keep one open incident per room and badge (and
# per door held open), which the simulator's tidying cannot cancel (they are raised by the rooms, not by
# its message), so a few keys keep the board bounded however long the demo runs.
ROOM_UNKNOWN_BADGES = ("UNKNOWN-0001", "UNKNOWN-0002", "UNKNOWN-0003")
NIGHT_BELL_FACTOR = 3.0
HOT_HIT_RATE = 0.02
BAD_RATE = 0.01
# The demo's feed: about one message every 4 s, a quarter of which raise an incident (≈ 3–4 a minute);
# an incident nobody has touched in DEMO_KEEP_FOR is tidied away by the simulator itself.
DEMO_RATE = 0.25
DEMO_KEEP_FOR = timedelta(minutes=5)
DEMO_TIDY_EVERY_S = 30.0
SIMULATOR_NAME = "데모 시뮬레이터 / demo simulator"
MESSAGE_ID_PREFIX = "sim-"
RULES = [
    ("loitering", "person"),
    ("intrusion", "person"),
    ("fall_detection", "person"),
    ("fight", "person"),
    ("abandoned_object", "bag"),
    ("crowding", "person"),
    ("wrong_way", "vehicle"),
    ("illegal_parking", "vehicle"),
    ("illegal_dumping", "person"),
]
FAULTS = ["offline", "offline", "video_loss", "tamper", "storage"]
PLATE_SYLLABLES = "가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주하허호배"
U_SEOUL_CATEGORIES = ["child", "child", "elderly", "elderly", "disabled", "woman", "other"]


@dataclass(frozen=True)
class SimCamera:
    number: str
    latitude: float
    longitude: float
    purpose: str


@dataclass(frozen=True)
class SimDoor:
    device: str  # the door's device id (rooms_access.doors)
    room: str


def doors_of(policy: Any) -> list[SimDoor]:
    """The policy's doors, or none when it has no ``rooms_access`` (then no ``room_access`` is sent)."""
    rooms_access = getattr(policy, "rooms_access", None)
    if rooms_access is None:
        return []
    return [SimDoor(d.device, d.room) for d in rooms_access.doors]


@dataclass(frozen=True)
class SimMessage:
    source: str  # topic source (without "mqtt:")
    device_id: str
    body: bytes
    type: str | None
    topic: str | None = None  # set only for a deliberately bad topic
    raises_incident: bool = False


def load_cameras(db: Database) -> list[SimCamera]:
    with db.reading() as session:
        rows = session.execute(
            select(Camera.management_number, Camera.latitude, Camera.longitude, Camera.primary_purpose)
            .where(Camera.status != "retired")
            .order_by(Camera.id)
        ).all()
    return [SimCamera(*r) for r in rows]


def load_hot_plates(db: Database) -> list[str]:
    try:
        return hotlist_service.hot_plates(db)
    except Exception:  # noqa: BLE001 - no hot list table yet: reads simply never hit
        return []


def packaged_cameras() -> list[SimCamera]:
    """The cameras `gwanje seed seongdong` would create, without touching any real database."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'seed.db'}")
        try:
            upgrade(db.engine)
            seed_seongdong(db, load_default())
            return load_cameras(db)
        finally:
            db.dispose()


def random_plate(rnd: random.Random) -> str:
    head = rnd.randint(10, 399) if rnd.random() < 0.6 else rnd.randint(10, 99)
    return f"{head}{rnd.choice(PLATE_SYLLABLES)}{rnd.randint(1000, 9999)}"


@dataclass
class EventMix:
    """Makes one realistic message at a time; deterministic for a given seed."""

    cameras: list[SimCamera]
    hot_plates: list[str] = field(default_factory=list)
    seed: int | None = None
    with_bad: bool = False
    run_id: str = ""
    clock: Callable[[], datetime] = utcnow
    # The center's doors and, per room, the badges the doors let through (no doors: no room_access).
    doors: list[SimDoor] = field(default_factory=list)
    room_badges: dict[str, list[str]] = field(default_factory=dict)
    held_open_seconds: int = 60
    _seq: int = 0
    _faulted: list[SimCamera] = field(default_factory=list)
    # Each device's own counter (the envelope's ``seq``), per (source, device) as the ingest tracks it.
    _device_seq: dict[tuple[str, str], int] = field(default_factory=dict)
    _sent: list[SimMessage] = field(default_factory=list)
    _inside: dict[str, list[str]] = field(default_factory=dict)  # room -> badges in, by this simulator

    def __post_init__(self) -> None:
        if not self.cameras:
            raise ValueError("등록된 카메라가 없습니다 / no cameras to place events at (run `gwanje seed seongdong`)")
        self.rnd = random.Random(self.seed)
        self.run_id = self.run_id or f"{self.rnd.getrandbits(40):010x}"
        self.lpr = [c for c in self.cameras if c.purpose in {"crime_prevention", "illegal_parking", "green_parking"}]
        self.street = [c for c in self.cameras if c.purpose == "crime_prevention"] or self.cameras
        self.lpr = self.lpr or self.cameras

    def last_seq(self) -> dict[tuple[str, str], int]:
        """Each device's last sequence number so far, by (topic source, device id)."""
        return dict(self._device_seq)

    def weights(self, at: datetime) -> dict[str, float]:
        weights = dict(DAY_WEIGHTS)
        hour = at.astimezone(KST).hour
        if hour >= 22 or hour < 5:
            weights["emergency_bell"] *= NIGHT_BELL_FACTOR
        if self._faulted:
            weights["camera_recovery"] = weights["camera_fault"] * min(3.0, len(self._faulted))
        if self.doors:
            weights["room_access"] = ROOM_WEIGHT
        return weights

    def next(self) -> SimMessage:
        if self.with_bad and self.rnd.random() < BAD_RATE:
            return self._bad()
        now = self.clock()
        weights = self.weights(now)
        kind = self.rnd.choices(list(weights), list(weights.values()))[0]
        message = getattr(self, "_" + kind)(now)
        if len(self._sent) < 200:
            self._sent.append(message)
        else:
            self._sent[self.rnd.randrange(200)] = message
        return message

    def _envelope(self, type_: str, device_id: str, payload: dict, at: datetime) -> bytes:
        self._seq += 1
        key = (SOURCE_OF[type_], device_id)
        self._device_seq[key] = self._device_seq.get(key, 0) + 1
        body = {
            "message_id": f"{MESSAGE_ID_PREFIX}{self.run_id}-{self._seq}",
            "type": type_,
            "occurred_at": at.isoformat(timespec="milliseconds"),
            "device_id": device_id,
            "seq": self._device_seq[key],
            "payload": payload,
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def _jitter(self, value: float, metres: float) -> float:
        return round(value + self.rnd.uniform(-metres, metres) / 111_000, 6)

    def _plate_read(self, now: datetime) -> SimMessage:
        cam = self.rnd.choice(self.lpr)
        hit = bool(self.hot_plates) and self.rnd.random() < HOT_HIT_RATE
        plate = self.rnd.choice(self.hot_plates) if hit else random_plate(self.rnd)
        payload = {"camera": cam.number, "plate": plate, "confidence": round(self.rnd.uniform(0.72, 0.99), 2)}
        return SimMessage(
            "lpr", cam.number, self._envelope("plate_read", cam.number, payload, now), "plate_read", raises_incident=hit
        )

    def _video_analytics(self, now: datetime) -> SimMessage:
        cam = self.rnd.choice(self.cameras)
        rule, obj = self.rnd.choice(RULES)
        w, h = round(self.rnd.uniform(0.05, 0.3), 3), round(self.rnd.uniform(0.1, 0.5), 3)
        box = [round(self.rnd.uniform(0, 1 - w), 3), round(self.rnd.uniform(0, 1 - h), 3), w, h]
        payload = {
            "camera": cam.number,
            "rule": rule,
            "object_class": obj,
            "box": box,
            "confidence": round(self.rnd.uniform(0.55, 0.98), 2),
        }
        return SimMessage(
            "analytics",
            cam.number,
            self._envelope("video_analytics", cam.number, payload, now),
            "video_analytics",
            raises_incident=True,
        )

    def _emergency_bell(self, now: datetime) -> SimMessage:
        cam = self.rnd.choice(self.street)
        bell = "BELL-" + cam.number.rsplit("-", 1)[0]
        payload = {
            "bell_id": bell,
            "latitude": self._jitter(cam.latitude, 15),
            "longitude": self._jitter(cam.longitude, 15),
            "camera": cam.number,
        }
        return SimMessage(
            "bells", bell, self._envelope("emergency_bell", bell, payload, now), "emergency_bell", raises_incident=True
        )

    def _u_seoul_safety(self, now: datetime) -> SimMessage:
        cam = self.rnd.choice(self.cameras)
        payload = {
            "person_id": f"US-{self.rnd.randint(100000, 999999)}",
            "category": self.rnd.choice(U_SEOUL_CATEGORIES),
            "latitude": self._jitter(cam.latitude, 150),
            "longitude": self._jitter(cam.longitude, 150),
            "accuracy_m": round(self.rnd.uniform(8, 250), 1),
        }
        return SimMessage(
            "useoul",
            "useoul-gw-1",
            self._envelope("u_seoul_safety", "useoul-gw-1", payload, now),
            "u_seoul_safety",
            raises_incident=True,
        )

    def _camera_fault(self, now: datetime) -> SimMessage:
        cam = self.rnd.choice(self.cameras)
        if cam not in self._faulted:
            self._faulted.append(cam)
        payload = {"camera": cam.number, "fault": self.rnd.choice(FAULTS)}
        return SimMessage(
            "nms", "nms-1", self._envelope("camera_fault", "nms-1", payload, now), "camera_fault", raises_incident=True
        )

    def _camera_recovery(self, now: datetime) -> SimMessage:
        cam = self._faulted.pop(self.rnd.randrange(len(self._faulted)))
        payload = {"camera": cam.number, "detail": "자동 복구 / recovered"}
        return SimMessage("nms", "nms-1", self._envelope("camera_recovery", "nms-1", payload, now), "camera_recovery")

    def _room_access(self, now: datetime) -> SimMessage:
        door = self.rnd.choice(self.doors)
        badges = self.room_badges.get(door.room, [])
        inside = self._inside.setdefault(door.room, [])
        roll = self.rnd.random()
        raises = False
        if badges and roll < ROOM_REFUSED_RATE:
            payload = {"door": door.device, "event": "refused", "badge": self.rnd.choice(ROOM_UNKNOWN_BADGES)}
            raises = True
        elif roll < ROOM_REFUSED_RATE + ROOM_HELD_OPEN_RATE or not badges:
            # Past the limit now and then; a door with no badges known to the simulator (no authorisation
            # in force) only stands open briefly, so it raises nothing.
            if badges:
                held = self.held_open_seconds + self.rnd.randint(5, 240)
            else:
                held = self.rnd.randint(5, max(5, self.held_open_seconds - 1))
            payload = {"door": door.device, "event": "held_open", "held_seconds": held}
            raises = held >= self.held_open_seconds
        elif inside and (len(inside) == len(badges) or self.rnd.random() < 0.5):
            badge = inside.pop(self.rnd.randrange(len(inside)))
            payload = {"door": door.device, "event": "exit", "badge": badge}
        else:
            badge = self.rnd.choice([b for b in badges if b not in inside])
            inside.append(badge)
            payload = {"door": door.device, "event": "entry", "badge": badge}
        return SimMessage(
            "doors",
            door.device,
            self._envelope("room_access", door.device, payload, now),
            "room_access",
            raises_incident=raises,
        )

    def _bad(self) -> SimMessage:
        kind = self.rnd.choice(["json", "schema", "oversized", "topic", "replay"])
        self._seq += 1
        mid = f"sim-{self.run_id}-{self._seq}"
        if kind == "replay" and self._sent:
            return self.rnd.choice(self._sent)
        if kind == "json" or kind == "replay":
            return SimMessage("lpr", "lpr-garbled", b'{"message_id": "' + mid.encode() + b'", "type": ', None)
        if kind == "schema":
            body = {
                "message_id": mid,
                "type": "video_analytics",
                "payload": {"camera": self.cameras[0].number, "rule": "Loitering!"},
            }
            return SimMessage("analytics", "va-bad", json.dumps(body).encode(), "video_analytics")
        if kind == "oversized":
            body = {"message_id": mid, "type": "manual_report", "payload": {"title": "x", "description": "x" * 70_000}}
            return SimMessage("lpr", "lpr-big", json.dumps(body).encode(), "manual_report")
        read = self._plate_read(self.clock())
        self._device_seq[("lpr", read.device_id)] -= 1  # never routed to its device: not one of its numbers
        return SimMessage("bad", "x", read.body, "plate_read", topic=f"{TOPIC_ROOT}/no-device-level")


# ---- senders -----------------------------------------------------------------------------------


class MqttSender:
    """QoS 1 publisher; blocks only when too many publishes are still unacknowledged."""

    def __init__(self, url: str, topic_root: str = TOPIC_ROOT, client_id: str | None = None):
        address = parse_broker_url(url)
        self.topic_root = topic_root
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id or "", protocol=paho.MQTTv5)
        if address.username:
            self.client.username_pw_set(address.username, address.password)
        if address.tls:
            self.client.tls_set()
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect(address.host, address.port, keepalive=30)
        self.client.loop_start()
        self._last = None

    def send(self, messages: list[SimMessage]) -> None:
        for m in messages:
            topic = m.topic or topic_for(m.source, m.device_id, self.topic_root)
            if m.topic and self.topic_root != TOPIC_ROOT:
                topic = self.topic_root + m.topic[len(TOPIC_ROOT) :]
            self._last = self.client.publish(topic, m.body, qos=1)

    def close(self) -> None:
        if self._last is not None:
            with contextlib.suppress(RuntimeError, ValueError):
                self._last.wait_for_publish(10)
        self.client.disconnect()
        self.client.loop_stop()


class HttpSender:
    """``POST /api/events`` with a device bearer token; 202 stored, 200 duplicate, 422 kept-but-rejected."""

    def __init__(self, url: str, token: str):
        self.url = url.rstrip("/") + "/api/events"
        self.http = httpx.Client(
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, timeout=10
        )
        self.statuses: dict[int, int] = {}

    def send(self, messages: list[SimMessage]) -> None:
        for m in messages:
            r = self.http.post(self.url, content=m.body, headers={"X-Device-Id": m.device_id})
            self.statuses[r.status_code] = self.statuses.get(r.status_code, 0) + 1
            if r.status_code in (401, 403):
                raise Forbidden("장치 토큰이 거부되었습니다", f"device token refused: HTTP {r.status_code}")

    def close(self) -> None:
        self.http.close()


class DirectSender:
    """No broker: store through the ingest use case in this process (``gwanje demo``); what it
    records is published by its units of work to wherever ``db`` publishes (the app's bus)."""

    def __init__(self, db: Database, policy, clock: Callable[[], datetime] = utcnow):  # noqa: ANN001
        self.db, self.policy, self.clock = db, policy, clock
        self.hotlist = hotlist_service.HotListCache(db).match

    def send(self, messages: list[SimMessage]) -> None:
        batch = []
        for m in messages:
            if m.topic:
                continue  # a bad topic only means something on a broker
            route = route_topic(topic_for(m.source, m.device_id))
            batch.append(RawMessage("sim:" + route.source[len("mqtt:") :], m.body, "sim", route.device_id))
        service.ingest_batch(self.db, self.policy, batch, hotlist=self.hotlist, now=self.clock())

    def close(self) -> None:
        return None


# ---- tidying up ----------------------------------------------------------------------------------


def tidy_simulated_incidents(
    db: Database, policy: Any, *, now: datetime | None = None, keep_for: timedelta = DEMO_KEEP_FOR
) -> list[int]:
    """Cancel the simulator's own incidents that are still untouched (``new``) after ``keep_for``.

    Only incidents raised by a simulated message (its ``message_id`` starts ``sim-``) and that nobody
    has acknowledged: what an operator took on stays theirs. Each cancellation goes through the
    state machine, so the timeline and the live board say who did it (the simulator, by name) and why.
    """
    now = now or utcnow()
    with db.reading() as session:
        rows = session.execute(
            select(Incident.id, Incident.recognising_role)
            .join(InboxMessage, InboxMessage.id == Incident.inbox_id)
            .where(
                Incident.status == "new",
                Incident.created_at < now - keep_for,
                InboxMessage.message_id.like(MESSAGE_ID_PREFIX + "%"),
            )
            .order_by(Incident.id)
        ).all()
    done = []
    note = "모의 상황 자동 정리 (응대 없음) / simulated incident tidied away (nobody responded)"
    for incident_id, role in rows:
        # The simulator stands in for the operator the duty table names to recognise the situation.
        actor = Actor(id=None, name=SIMULATOR_NAME, role=role)
        try:
            service.act(db, policy, actor, incident_id, "cancel", note=note, now=now)
        except Exception as exc:  # noqa: BLE001 - someone acted on it meanwhile: it is theirs now
            log.info("simulated incident %s not tidied: %s", incident_id, exc)
            continue
        done.append(incident_id)
    return done


def open_incident_count(db: Database) -> int:
    with db.reading() as session:
        return session.scalar(select(func.count()).select_from(Incident).where(Incident.status.in_(rules.OPEN))) or 0


# ---- pacing ------------------------------------------------------------------------------------


@dataclass
class SimulationReport:
    sent: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    incident_raising: int = 0
    seconds: float = 0.0


def simulate(
    sender: Any,
    mix: EventMix,
    rate: float,
    *,
    count: int | None = None,
    duration: float | None = None,
    stop_event: threading.Event | None = None,
    tick: float = 0.1,
) -> SimulationReport:
    """Send at ``rate`` events/s until ``count`` are sent, ``duration`` passes, or ``stop_event``."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    stop_event = stop_event or threading.Event()
    report = SimulationReport()
    start = time.monotonic()
    while not stop_event.is_set():
        elapsed = time.monotonic() - start
        if duration is not None and elapsed >= duration:
            break
        due = int(elapsed * rate) + 1 - report.sent
        if count is not None:
            due = min(due, count - report.sent)
            if due <= 0 and report.sent >= count:
                break
        if due > 0:
            batch = [mix.next() for _ in range(due)]
            try:
                sender.send(batch)
            except Forbidden:
                raise
            except Exception:  # a simulator keeps going through a hiccup
                log.exception("sending %d simulated events failed", len(batch))
            for m in batch:
                report.by_type[m.type or "bad"] = report.by_type.get(m.type or "bad", 0) + 1
                report.incident_raising += m.raises_incident
            report.sent += len(batch)
        next_at = start + (report.sent / rate)
        stop_event.wait(max(0.0, min(tick, next_at - time.monotonic())))
    report.seconds = time.monotonic() - start
    return report


def room_mix(policy: Any, room_badges: dict[str, list[str]] | None) -> dict[str, Any]:
    """The :class:`EventMix` arguments for the policy's doors (none without ``rooms_access``)."""
    doors = doors_of(policy)
    if not doors:
        return {}
    return {
        "doors": doors,
        "room_badges": dict(room_badges or {}),
        "held_open_seconds": policy.rooms_access.held_open_seconds,
    }


def run_simulator_in_background(
    db: Database,
    policy: Any,
    *,
    settings: Any = None,
    rate: float = DEMO_RATE,
    stop_event: threading.Event | None = None,
    seed: int | None = None,
    keep_for: timedelta | None = DEMO_KEEP_FOR,
    room_badges: dict[str, list[str]] | None = None,
) -> tuple[threading.Thread, threading.Event]:
    """For ``gwanje demo``: a daemon thread that keeps the board alive until ``stop_event`` is set.

    With ``settings.mqtt_url`` it publishes over MQTT (something must consume: the app's or a
    `gwanje consume` process); without, it ingests directly on ``db`` (whose units of work publish
    to the app's bus). With ``keep_for`` a second thread tidies the simulator's untouched incidents
    (:func:`tidy_simulated_incidents`) every :data:`DEMO_TIDY_EVERY_S`. With the policy's
    ``rooms_access``, ``room_badges`` (room → badges) come and go at its doors.
    """
    stop_event = stop_event or threading.Event()

    def tidy() -> None:
        while not stop_event.wait(DEMO_TIDY_EVERY_S):
            try:
                tidy_simulated_incidents(db, policy, keep_for=keep_for)
            except Exception:  # the database was busy: next time
                log.exception("tidying the simulated incidents failed")

    if keep_for is not None:
        threading.Thread(target=tidy, name="event-simulator-tidy", daemon=True).start()

    def run() -> None:
        try:
            cameras = load_cameras(db)
            mix = EventMix(cameras, load_hot_plates(db), seed=seed, **room_mix(policy, room_badges))
            if settings is not None and settings.mqtt_url:
                sender = MqttSender(settings.mqtt_url)
            else:
                sender = DirectSender(db, policy)
            try:
                simulate(sender, mix, rate, stop_event=stop_event, tick=0.5)
            finally:
                sender.close()
        except Exception:  # the demo keeps serving without the simulator
            log.exception("the event simulator stopped")

    thread = threading.Thread(target=run, name="event-simulator", daemon=True)
    thread.start()
    return thread, stop_event
