"""Audit use cases: read the chain, newest first, and verify it end to end (``core/audit.py`` keeps it)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gwanje.audit.schemas import AuditEntryRead, AuditVerifyRead, ProblemRead
from gwanje.core.audit import list_entries, verify_chain
from gwanje.core.errors import ValidationFailed
from gwanje.core.schemas import has_control_chars


def read_entries(
    session: Session,
    *,
    action: str | None = None,
    object_id: str | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEntryRead]:
    for name, value in (("action", action), ("object_id", object_id)):
        if value and has_control_chars(value):
            raise ValidationFailed("제어 문자는 쓸 수 없습니다", "control characters are not allowed", field=name)
    rows = list_entries(session, action=action, object_id=object_id, before_seq=before_seq, limit=limit)
    return [AuditEntryRead.model_validate(e) for e in rows]


def verify(session: Session) -> AuditVerifyRead:
    result = verify_chain(session)
    problem = None if result.ok else ProblemRead(ko=result.problem_ko, en=result.problem_en)
    return AuditVerifyRead(
        ok=result.ok, rows=result.rows, head_hash=result.head_hash, bad_seq=result.bad_seq, problem=problem
    )
