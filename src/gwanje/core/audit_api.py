"""Audit routes: read the chain and verify it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gwanje.core.audit import AuditEntry, list_entries, verify_chain
from gwanje.core.errors import ValidationFailed
from gwanje.core.schemas import has_control_chars
from gwanje.http.deps import DB, Principal, requires

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
def read_entries(_: Annotated[Principal, Depends(requires("audit.read"))], db: DB,
                 action: Annotated[str | None, Query(max_length=80)] = None,
                 object_id: Annotated[str | None, Query(max_length=120)] = None,
                 before_seq: Annotated[int | None, Query(ge=1)] = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[dict]:
    for name, value in (("action", action), ("object_id", object_id)):
        if value and has_control_chars(value):
            raise ValidationFailed("제어 문자는 쓸 수 없습니다", "control characters are not allowed", field=name)
    with db.reading() as session:
        rows = list_entries(session, action=action, object_id=object_id, before_seq=before_seq, limit=limit)
        return [entry_dict(e) for e in rows]


@router.get("/verify")
def verify(_: Annotated[Principal, Depends(requires("audit.verify"))], db: DB) -> dict:
    with db.reading() as session:
        result = verify_chain(session)
    return {"ok": result.ok, "rows": result.rows, "head_hash": result.head_hash, "bad_seq": result.bad_seq,
            "problem": {"ko": result.problem_ko, "en": result.problem_en} if not result.ok else None}
