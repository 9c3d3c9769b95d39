"""Per-device sequence numbers: the ingest's record of what every device has sent and what never came.

A helper of the ingest use case (``service.ingest_batch``), in its transaction; nothing here commits.
The rule itself is :func:`gwanje.situations.rules.sequence_step`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from gwanje.situations import rules
from gwanje.situations.models import DeviceSequence

MAX_GAPS_KEPT = 20  # gap ranges named per device and loss report; the count is always whole
MAX_DEVICES_NAMED = 200  # devices named in one loss report (all are on the health page)


@dataclass
class Loss:
    """Messages of one device found missing in one batch."""

    row: DeviceSequence
    missing: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)


def track(session: Session, sequenced: list[tuple[str, str, int, bool]], now: datetime) -> list[Loss]:
    """Advance each (source, device)'s record by the new messages ``(source, device, seq, reset)``, in
    arrival order; returns the devices whose numbers show new losses."""
    if not sequenced:
        return []
    keys = sorted({(s, d) for s, d, _, _ in sequenced})
    stmt = select(DeviceSequence).where(tuple_(DeviceSequence.source, DeviceSequence.device_id).in_(keys))
    rows = {(r.source, r.device_id): r for r in session.scalars(stmt.order_by(DeviceSequence.id).with_for_update())}
    losses: dict[tuple[str, str], Loss] = {}
    for source, device, seq, reset in sequenced:
        row = rows.get((source, device))
        if row is None:
            row = DeviceSequence(
                source=source, device_id=device, last_seq=seq, last_seen_at=now, received=0, missing=0, late=0
            )
            row.gaps = row.restarts = 0
            session.add(row)
            rows[(source, device)] = row
            step = rules.sequence_step(None, None, 0, seq, reset, now)
        else:
            step = rules.sequence_step(row.last_seq, row.last_seen_at, row.missing, seq, reset, now)
        row.last_seq, row.last_seen_at = step.last_seq, now
        row.received += 1
        row.restarts += step.restarted
        if step.filled:
            row.missing -= step.filled
            row.late += step.filled
        if step.missing:
            row.missing += step.missing
            row.gaps += 1
            row.last_gap_at = now
            loss = losses.setdefault((source, device), Loss(row))
            loss.missing += step.missing
            if step.gap and len(loss.gaps) < MAX_GAPS_KEPT:
                loss.gaps.append(step.gap)
    session.flush()
    return list(losses.values())


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
