"""Retention use cases: place and release holds on a recorded legal basis, and record each
destruction in the ledger. The video side deletes the files (``gwanje.video.retention``) after
asking :func:`gwanje.access.retention.rules.due_for_destruction` with the holds found here."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gwanje.access.choices import DESTRUCTION_METHODS, HOLD_OBJECT_TYPES
from gwanje.access.ledger import service as ledger
from gwanje.access.models import LedgerEntry, RetentionHold
from gwanje.access.retention.schemas import HoldRead
from gwanje.access.rules import RETENTION_CLAUSE, check_reason, clause_label, items_text
from gwanje.accounts.models import User
from gwanje.accounts.service import actor_of
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database
from gwanje.core.errors import Conflict, ValidationFailed, not_found
from gwanje.policy.model import Policy
from gwanje.registry.models import Camera

log = logging.getLogger(__name__)


def _snapshot(hold: RetentionHold) -> dict[str, Any]:
    return HoldRead.of(hold).model_dump()


def place_hold(
    db: Database,
    policy: Policy,
    user: User,
    *,
    object_type: str,
    object_id: str,
    legal_basis: str,
    request_number: str | None = None,
    request_id: str | None = None,
) -> RetentionHold:
    if object_type not in HOLD_OBJECT_TYPES:
        raise ValidationFailed(
            f"알 수 없는 대상: {object_type}",
            f"unknown object type: {object_type}",
            field="object_type",
            details={"allowed": list(HOLD_OBJECT_TYPES)},
        )
    basis = check_reason(legal_basis, "legal_basis")
    object_id = (object_id or "").strip()
    if not object_id:
        raise ValidationFailed("대상 번호를 입력하세요", "give the object id", field="object_id")
    with db.uow() as uow:
        session = uow.session
        hold = RetentionHold(
            object_type=object_type,
            object_id=object_id[:120],
            legal_basis=basis,
            request_number=(request_number or "").strip()[:100] or None,
            placed_by_id=user.id,
            placed_by_name=user.username,
            placed_at=utcnow(),
        )
        session.add(hold)
        session.flush()
        AuditLog(session).append(
            actor_of(user, request_id),
            Change("retention.hold.placed", object_type, object_id, None, _snapshot(hold), clause=RETENTION_CLAUSE),
        )
        uow.commit()
        return hold


def release_hold(
    db: Database, policy: Policy, user: User, hold_id: int, *, reason: str, request_id: str | None = None
) -> RetentionHold:
    reason = check_reason(reason)
    with db.uow() as uow:
        session = uow.session
        hold = session.get(RetentionHold, hold_id)
        if hold is None:
            raise not_found("보존 조치", "retention hold", hold_id)
        if hold.released_at is not None:
            raise Conflict("이미 해제된 보존 조치입니다", "the hold is already released", field="hold_id")
        before = _snapshot(hold)
        hold.released_at, hold.released_by_name, hold.release_reason = utcnow(), user.username, reason
        AuditLog(session).append(
            actor_of(user, request_id),
            Change(
                "retention.hold.released",
                hold.object_type,
                hold.object_id,
                before,
                _snapshot(hold),
                clause=RETENTION_CLAUSE,
            ),
        )
        uow.commit()
        return hold


def active_holds(
    session: Session, object_type: str, object_ids: Iterable[str] | None = None
) -> dict[str, list[RetentionHold]]:
    """Unreleased holds by object id, for ``retention.rules.due_for_destruction``."""
    stmt = select(RetentionHold).where(RetentionHold.object_type == object_type, RetentionHold.released_at.is_(None))
    if object_ids is not None:
        ids = [str(i) for i in object_ids]
        if not ids:
            return {}
        stmt = stmt.where(RetentionHold.object_id.in_(ids))
    found: dict[str, list[RetentionHold]] = defaultdict(list)
    for hold in session.scalars(stmt):
        found[hold.object_id].append(hold)
    return dict(found)


def list_holds(session: Session, *, active_only: bool = True, limit: int = 500) -> list[RetentionHold]:
    stmt = select(RetentionHold).order_by(RetentionHold.id.desc()).limit(limit)
    if active_only:
        stmt = stmt.where(RetentionHold.released_at.is_(None))
    return list(session.scalars(stmt))


def read_holds(db: Database, *, active_only: bool = True) -> list[RetentionHold]:
    with db.reading() as session:
        return list_holds(session, active_only=active_only)


def record_destruction(
    db: Database,
    policy: Policy,
    actor: Actor,
    *,
    object_type: str,
    object_id: str,
    camera_ids: Sequence[int],
    period_start: datetime | None,
    period_end: datetime | None,
    created_at: datetime,
    retention_days: int,
    method: str = "auto_delete",
    description: str | None = None,
    now: datetime | None = None,
) -> LedgerEntry:
    """The video/evidence side calls this after deleting a file it found due with
    ``retention.rules.due_for_destruction``: destruction ledger row + audit, one transaction."""
    if method not in DESTRUCTION_METHODS:
        raise ValidationFailed(
            f"알 수 없는 파기 방법: {method}", f"unknown destruction method: {method}", field="method"
        )
    now = now or utcnow()
    with db.uow() as uow:
        session = uow.session
        holds = active_holds(session, object_type, [object_id]).get(str(object_id), [])
        if holds:
            # The file is gone already; record it all the same, and say loudly that a hold was ignored.
            log.error("destroyed %s %s despite %d active hold(s)", object_type, object_id, len(holds))
        cameras = session.scalars(select(Camera).where(Camera.id.in_(list(camera_ids)))).all() if camera_ids else []
        items = description or items_text(cameras)
        entry = AuditLog(session).append(
            actor,
            Change(
                "retention.destroyed",
                object_type,
                object_id,
                None,
                {
                    "camera_ids": sorted(camera_ids),
                    "created_at": created_at.isoformat(),
                    "retention_days": retention_days,
                    "method": method,
                    "held": [h.id for h in holds],
                },
                clause=RETENTION_CLAUSE,
            ),
        )
        row = ledger.append(
            session,
            kind="destruction",
            items=items,
            method=method,
            handler_id=actor.id,
            handler_name=actor.name,
            occurred_at=now,
            purpose=None,
            legal_ground=clause_label(policy, RETENTION_CLAUSE) + f" ({retention_days}일)",
            camera_ids=camera_ids,
            period_start=period_start,
            period_end=period_end,
            retention_until=created_at + timedelta(days=retention_days),
            reference_type=object_type,
            reference_id=object_id,
            clause=RETENTION_CLAUSE,
            audit_seq=entry.seq,
        )
        uow.commit()
        return row
