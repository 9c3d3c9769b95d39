"""The event bus: typed domain events fan out to every connected console.

In one process, :class:`LocalBus` hands each event to every subscriber's queue. The unit of work
publishes the events its use case recorded, after the transaction commits, from any thread. A bus that spans several app
instances (NATS) wraps the local one: it publishes to the broker and feeds what the broker
delivers into its local subscribers.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from gwanje.core.events import DomainEvent

log = logging.getLogger(__name__)

Event = DomainEvent


class Subscription:
    def __init__(self, bus: "LocalBus", loop: asyncio.AbstractEventLoop, maxsize: int):
        self.bus = bus
        self.loop = loop
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=maxsize)
        self.dropped = 0

    def _put(self, event: Event) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # A console that stops reading must not stall everyone else; it reloads on reconnect.
            self.dropped += 1

    async def get(self) -> Event:
        return await self.queue.get()

    def close(self) -> None:
        self.bus.unsubscribe(self)


class LocalBus:
    """Fan-out to subscribers in this process; safe to publish from worker threads."""

    def __init__(self) -> None:
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()
        self.listeners: list[Callable[[Event], None]] = []

    def subscribe(self, maxsize: int = 1000) -> Subscription:
        sub = Subscription(self, asyncio.get_running_loop(), maxsize)
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def deliver(self, event: Event) -> None:
        """Hand an event to local subscribers (and synchronous listeners)."""
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub._put, event)
            except RuntimeError:  # the subscriber's loop has closed
                self.unsubscribe(sub)
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                log.exception("bus listener failed")

    def publish(self, event: Event) -> None:
        self.deliver(event)

    def publish_many(self, events: list[Event]) -> None:
        for event in events:
            self.publish(event)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subs)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None
