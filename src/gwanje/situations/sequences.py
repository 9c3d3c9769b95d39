"""Per-device sequence numbers: the ingest's record of what every device has sent and what never came.

A helper of the ingest use case (``service.ingest_batch``), in its transaction; nothing here commits.
The rule itself is :func:`gwanje.situations.rules.sequence_step`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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


def track(session: Session, sequenced: list[tuple[str, str, int, bool]], now: datetime) -> Tracked:
    """Advance each (source, device)'s record by the new messages ``(source, device, seq, reset)``, in
    arrival order (the rows are locked until the commit); nothing is written until :func:`save`."""
    if not sequenced:
        return Tracked([], [])
    keys = sorted({(s, d) for s, d, _, _ in sequenced})
    table = DeviceSequence.__table__
    stmt = (
        select(table.c.id, table.c.source, table.c.device_id, *(table.c[c] for c in _COLUMNS))
        .where(tuple_(table.c.source, table.c.device_id).in_(keys))
        .order_by(table.c.id)
        .with_for_update()
    )
    states = {(r.source, r.device_id): DeviceState(**r._mapping) for r in session.execute(stmt)}
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
    return Tracked(list(states.values()), list(losses.values()))


def save(session: Session, tracked: Tracked) -> None:
    """Write the batch's device rows: one executemany for the known, one for the new."""
    known = [{"id": s.id, **{c: getattr(s, c) for c in _COLUMNS}} for s in tracked.states if s.id is not None]
    new = [
        {"source": s.source, "device_id": s.device_id, **{c: getattr(s, c) for c in _COLUMNS}}
        for s in tracked.states
        if s.id is None
    ]
    table = DeviceSequence.__table__
    if known:
        stmt = update(table).where(table.c.id == bindparam("_id")).values({c: bindparam(f"_{c}") for c in _COLUMNS})
        session.execute(stmt, [{f"_{k}": v for k, v in row.items()} for row in known])
    if new:
        session.execute(insert(table), new)


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
