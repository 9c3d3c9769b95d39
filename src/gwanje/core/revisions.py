"""Revision counters the database itself keeps: every statement that changes a watched table bumps
its counter, in the same transaction, by a trigger (migration ``0006_revisions``). Nothing in the
application has to remember to do it, and neither does a person editing the tables by hand.

Caches key what they keep on a counter (:class:`RevisionCache`): a process answers from memory while
the counter it knows (:class:`RevisionWatch`) stands still, and builds again when it moved. Several
processes and instances stay true to one database, with no message of gwanje's own between them.

| counter | watched tables | what caches it |
| --- | --- | --- |
| ``registry`` | cameras, sites, departments, organisations | the map's GeoJSON, camera search pages |
| ``accounts`` | users, api_tokens | bearer-token resolution |
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from sqlalchemy import BigInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from gwanje.core.db import Base, Database

log = logging.getLogger(__name__)

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


_READ = text("SELECT name, value FROM revisions")


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
    At most ``size`` keys are kept (least recently used go first).
    """

    def __init__(self, size: int = 256):
        self.size = size
        self._lock = threading.Lock()
        self._revision: int | None = None
        self._items: OrderedDict[K, V] = OrderedDict()

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
        with self._lock:
            if self._revision != revision:
                if self._revision is not None and revision < self._revision:
                    return value  # built from an older read than what is kept: do not keep it
                self._revision = revision
                self._items.clear()
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def peek(self, key: K, revision: int | None) -> V | None:
        """The value kept for ``key`` at ``revision``, or None; builds nothing."""
        if revision is None:
            return None
        with self._lock:
            if self._revision == revision:
                return self._items.get(key)
        return None

    def clear(self) -> None:
        with self._lock:
            self._revision = None
            self._items.clear()


CHANNEL = "gwanje_revisions"
# How often a listener proves its connection alive when nothing was heard (a silent network fault would
# otherwise leave it deaf); until it has, caches are not trusted.
HEARTBEAT_SECONDS = 5.0
# How long the listener waits for a notification before it looks at whether it should stop.
WAIT_SECONDS = 1.0


class RevisionWatch:
    """What this process knows of the counters, to key caches on.

    SQLite (one process): :meth:`current` reads the table (microseconds, in-process). PostgreSQL: a
    thread LISTENs on ``gwanje_revisions`` and counts, per counter, the commits it heard of — no query
    per request. While that thread is not connected (starting, the database restarting, a network
    fault) :meth:`current` answers None and caches build afresh each time; each (re)connection moves
    every counter, so nothing kept from before a gap in hearing is served after it.
    """

    def __init__(self, db: Database):
        self.db = db
        self._listen = db.dialect == "postgresql"
        self._lock = threading.Lock()
        self._heard: dict[str, int] = dict.fromkeys(WATCHED, 0)
        self._connected = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def current(self) -> dict[str, int] | None:
        if not self._listen:
            return read_revisions(self.db)
        with self._lock:
            return dict(self._heard) if self._connected else None

    def heard(self) -> dict[str, int] | None:
        """The counters if they are known without asking the database (PostgreSQL, listening), else None:
        what may be called on an event loop."""
        if not self._listen:
            return None
        return self.current()

    def start(self) -> None:
        if self._listen and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="revision-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is None:
            return
        try:  # wake the listener now rather than at its next heartbeat (an empty payload moves nothing)
            with self.db.engine.connect() as conn:
                conn.exec_driver_sql(f"SELECT pg_notify('{CHANNEL}', '')")
                conn.commit()
        except Exception:  # the database is gone: the listener stops at its next wait
            log.debug("could not wake the revision listener", exc_info=True)
        self._thread.join(timeout=WAIT_SECONDS + 2)
        self._thread = None

    def wait_connected(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._connected:
                return True
            time.sleep(0.02)
        return self._connected

    def _moved(self, names: Iterable[str]) -> None:
        with self._lock:
            for name in names:
                if name in self._heard:
                    self._heard[name] += 1

    def _run(self) -> None:
        import psycopg

        dsn = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    with self._lock:
                        for name in self._heard:
                            self._heard[name] += 1
                        self._connected = True
                    proven = time.monotonic()
                    while not self._stop.is_set():
                        heard = [n.payload for n in conn.notifies(timeout=WAIT_SECONDS)]
                        self._moved(heard)
                        if heard:
                            proven = time.monotonic()
                        elif time.monotonic() - proven >= HEARTBEAT_SECONDS:
                            conn.execute("SELECT 1")
                            proven = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - any fault of the listening connection: stop trusting caches
                log.warning("revision listener lost its connection (%s); caches bypassed until it is back", exc)
            finally:
                with self._lock:
                    self._connected = False
            self._stop.wait(1.0)
