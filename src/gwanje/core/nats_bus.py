"""The event bus across app instances, over NATS (``GWANJE_BUS_URL=nats://host:4222``).

Each instance publishes its events to one subject (``gwanje.live`` unless the URL says
``?subject=…``) and hands what arrives from the other instances to its own subscribers.

Own events are delivered locally at once, never waiting for the broker, and are not delivered a
second time: the connection is opened with ``no_echo`` (the server does not send an instance its
own messages back) and every message also carries this instance's id, which the receiver skips,
in case a server or proxy ignores ``no_echo``. Delivering locally first means a NATS outage never
blinds the consoles connected to the instance that took the emergency bell; the other instances
catch up when the client reconnects (nats-py keeps what was published meanwhile in its pending
buffer, up to ``pending_size``).

Core NATS, not JetStream: a console that reconnects loads a fresh snapshot from the database, so
the feed needs no replay; durability lives in PostgreSQL.

``publish`` may be called from any thread (sync routes run in the thread pool): the message is
handed to the event loop that ``start`` ran on with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from gwanje.core.bus import Event, LocalBus
from gwanje.core.events import from_wire

log = logging.getLogger(__name__)

DEFAULT_SUBJECT = "gwanje.live"
START_WAIT_SECONDS = 3.0
ERROR_LOG_SECONDS = 30.0
_SUBJECT_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def split_bus_url(url: str) -> tuple[str, str]:
    """``nats://u:p@host:4222?subject=gwanje.live.x`` -> (server URL for nats-py, subject)."""
    parts = urlsplit(url)
    if parts.scheme not in ("nats", "tls", "ws", "wss"):
        raise ValueError(f"버스 주소는 nats://로 시작해야 합니다 / the bus URL must start with nats://: {url!r}")
    subject = parse_qs(parts.query).get("subject", [DEFAULT_SUBJECT])[-1]
    if (
        not subject
        or set(subject) - _SUBJECT_CHARS
        or ".." in subject
        or subject.startswith(".")
        or subject.endswith(".")
    ):
        raise ValueError(f"NATS 주제 이름이 올바르지 않습니다 / invalid NATS subject: {subject!r}")
    return urlunsplit((parts.scheme, parts.netloc, "", "", "")), subject


class NatsBus(LocalBus):
    """A :class:`LocalBus` whose events also travel to, and arrive from, other instances."""

    def __init__(self, url: str, subject: str | None = None, *, pending_size: int = 8 * 1024 * 1024):
        super().__init__()
        self.server, url_subject = split_bus_url(url)
        self.subject = subject or url_subject
        self.instance_id = uuid.uuid4().hex
        self.pending_size = pending_size
        self._nc: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connector: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()
        self._state_lock = threading.Lock()
        self._stopping = False
        self._last_error_log = -ERROR_LOG_SECONDS
        self.received = 0  # events from other instances, for tests and health checks
        self.lost = 0  # events that could not be handed to the broker

    # ---- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, waiting a few seconds for the broker; if it does not answer, keep trying.

        The app starts either way: without the broker its consoles still get their own
        instance's events, and the client keeps retrying (and logging) until it connects.
        """
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._connector = asyncio.create_task(self._connect())
        done, _ = await asyncio.wait({self._connector}, timeout=START_WAIT_SECONDS)
        if not done:
            log.error("NATS %s does not answer; live feed is local until it does (still trying)", self.server)
        elif self._connector.exception() is not None:
            exc = self._connector.exception()
            raise RuntimeError(f"NATS {self.server}: {type(exc).__name__}: {exc}") from exc

    async def _connect(self) -> None:
        import nats

        nc = await nats.connect(
            self.server,
            name=f"gwanje-{self.instance_id[:8]}",
            no_echo=True,
            allow_reconnect=True,
            # Retry forever, the first connection included: nats-py keeps trying a broker that is
            # down at start-up when this is negative, so start() does not wait on it for long.
            max_reconnect_attempts=-1,
            reconnect_time_wait=1,
            connect_timeout=3,
            pending_size=self.pending_size,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        await nc.subscribe(self.subject, cb=self._on_message)
        await nc.flush(timeout=3)  # the subscription is registered before anyone publishes
        with self._state_lock:
            self._nc = nc
        log.info("live feed on NATS %s subject %s (instance %s)", self.server, self.subject, self.instance_id[:8])

    async def stop(self) -> None:
        self._stopping = True
        if self._connector is not None and not self._connector.done():
            self._connector.cancel()  # still retrying the first connection
        self._connector = None
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        with self._state_lock:
            nc, self._nc = self._nc, None
        if nc is not None:
            try:
                await nc.drain()  # sends what is pending, then closes
            except Exception:
                log.warning("NATS drain failed", exc_info=True)
        self._loop = None

    @property
    def connected(self) -> bool:
        nc = self._nc
        return bool(nc is not None and nc.is_connected)

    # ---- publishing --------------------------------------------------------------------------

    def publish(self, event: Event) -> None:
        self.publish_many([event])

    def publish_many(self, events: list[Event]) -> None:
        """Deliver locally, then hand the encoded events to the event loop in one call: one wake-up
        of the loop and one task per unit of work, sent in order, not one of each per event."""
        if not events:
            return
        for event in events:
            self.deliver(event)  # this instance's consoles first, whatever the broker does
        loop = self._loop
        if loop is None:
            self.lost += len(events)
            log.warning("NATS bus not started; %d event(s) kept local (%s)", len(events), events[0].kind)
            return
        datas = [
            json.dumps(
                {"origin": self.instance_id, "event": event.to_wire()},
                ensure_ascii=False,
                default=str,
                separators=(",", ":"),
            ).encode("utf-8")
            for event in events
        ]
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._spawn(datas)
        else:
            try:
                loop.call_soon_threadsafe(self._spawn, datas)
            except RuntimeError:  # the loop has closed: the app is shutting down
                self.lost += len(datas)

    def _spawn(self, datas: list[bytes]) -> None:
        task = asyncio.get_running_loop().create_task(self._send(datas))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, datas: list[bytes]) -> None:
        nc = self._nc
        if nc is None:
            self.lost += len(datas)
            log.warning("NATS not connected; %d event(s) not shared with other instances", len(datas))
            return
        for data in datas:
            try:
                await nc.publish(self.subject, data)
            except Exception as exc:  # noqa: BLE001 - a broker problem must not break a use case
                self.lost += 1
                log.warning("NATS publish failed: %s: %s", type(exc).__name__, exc)

    # ---- receiving ---------------------------------------------------------------------------

    async def _on_message(self, msg: Any) -> None:
        try:
            envelope = json.loads(msg.data)
            origin, body = envelope["origin"], envelope["event"]
            if not isinstance(body, dict):
                raise ValueError("no event")
            event = from_wire(body)
        except (ValueError, KeyError, TypeError) as exc:  # UnknownEvent is a ValueError
            log.warning("ignoring malformed message on %s: %s", msg.subject, exc)
            return
        if origin == self.instance_id:
            return  # already delivered locally when published
        self.received += 1
        self.deliver(event)

    async def _on_error(self, exc: Exception) -> None:
        # While the broker is down this fires on every retry (each second): say it now and then.
        now = time.monotonic()
        if now - self._last_error_log >= ERROR_LOG_SECONDS:
            self._last_error_log = now
            log.warning("NATS error: %s: %s", type(exc).__name__, exc)

    async def _on_disconnected(self) -> None:
        if not self._stopping:
            log.warning("NATS %s disconnected; reconnecting", self.server)

    async def _on_reconnected(self) -> None:
        log.info("NATS %s reconnected", self.server)
