"""Per-device sequence numbers: the ingest's record of what every device has sent and what never came.

A helper of the ingest use case (``service.ingest_batch``), in its transaction; nothing here commits.
The rule itself is :func:`gwanje.situations.rules.sequence_step`.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from gwanje.situations import rules
from gwanje.situations.models import DeviceSequence

MAX_GAPS_KEPT = 20  # gap ranges named per device and loss report; the count is always whole
MAX_DEVICES_NAMED = 200  # devices named in one loss report (all are on the health page)


_COLUMNS = ("last_seq", "last_seen_at", "received", "missing", "late", "gaps", "restarts", "last_gap_at", "incident_id")


@dataclass
class DeviceState:
    """One device's row while a batch is worked on; written back by :func:`save`."""

    source: str
    device_id: str
    last_seq: int
    last_seen_at: datetime | None
    received: int = 0
    missing: int = 0
    late: int = 0
    gaps: int = 0
    restarts: int = 0
    last_gap_at: datetime | None = None
    incident_id: int | None = None
    id: int | None = None  # None: a device heard for the first time


@dataclass
class Loss:
    """Messages of one device found missing in one batch."""

    row: DeviceState
    missing: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Tracked:
    states: list[DeviceState]
    losses: list[Loss]
    expected: dict[tuple[str, str], int] = field(default_factory=dict)  # ``received`` as read


class StaleHeads(Exception):
    """A cached device row changed under us (another process or thread ingested for the device):
    the batch is rolled back and done again from the rows themselves, locked."""


class Heads:
    """The last committed row of every device this process has ingested for, per database.

    PostgreSQL only: the ingest reads a device's row from here instead of selecting (and locking)
    it every batch, and writes it back guarded by the value it was read with (``received`` only
    grows, so it versions the row): if anyone else wrote the row meanwhile, the guarded write
    misses it and :class:`StaleHeads` sends the batch round again the locked way. Entries change
    only after a commit (:meth:`remember`); a rolled-back batch leaves nothing behind.
    """

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], DeviceState] = {}
        self._lock = threading.Lock()

    def get(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], DeviceState]:
        with self._lock:
            return {k: replace(self._rows[k]) for k in keys if k in self._rows}

    def remember(self, tracked: "Tracked") -> None:
        with self._lock:
            if len(self._rows) > MAX_CACHED_DEVICES:
                self._rows.clear()
            for state in tracked.states:
                if state.id is not None:  # the batch is done with its states: kept as they are
                    self._rows[(state.source, state.device_id)] = state

    def forget(self) -> None:
        with self._lock:
            self._rows.clear()


MAX_CACHED_DEVICES = 200_000
_heads: "weakref.WeakKeyDictionary[Any, Heads]" = weakref.WeakKeyDictionary()
_heads_lock = threading.Lock()


def heads_of(engine: Any) -> Heads | None:
    """The device rows cached for this engine (PostgreSQL); None for SQLite, whose one writer
    reads its rows each batch."""
    if engine.dialect.name != "postgresql":
        return None
    with _heads_lock:
        heads = _heads.get(engine)
        if heads is None:
            heads = _heads[engine] = Heads()
        return heads


def _select(session: Session, keys: list[tuple[str, str]], *, lock: bool) -> dict[tuple[str, str], DeviceState]:
    table = DeviceSequence.__table__
    stmt = (
        select(table.c.id, table.c.source, table.c.device_id, *(table.c[c] for c in _COLUMNS))
        .where(tuple_(table.c.source, table.c.device_id).in_(keys))
        .order_by(table.c.id)
    )
    if lock:
        stmt = stmt.with_for_update()
    return {(r.source, r.device_id): DeviceState(**r._mapping) for r in session.execute(stmt)}


def track(
    session: Session, sequenced: list[tuple[str, str, int, bool]], now: datetime, heads: Heads | None = None
) -> Tracked:
    """Advance each (source, device)'s record by the new messages ``(source, device, seq, reset)``, in
    arrival order; nothing is written until :func:`save`.

    Without ``heads`` the rows are read and locked until the commit; with it, the rows it holds are
    taken from it and only the others are read (:func:`save` then checks none changed meanwhile).
    """
    if not sequenced:
        return Tracked([], [])
    keys = sorted({(s, d) for s, d, _, _ in sequenced})
    if heads is None:
        states = _select(session, keys, lock=True)
    else:
        states = heads.get(keys)
        if len(states) < len(keys):
            states.update(_select(session, [k for k in keys if k not in states], lock=False))
    expected = {k: st.received for k, st in states.items()}
    losses: dict[tuple[str, str], Loss] = {}
    for source, device, seq, reset in sequenced:
        state = states.get((source, device))
        if state is None:
            state = states[(source, device)] = DeviceState(source, device, 0, None)
            step = rules.sequence_step(None, None, 0, seq, reset, now)
        else:
            step = rules.sequence_step(state.last_seq, state.last_seen_at, state.missing, seq, reset, now)
        state.last_seq, state.last_seen_at = step.last_seq, now
        state.received += 1
        state.restarts += step.restarted
        if step.filled:
            state.missing -= step.filled
            state.late += step.filled
        if step.missing:
            state.missing += step.missing
            state.gaps += 1
            state.last_gap_at = now
            loss = losses.setdefault((source, device), Loss(state))
            loss.missing += step.missing
            if step.gap and len(loss.gaps) < MAX_GAPS_KEPT:
                loss.gaps.append(step.gap)
    return Tracked(list(states.values()), list(losses.values()), expected)


_TYPES = {
    "last_seq": "bigint",
    "last_seen_at": "timestamptz",
    "received": "bigint",
    "missing": "bigint",
    "late": "bigint",
    "gaps": "integer",
    "restarts": "integer",
    "last_gap_at": "timestamptz",
    "incident_id": "integer",
}
_UPDATE_PG = (
    "UPDATE device_sequences AS d SET "
    + ", ".join(f"{c} = v.{c}" for c in _COLUMNS)
    + " FROM unnest(%s::integer[], %s::bigint[], "
    + ", ".join(f"%s::{_TYPES[c]}[]" for c in _COLUMNS)
    + f") AS v(id, expected, {', '.join(_COLUMNS)}) WHERE d.id = v.id AND d.received = v.expected"
)
_INSERT_PG = (
    f"INSERT INTO device_sequences (source, device_id, {', '.join(_COLUMNS)}) "
    "SELECT * FROM unnest(%s::varchar[], %s::varchar[], "
    + ", ".join(f"%s::{_TYPES[c]}[]" for c in _COLUMNS)
    + ") ON CONFLICT (source, device_id) DO NOTHING RETURNING id, source, device_id"
)


def save(session: Session, tracked: Tracked) -> None:
    """Write the batch's device rows: on PostgreSQL one statement for the known and one for the new,
    each guarded (:class:`StaleHeads` if a row changed or appeared since it was read); elsewhere an
    executemany each."""
    known = [s for s in tracked.states if s.id is not None]
    new = [s for s in tracked.states if s.id is None]
    if session.get_bind().dialect.name == "postgresql":
        _save_pg(session, tracked, known, new)
        return
    table = DeviceSequence.__table__
    if known:
        stmt = update(table).where(table.c.id == bindparam("_id")).values({c: bindparam(f"_{c}") for c in _COLUMNS})
        session.execute(stmt, [{"_id": s.id, **{f"_{c}": getattr(s, c) for c in _COLUMNS}} for s in known])
    if new:
        rows = [{"source": s.source, "device_id": s.device_id, **{c: getattr(s, c) for c in _COLUMNS}} for s in new]
        session.execute(insert(table), rows)


def _save_pg(session: Session, tracked: Tracked, known: list[DeviceState], new: list[DeviceState]) -> None:
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        if known:
            cursor.execute(
                _UPDATE_PG,
                [
                    [s.id for s in known],
                    [tracked.expected[(s.source, s.device_id)] for s in known],
                    *([getattr(s, c) for s in known] for c in _COLUMNS),
                ],
            )
            if cursor.rowcount != len(known):
                raise StaleHeads(f"{len(known) - cursor.rowcount} device row(s) changed since read")
        if new:
            cursor.execute(
                _INSERT_PG,
                [
                    [s.source for s in new],
                    [s.device_id for s in new],
                    *([getattr(s, c) for s in new] for c in _COLUMNS),
                ],
            )
            ids = {(source, device): row_id for row_id, source, device in cursor.fetchall()}
            if len(ids) != len(new):
                raise StaleHeads(f"{len(new) - len(ids)} device row(s) created meanwhile")
            for s in new:
                s.id = ids[(s.source, s.device_id)]
    finally:
        cursor.close()


def device_counts(session: Session, limit: int = 200) -> tuple[dict[str, int], list[DeviceSequence]]:
    """Totals over every device, and the devices that lost messages (most first)."""
    row = session.execute(
        select(
            func.count(DeviceSequence.id),
            func.coalesce(func.sum(DeviceSequence.received), 0),
            func.coalesce(func.sum(DeviceSequence.missing), 0),
            func.coalesce(func.sum(DeviceSequence.late), 0),
            func.coalesce(func.sum(DeviceSequence.restarts), 0),
            func.count(DeviceSequence.id).filter(DeviceSequence.missing > 0),
        )
    ).one()
    names = ("devices", "received", "missing", "late", "restarts", "devices_with_loss")
    totals = {name: int(value or 0) for name, value in zip(names, row)}
    lossy = list(
        session.scalars(
            select(DeviceSequence)
            .where(DeviceSequence.missing > 0)
            .order_by(DeviceSequence.missing.desc(), DeviceSequence.id)
            .limit(limit)
        )
    )
    return totals, lossy


def devices(session: Session, limit: int = 200) -> list[DeviceSequence]:
    """Every device heard from: those that lost messages first (most first), then the most recent."""
    return list(
        session.scalars(
            select(DeviceSequence)
            .order_by(DeviceSequence.missing.desc(), DeviceSequence.last_seen_at.desc(), DeviceSequence.id)
            .limit(limit)
        )
    )
