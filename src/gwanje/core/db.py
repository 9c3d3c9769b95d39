"""Database engine, declarative base and the unit of work.

SQLite is the embedded default; PostgreSQL is production. Both run the same Alembic
revisions. Only use cases commit, through :class:`UnitOfWork`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from gwanje.core.checkpoints import CheckpointLog
from gwanje.core.events import DomainEvent

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Timestamps are stored in UTC and always come back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store aware UTC times")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def make_engine(url: str, **kwargs) -> Engine:  # noqa: ANN003
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        _sqlite_pragmas(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


# A pooled connection unused this long is proven alive before it is handed out (the database may have
# restarted meanwhile). One in steady use is not: a ping on every checkout cost an extra round trip on
# every request (about 12 % of the device-event throughput); a connection that broke under load fails its
# request with 503 and the pool replaces every connection older than the fault (SQLAlchemy's default).
IDLE_PING_SECONDS = 2.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy):
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception:  # noqa: BLE001 - any failure of the ping means the connection is gone
            alive = False
        if not alive:
            raise sa_exc.DisconnectionError("pooled connection did not answer a ping")


def _sqlite_pragmas(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN until the first write, which lets two
    # writers read the same audit head and fork the chain. We take the write lock up front.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        readonly = conn.get_execution_options().get("gwanje_readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


Publisher = Callable[[list[DomainEvent]], None]

# Where a session finds the audit chain's HMAC key and checkpoint log (``Database.configure_audit``).
AUDIT_KEY_INFO = "gwanje.audit_key"
AUDIT_CHECKPOINTS_INFO = "gwanje.audit_checkpoints"


class UnitOfWork:
    """One transaction. Use cases call :meth:`commit` once; anything else rolls back.

    Use cases :meth:`record` the domain events of what they did; the unit of work hands them to
    the database's publisher after the commit succeeded, and drops them on rollback.
    """

    def __init__(self, session_factory: sessionmaker[Session], publisher: Publisher | None = None):
        self._factory = session_factory
        self._publisher = publisher
        self.session: Session | None = None
        self.events: list[DomainEvent] = []
        self.published: list[DomainEvent] = []

    def __enter__(self) -> "UnitOfWork":
        self.session = self._factory()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        # close() rolls back whatever was not committed but, unlike rollback(), leaves the
        # objects already loaded readable after the unit of work ends.
        assert self.session is not None
        self.session.close()
        self.events.clear()

    def record(self, *events: DomainEvent) -> None:
        """Queue events to publish once this unit of work commits."""
        self.events.extend(events)

    def commit(self) -> None:
        assert self.session is not None
        self.session.commit()
        events, self.events = self.events, []
        self.published.extend(events)
        if events and self._publisher is not None:
            try:
                self._publisher(events)
            except Exception:
                log.exception("publishing %d events after commit failed", len(events))


class Database:
    """The engine and its session factory; built once by the wiring root."""

    def __init__(self, url: str, **engine_kwargs):  # noqa: ANN003
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self._read_engine = self.engine.execution_options(gwanje_readonly=True)
        self.publisher: Publisher | None = None
        self.audit_key: bytes | None = None
        self.audit_checkpoints: CheckpointLog | None = None

    def configure_audit(self, key: bytes | None, checkpoints: CheckpointLog | None) -> None:
        """The audit chain's HMAC key and signed checkpoints (the wiring root sets them from settings).

        Every session of this database carries them in ``session.info``, so that appending to the
        chain (``AuditLog(session)``) keys each new row and ``verify_chain(session)`` checks it.
        Without a key, rows are appended as plain SHA-256 (the scheme before keyed chains).
        """
        self.audit_key = key
        self.audit_checkpoints = checkpoints
        self.session_factory.configure(info={AUDIT_KEY_INFO: key, AUDIT_CHECKPOINTS_INFO: checkpoints})

    def publish_to(self, publisher: Publisher | None) -> None:
        """Where committed units of work send their events (the wiring root sets the bus)."""
        self.publisher = publisher

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, self.publisher)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        session = self.session_factory(bind=self._read_engine)
        try:
            yield session
        finally:
            session.close()

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """Whether this process may run the pass ``name`` now: on PostgreSQL one process at a time among
        all that share the database (a session advisory lock, released at the end); SQLite serves one
        process, which always may."""
        if self.dialect != "postgresql":
            yield True
            return
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with self.engine.connect() as conn:
            got = bool(conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
                    conn.commit()

    def dispose(self) -> None:
        self.engine.dispose()


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
