"""The inbox: every device message exactly as it arrived, parsed and looked up before anything is written,
then stored in one statement (unique on source and message id, so a replay is recognised).

Helpers of the ingest use cases in ``service.py`` (and the incident ids they reserve); nothing here commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from gwanje.registry.models import Camera
from gwanje.situations.messages import DeviceMessage, MessageError, parse_message
from gwanje.situations.models import InboxMessage


@dataclass(frozen=True)
class RawMessage:
    source: str
    raw: bytes
    channel: str = "mqtt"
    device_id: str | None = None


HotListMatcher = Callable[[str], Any]  # plate text -> match (with .plate, .kind, ...) or None


def camera_refs(messages: list[DeviceMessage]) -> set[str]:
    return {m.payload.camera for m in messages if getattr(m.payload, "camera", None)}


@dataclass
class Planned:
    raw: RawMessage
    message_id: str
    type: str | None
    parsed: DeviceMessage | None
    error: str | None
    camera: Any = None
    match: Any = None


def plan(session: Session, batch: list[RawMessage], hotlist: HotListMatcher | None) -> list[Planned]:
    """Parse every message and look up what it refers to, before anything is written."""
    planned = []
    for item in batch:
        try:
            msg = parse_message(item.raw)
            planned.append(Planned(item, msg.message_id, msg.type, msg, None))
        except MessageError as exc:
            mid = exc.message_id or "sha256:" + hashlib.sha256(item.raw).hexdigest()
            planned.append(Planned(item, mid[:160], exc.type, None, str(exc)))
    refs = camera_refs([p.parsed for p in planned if p.parsed])
    cameras = _cameras(session, sorted(refs)) if refs else {}
    for p in planned:
        if p.parsed is None:
            continue
        ref = getattr(p.parsed.payload, "camera", None)
        if ref is not None:
            p.camera = cameras.get(ref)
            if p.camera is None or p.camera.status == "retired":
                p.error = f"카메라를 찾을 수 없습니다 / unknown or retired camera: {ref}"
                continue
        if p.type == "plate_read" and hotlist is not None:
            try:
                p.match = hotlist(p.parsed.payload.plate)
            except ValueError as exc:
                p.error = f"번호판 형식 오류 / unreadable plate: {exc}"
    return planned


@dataclass(frozen=True)
class CameraRef:
    """What the ingest needs of a camera a message names."""

    id: int
    management_number: str
    latitude: float | None
    longitude: float | None
    status: str
    primary_purpose: str
    secondary_purposes: str | None
    department: str | None


_CAMERA_COLUMNS = (
    Camera.id,
    Camera.management_number,
    Camera.latitude,
    Camera.longitude,
    Camera.status,
    Camera.primary_purpose,
    Camera.secondary_purposes,
    Camera.department,
)
_CAMERAS_PG = (
    f"SELECT {', '.join(c.name for c in _CAMERA_COLUMNS)} FROM {Camera.__tablename__} "
    "WHERE management_number = ANY(%s::varchar[])"
)


def _cameras(session: Session, refs: list[str]) -> dict[str, CameraRef]:
    """The cameras a batch names, by management number, in the batch's transaction. On PostgreSQL one
    prepared statement through the driver: through the ORM this one lookup cost a small batch more
    CPU than storing it."""
    if session.get_bind().dialect.name == "postgresql":
        cursor = session.connection().connection.driver_connection.cursor()
        try:
            found = [CameraRef(*row) for row in cursor.execute(_CAMERAS_PG, [refs], prepare=True).fetchall()]
        finally:
            cursor.close()
    else:
        rows = session.execute(select(*_CAMERA_COLUMNS).where(Camera.management_number.in_(refs)))
        found = [CameraRef(*row) for row in rows]
    return {c.management_number: c for c in found}


def store(session: Session, planned: list[Planned], now: datetime) -> dict[tuple[str, str], int]:
    """Store all messages in one statement; returns the ids of those that were new."""
    rows, seen = [], set()
    for p in planned:
        key = (p.raw.source, p.message_id)
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            {
                "source": p.raw.source,
                "message_id": p.message_id,
                "device_id": p.raw.device_id,
                "channel": p.raw.channel,
                "type": p.type,
                "received_at": now,
                "raw": p.raw.raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
                "status": "rejected" if p.error else "processed",
                "error": p.error,
            }
        )
    if session.get_bind().dialect.name == "postgresql":
        return _store_pg(session, rows)
    stmt = (
        sqlite.insert(InboxMessage)
        .on_conflict_do_nothing(index_elements=["source", "message_id"])
        .returning(InboxMessage.id, InboxMessage.source, InboxMessage.message_id, sort_by_parameter_order=True)
    )
    return {(r.source, r.message_id): r.id for r in session.execute(stmt, rows) if r.id is not None}


_INBOX_COLUMNS = ("source", "message_id", "device_id", "channel", "type", "received_at", "raw", "status", "error")
_COLUMN_LIST = ", ".join(_INBOX_COLUMNS)
# The batch is copied into a private staging table, then moved into the inbox by one statement that
# skips what is already there (unique on source and message id) and says which rows were new.
_STAGE_PG = (
    "CREATE TEMP TABLE IF NOT EXISTS inbox_stage AS SELECT "
    f"{_COLUMN_LIST} FROM inbox WITH NO DATA; TRUNCATE inbox_stage"
)
_STAGE_COPY = f"COPY inbox_stage ({_COLUMN_LIST}) FROM STDIN"
_STAGE_MOVE = (
    f"INSERT INTO inbox ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM inbox_stage "
    "ON CONFLICT (source, message_id) DO NOTHING RETURNING id, source, message_id"
)


_INBOX_PG = (
    f"INSERT INTO inbox ({_COLUMN_LIST}) VALUES ({', '.join(['%s'] * len(_INBOX_COLUMNS))}) "
    "ON CONFLICT (source, message_id) DO NOTHING RETURNING id, source, message_id"
)
# Below this many rows a pipelined executemany (one round trip) beats COPY's three.
COPY_FROM_ROWS = 32


def _store_pg(session: Session, rows: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Large batches: COPY into a session-private staging table, then one INSERT … SELECT … ON
    CONFLICT DO NOTHING. COPY costs the client about half of psycopg's pipelined executemany per row
    (measured 12 against 25 µs of CPU a row, docs/benchmarks.md), but takes three round trips where
    the executemany takes one, so a few rows (an HTTP batch) go by executemany.
    """
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        if len(rows) < COPY_FROM_ROWS:
            cursor.executemany(_INBOX_PG, [tuple(r[c] for c in _INBOX_COLUMNS) for r in rows], returning=True)
            stored = {}
            while True:
                for row_id, source, message_id in cursor.fetchall():
                    stored[(source, message_id)] = row_id
                if not cursor.nextset():
                    return stored
        cursor.execute(_STAGE_PG)
        with cursor.copy(_STAGE_COPY) as copy:
            for r in rows:
                copy.write_row(tuple(r[c] for c in _INBOX_COLUMNS))
        cursor.execute(_STAGE_MOVE)
        return {(source, message_id): row_id for row_id, source, message_id in cursor.fetchall()}
    finally:
        cursor.close()


def insert_rows(session: Session, model, rows: list[dict[str, Any]]) -> None:  # noqa: ANN001
    """Insert plain rows. On PostgreSQL by COPY, or a few by psycopg's pipelined executemany (the ORM's
    bulk insert spent more of the batch on its own bookkeeping per row than the server spent storing
    it); columns a row leaves out take their model's scalar default."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(model), rows)
        return
    table = model.__table__
    keys = set().union(*rows)
    columns, defaults = [], []
    for column in table.columns:
        default = column.default.arg if column.default is not None and column.default.is_scalar else None
        if column.name in keys or default is not None:
            columns.append(column.name)
            defaults.append(default)
    params = (tuple(r.get(c, d) for c, d in zip(columns, defaults)) for r in rows)
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        if len(rows) < COPY_FROM_ROWS:
            sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
            cursor.executemany(sql, list(params))
        else:
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in params:
                    copy.write_row(row)
    finally:
        cursor.close()


def allocate_ids(session: Session, model, n: int) -> list[int]:  # noqa: ANN001
    """Reserve ``n`` primary keys in one round trip (the SQLite write lock is already held)."""
    table = model.__tablename__
    if session.get_bind().dialect.name == "postgresql":
        return list(
            session.scalars(
                text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)"), {"n": n}
            )
        )
    start = (session.scalar(text(f"SELECT coalesce(max(id), 0) FROM {table}")) or 0) + 1
    return list(range(start, start + n))
