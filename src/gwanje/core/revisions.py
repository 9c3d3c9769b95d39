"""Revision counters the database itself keeps: every statement that changes a watched table bumps
its counter, in the same transaction, by a trigger (migration ``0006_revisions``). Nothing in the
application has to remember to do it, and neither does a person editing the tables by hand.

Caches key what they keep on a counter (:class:`RevisionCache`): each request reads the counters once
(:class:`RevisionReader`, one statement), and a process answers from memory while they stand where they
stood when it built the answer. Several processes and instances stay true to one database, with no
message of gwanje's own between them, and a change is in the very next answer of every one.

| counter | watched tables | what caches it |
| --- | --- | --- |
| ``registry`` | cameras, sites, departments, organisations | the map's GeoJSON, camera search pages |
| ``accounts`` | users, api_tokens | bearer-token resolution |
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gwanje.core.db import Base, Database

REGISTRY = "registry"
ACCOUNTS = "accounts"
WATCHED: dict[str, tuple[str, ...]] = {
    REGISTRY: ("cameras", "sites", "departments", "organisations"),
    ACCOUNTS: ("users", "api_tokens"),
}


class Revision(Base):
    __tablename__ = "revisions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)


_SQL = "SELECT name, value FROM revisions"
_READ = text(_SQL)


def read_revisions(db: Database) -> dict[str, int]:
    """Every counter, read in one statement (a fraction of a millisecond)."""
    with db.engine.connect() as conn:
        rows = conn.execute(_READ).all()
        conn.rollback()
    return {name: value for name, value in rows}


K = TypeVar("K")
V = TypeVar("V")


class RevisionCache(Generic[K, V]):
    """Values built from the tables behind one counter, kept while that counter stands still.

    ``get(key, revision, build)`` returns the value built at ``revision``, or builds it. The caller
    reads the revision *before* the data it builds from, so that a value is never filed under a
    revision newer than what it saw. A build that returns None is not kept (a refusal is asked again).
    At most ``size`` keys are kept (least recently used go first) and, when ``max_bytes`` is set, values
    (bytes) of at most that many bytes in all; one larger than a quarter of it is answered, not kept —
    so that no caller, however many different queries it sends, can make a process hold more.
    """

    def __init__(self, size: int = 256, max_bytes: int | None = None):
        self.size = size
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._revision: int | None = None
        self._items: OrderedDict[K, V] = OrderedDict()
        self._bytes = 0

    def _weight(self, value: V) -> int:
        return len(value) if self.max_bytes is not None and isinstance(value, bytes | bytearray) else 0

    @property
    def kept_bytes(self) -> int:
        return self._bytes

    def get(self, key: K, revision: int | None, build: Callable[[], V]) -> V:
        if revision is None:  # nobody can say whether the tables moved: build, keep nothing
            return build()
        with self._lock:
            if self._revision == revision and key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = build()
        if value is None:
            return value
        weight = self._weight(value)
        if self.max_bytes is not None and weight > self.max_bytes // 4:
            return value
        with self._lock:
            if self._revision != revision:
                if self._revision is not None and revision < self._revision:
                    return value  # built from an older read than what is kept: do not keep it
                self._revision = revision
                self._items.clear()
                self._bytes = 0
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= self._weight(old)
            self._items[key] = value
            self._bytes += weight
            while len(self._items) > self.size or (self.max_bytes is not None and self._bytes > self.max_bytes):
                _, dropped = self._items.popitem(last=False)
                self._bytes -= self._weight(dropped)
        return value

    def peek(self, key: K, revision: int | None) -> V | None:
        """The value kept for ``key`` at ``revision``, or None; builds nothing."""
        if revision is None:
            return None
        with self._lock:
            if self._revision == revision:
                return self._items.get(key)
        return None


# Connections a process keeps to read the counters on its event loop (one statement each, autocommit).
READERS = 4
READ_TIMEOUT_SECONDS = 5.0


def _retrieve(future: asyncio.Future[Any]) -> None:
    """A shared read whose every waiter gave up still had its outcome looked at (no asyncio warning)."""
    if not future.cancelled():
        future.exception()


class RevisionReader:
    """The counters as the database holds them when a request begins.

    Read once per request, before anything kept is served, so that whatever committed before the
    request arrived — in this process or any other — is in its answer. On PostgreSQL the read is one
    statement on a small set of autocommit connections on the app's event loop (a fraction of a
    millisecond, no thread hop); on SQLite, and anywhere the reader was not started, it is read through
    the engine in a worker thread. A read that fails raises like any database error (503).
    """

    def __init__(self, db: Database):
        self.db = db
        self._pg = db.dialect == "postgresql"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[Any] = []
        self._open = 0
        self._available: asyncio.Condition | None = None
        self._next: asyncio.Future[dict[str, int]] | None = None  # the read not yet begun
        self._reading: asyncio.Task[None] | None = None

    def current(self) -> dict[str, int]:
        """Read now, from any thread (blocking)."""
        return read_revisions(self.db)

    async def read(self) -> dict[str, int]:
        """Requests that arrive while a read is under way share the next one, which begins after all of
        them arrived: still read-after-write for each, but one statement per read's duration rather
        than one per request (under sixteen clients most of the statements a request cost)."""
        if not self._pg or self._loop is None or asyncio.get_running_loop() is not self._loop:
            return await asyncio.to_thread(read_revisions, self.db)
        if self._next is None:
            self._next = self._loop.create_future()
            self._next.add_done_callback(_retrieve)
        waiting = self._next
        if self._reading is None or self._reading.done():
            self._reading = self._loop.create_task(self._read_while_asked())
        return await asyncio.shield(waiting)

    async def _read_while_asked(self) -> None:
        while self._next is not None:
            waiting, self._next = self._next, None
            try:
                waiting.set_result(await self._read_once())
            except asyncio.CancelledError:
                waiting.cancel()
                raise
            except Exception as exc:  # noqa: BLE001 - every request that shared the read hears why
                waiting.set_exception(exc)

    async def _read_once(self) -> dict[str, int]:
        try:
            conn = await self._checkout()
        except Exception:  # noqa: BLE001 - no connection now: the ordinary way says why (a 503 when it is down)
            return await asyncio.to_thread(read_revisions, self.db)
        try:
            cursor = await asyncio.wait_for(conn.execute(_SQL), READ_TIMEOUT_SECONDS)
            rows = await cursor.fetchall()
        except Exception:  # noqa: BLE001 - a broken or stalled connection: drop it, read the ordinary way
            await self._discard(conn)
            return await asyncio.to_thread(read_revisions, self.db)
        await self._checkin(conn)
        return {name: value for name, value in rows}

    async def start(self) -> None:
        if self._pg:
            self._loop = asyncio.get_running_loop()
            self._available = asyncio.Condition()

    async def stop(self) -> None:
        self._loop = None
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.close()
        self._open = 0

    async def _checkout(self) -> Any:
        import psycopg

        assert self._available is not None
        async with self._available:
            while not self._idle and self._open >= READERS:
                await self._available.wait()
            if self._idle:
                return self._idle.pop()
            self._open += 1
        try:
            dsn = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            return await asyncio.wait_for(
                psycopg.AsyncConnection.connect(dsn, autocommit=True, connect_timeout=5), READ_TIMEOUT_SECONDS
            )
        except BaseException:
            async with self._available:
                self._open -= 1
                self._available.notify()
            raise

    async def _checkin(self, conn: Any) -> None:
        assert self._available is not None
        async with self._available:
            if self._loop is None:  # stopped meanwhile
                self._open -= 1
                await conn.close()
                return
            self._idle.append(conn)
            self._available.notify()

    async def _discard(self, conn: Any) -> None:
        with contextlib.suppress(Exception):
            await conn.close()
        assert self._available is not None
        async with self._available:
            self._open -= 1
            self._available.notify()
