"""Audit use cases: read the chain, newest first, verify it end to end against its signed checkpoints,
and sign a checkpoint (on demand and as a periodic job). ``core/audit.py`` keeps the chain."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from gwanje.audit.schemas import AuditEntryRead, AuditVerifyRead, CheckpointRead, ProblemRead, PublicKeyRead
from gwanje.core.audit import VerifyResult, checkpoint_chain, list_entries, verify_chain
from gwanje.core.checkpoints import Checkpoint, CheckpointLog
from gwanje.core.db import AUDIT_CHECKPOINTS_INFO, Database
from gwanje.core.errors import NotFound, ValidationFailed
from gwanje.core.schemas import has_control_chars
from gwanje.policy.model import Policy

log = logging.getLogger(__name__)


def read_entries(
    session: Session,
    *,
    action: str | None = None,
    object_id: str | None = None,
    before_seq: int | None = None,
    limit: int = 100,
    actor: str | None = None,
    object_type: str | None = None,
    clause: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEntryRead]:
    """Newest first, filtered; ``since`` inclusive, ``until`` exclusive (aware datetimes)."""
    texts = (("action", action), ("object_id", object_id), ("actor", actor), ("object_type", object_type))
    for name, value in (*texts, ("clause", clause)):
        if value and has_control_chars(value):
            raise ValidationFailed("제어 문자는 쓸 수 없습니다", "control characters are not allowed", field=name)
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.utcoffset() is None:
            raise ValidationFailed(
                "시간대가 있는 일시여야 합니다 (예: 2026-11-20T10:00+09:00)",
                "a time with its offset is needed (e.g. 2026-11-20T10:00+09:00)",
                field=name,
            )
    if since is not None and until is not None and since >= until:
        raise ValidationFailed(
            "시작 일시가 끝 일시보다 앞서야 합니다", "the start must come before the end", field="since"
        )
    rows = list_entries(
        session,
        action=action,
        object_id=object_id,
        before_seq=before_seq,
        limit=limit,
        actor=actor,
        object_type=object_type,
        clause=clause,
        since=since,
        until=until,
    )
    return [AuditEntryRead.model_validate(e) for e in rows]


def _checkpoint_log(session: Session) -> CheckpointLog | None:
    return session.info.get(AUDIT_CHECKPOINTS_INFO)


def verify_read(session: Session, result: VerifyResult) -> AuditVerifyRead:
    problem = None if result.ok else ProblemRead(ko=result.problem_ko, en=result.problem_en)
    checkpoints = _checkpoint_log(session)
    return AuditVerifyRead(
        ok=result.ok,
        rows=result.rows,
        head_hash=result.head_hash,
        bad_seq=result.bad_seq,
        problem=problem,
        kind=result.kind or None,
        keyed_since=result.keyed_since,
        checkpoint=CheckpointRead.model_validate(result.checkpoint) if result.checkpoint else None,
        checkpoints=result.checkpoints,
        signer=checkpoints.signer() if checkpoints is not None else None,
    )


def verify(session: Session) -> AuditVerifyRead:
    """The whole chain, its HMACs and every signed checkpoint."""
    return verify_read(session, verify_chain(session))


def public_key(session: Session) -> PublicKeyRead:
    checkpoints = _checkpoint_log(session)
    if checkpoints is None:
        raise NotFound("체크포인트 서명 키가 설정되지 않았습니다", "no checkpoint signing key is configured")
    return PublicKeyRead(pem=checkpoints.public_key_pem(), fingerprint=checkpoints.signer())


def checkpoint_now(db: Database) -> tuple[VerifyResult | None, Checkpoint | None]:
    """``gwanje audit checkpoint``: verify, then sign a checkpoint of the chain's row count and head."""
    with db.reading() as session:
        return checkpoint_chain(session)


def checkpoint_if_due(db: Database, policy: Policy) -> Checkpoint | None:
    """Periodic job: sign a checkpoint once ``GWANJE_AUDIT_CHECKPOINT_SECONDS`` have passed and the chain grew.

    A chain that no longer verifies is never checkpointed: the job logs the problem instead.
    """
    del policy  # every periodic job gets (db, policy); the interval is a setting
    if db.audit_checkpoints is None or not db.audit_checkpoints.interval_seconds:
        return None
    with db.reading() as session:
        result, checkpoint = checkpoint_chain(session, only_if_due=True)
    if result is not None and not result.ok:
        log.error("audit chain broken, no checkpoint signed: %s / %s", result.problem_ko, result.problem_en)
    return checkpoint
