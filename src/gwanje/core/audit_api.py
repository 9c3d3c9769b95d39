"""Audit routes: read the chain and verify it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from gwanje.core.audit import AuditEntry, verify_chain
from gwanje.web.deps import DB, Principal, requires

router = APIRouter(prefix="/api/audit", tags=["audit"])


def entry_dict(e: AuditEntry) -> dict:
    return {
        "seq": e.seq, "at": e.at, "actor_id": e.actor_id, "actor_name": e.actor_name,
        "organisation": e.organisation, "role": e.role, "action": e.action,
        "object_type": e.object_type, "object_id": e.object_id, "purpose": e.purpose, "clause": e.clause,
        "before": e.before, "after": e.after, "request_id": e.request_id,
        "prev_hash": e.prev_hash, "hash": e.hash,
    }


@router.get("")
def list_entries(_: Annotated[Principal, Depends(requires("audit.read"))], db: DB,
                 action: Annotated[str | None, Query(max_length=80)] = None,
                 object_id: Annotated[str | None, Query(max_length=120)] = None,
                 before_seq: Annotated[int | None, Query(ge=1)] = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict]:
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if object_id:
        stmt = stmt.where(AuditEntry.object_id == object_id)
    if before_seq:
        stmt = stmt.where(AuditEntry.seq < before_seq)
    with db.reading() as session:
        return [entry_dict(e) for e in session.scalars(stmt)]


@router.get("/verify")
def verify(_: Annotated[Principal, Depends(requires("audit.verify"))], db: DB) -> dict:
    with db.reading() as session:
        result = verify_chain(session)
    return {"ok": result.ok, "rows": result.rows, "head_hash": result.head_hash, "bad_seq": result.bad_seq,
            "problem": {"ko": result.problem_ko, "en": result.problem_en} if not result.ok else None}
