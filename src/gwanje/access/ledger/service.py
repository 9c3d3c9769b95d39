"""개인영상정보 관리대장: append a row (inside the caller's transaction), correct a row, list rows.

Rows are never changed: the database refuses UPDATE and DELETE on ``ledger_entries``. A correction
is a new row naming the row it corrects and the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gwanje.access.choices import LedgerKind, LedgerMethod
from gwanje.access.ledger import report, rules
from gwanje.access.models import LedgerEntry
from gwanje.access.rules import LEDGER_CLAUSE, id_list, ids_text
from gwanje.accounts.models import User
from gwanje.accounts.service import actor_of
from gwanje.core.audit import AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database
from gwanje.core.errors import ValidationFailed, not_found
from gwanje.policy.model import Policy


def append(
    session: Session,
    *,
    kind: str,
    items: str,
    method: str,
    handler_id: int | None,
    handler_name: str,
    occurred_at: datetime,
    recipient: str | None = None,
    recipient_organisation: str | None = None,
    purpose: str | None = None,
    legal_ground: str | None = None,
    camera_ids: Iterable[int] = (),
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    retention_until: datetime | None = None,
    reference_type: str | None = None,
    reference_id: Any = None,
    clause: str | None = None,
    audit_seq: int | None = None,
    corrects_id: int | None = None,
    correction_reason: str | None = None,
) -> LedgerEntry:
    """One row, in the caller's unit of work (the use case that read, provided or destroyed video)."""
    if kind not in LedgerKind:
        raise ValueError(f"unknown ledger kind: {kind}")
    if method not in LedgerMethod:
        raise ValueError(f"unknown ledger method: {method}")
    entry = LedgerEntry(
        kind=kind,
        recorded_at=utcnow(),
        recipient=recipient,
        recipient_organisation=recipient_organisation,
        purpose=purpose,
        legal_ground=legal_ground,
        items=items,
        camera_ids=ids_text(camera_ids),
        period_start=period_start,
        period_end=period_end,
        occurred_at=occurred_at,
        retention_until=retention_until,
        method=method,
        handler_id=handler_id,
        handler_name=handler_name,
        reference_type=reference_type,
        reference_id=None if reference_id is None else str(reference_id),
        clause=clause,
        audit_seq=audit_seq,
        corrects_id=corrects_id,
        correction_reason=correction_reason,
    )
    session.add(entry)
    session.flush()
    return entry


def correction_of(
    session: Session, entry_id: int, changes: dict[str, Any], reason: str, *, handler_id: int | None, handler_name: str
) -> LedgerEntry:
    """A new row: the original with ``changes`` applied, pointing back at it, with the reason."""
    original = session.get(LedgerEntry, entry_id)
    if original is None:
        raise not_found("관리대장 행", "ledger row", entry_id)
    reason = rules.check_correction(changes, reason)
    values = {name: getattr(original, name) for name in rules.CORRECTABLE}
    values.update(changes)
    return append(
        session,
        kind=original.kind,
        handler_id=handler_id,
        handler_name=handler_name,
        camera_ids=id_list(original.camera_ids),
        reference_type=original.reference_type,
        reference_id=original.reference_id,
        clause=original.clause,
        corrects_id=original.id,
        correction_reason=reason,
        **values,
    )


def correct_ledger(
    db: Database,
    policy: Policy,
    user: User,
    entry_id: int,
    changes: dict[str, Any],
    reason: str,
    *,
    request_id: str | None = None,
) -> LedgerEntry:
    """Correct a row by appending its corrected copy, audited."""
    if not changes:
        raise ValidationFailed("정정할 내용이 없습니다", "nothing to correct", field="changes")
    with db.uow() as uow:
        session = uow.session
        row = correction_of(session, entry_id, changes, reason, handler_id=user.id, handler_name=user.username)
        AuditLog(session).append(
            actor_of(user, request_id),
            Change(
                "ledger.corrected",
                "ledger_entry",
                entry_id,
                None,
                {"correction_id": row.id, "changes": changes, "reason": reason},
                clause=LEDGER_CLAUSE,
            ),
        )
        uow.commit()
        return row


def list_entries(
    session: Session,
    *,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
) -> list[LedgerEntry]:
    stmt = select(LedgerEntry).order_by(LedgerEntry.id).limit(limit)
    if kind:
        stmt = stmt.where(LedgerEntry.kind == kind)
    if since:
        stmt = stmt.where(LedgerEntry.occurred_at >= since)
    if until:
        stmt = stmt.where(LedgerEntry.occurred_at < until)
    return list(session.scalars(stmt))


def read_entries(
    db: Database,
    *,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
) -> list[LedgerEntry]:
    """:func:`list_entries` in a read-only transaction of its own."""
    with db.reading() as session:
        return list_entries(session, kind=kind, since=since, until=until, limit=limit)


PRINT_LIMIT = 100_000


def ledger_xlsx(
    db: Database,
    policy: Policy,
    *,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> bytes:
    """The rows of one filter as a workbook."""
    return report.to_xlsx(policy, read_entries(db, kind=kind, since=since, until=until, limit=PRINT_LIMIT), kind=kind)


def ledger_pdf(
    db: Database,
    policy: Policy,
    *,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> bytes:
    """The rows of one filter as a printable PDF (refuses without the Korean font)."""
    return report.to_pdf(policy, read_entries(db, kind=kind, since=since, until=until, limit=PRINT_LIMIT), kind=kind)
