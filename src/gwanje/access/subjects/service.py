"""Data-subject request use cases (PIPA Art. 35): intake after the identity check, then provided
(with everyone else masked), delayed with a reason, or refused on a lawful ground only.

The requester's name and contact are personal data: the audit chain keeps only the request id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gwanje.access import cameras as requested_cameras
from gwanje.access.choices import SUBJECT_METHODS, IdentityMethod, SubjectDelayReason
from gwanje.access.ledger import service as ledger
from gwanje.access.models import SubjectRequest
from gwanje.access.rules import PIPA_35, check_code, check_period, ids_text, items_text
from gwanje.access.subjects import rules
from gwanje.access.subjects.schemas import SubjectRequestRead
from gwanje.accounts.models import User
from gwanje.accounts.service import actor_of
from gwanje.core.audit import AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database
from gwanje.core.errors import ValidationFailed, not_found
from gwanje.policy.model import Policy


@dataclass(frozen=True)
class TakeSubjectRequest:
    """A viewing request. The console names cameras by management number (``camera_numbers``)."""

    requester_name: str
    identity_method: str
    camera_ids: tuple[int, ...]
    period_start: datetime
    period_end: datetime
    requester_contact: str | None = None
    description: str | None = None
    received_at: datetime | None = None
    camera_numbers: tuple[str, ...] = ()


def _snapshot(s: SubjectRequest) -> dict[str, Any]:
    return SubjectRequestRead.of(s).model_dump()


def take_subject_request(
    db: Database, policy: Policy, user: User, cmd: TakeSubjectRequest, *, request_id: str | None = None
) -> SubjectRequest:
    """Intake after the identity check by the handling officer; due in 10 days."""
    with db.uow() as uow:
        session = uow.session
        camera_ids = (
            requested_cameras.ids_by_number(session, cmd.camera_numbers) if cmd.camera_numbers else cmd.camera_ids
        )
        name = (cmd.requester_name or "").strip()
        if not name:
            raise ValidationFailed("청구인 성명을 입력하세요", "give the requester's name", field="requester_name")
        check_code(IdentityMethod, cmd.identity_method, "identity_method", "신원 확인 방법", "identity check method")
        check_period(cmd.period_start, cmd.period_end)
        now = utcnow()
        received = cmd.received_at or now
        if received > now:
            raise ValidationFailed("접수 일시가 미래입니다", "received_at is in the future", field="received_at")
        cameras = requested_cameras.requested(session, camera_ids)
        s = SubjectRequest(
            status="received",
            requester_name=name[:120],
            requester_contact=(cmd.requester_contact or None),
            identity_method=cmd.identity_method,
            identity_verified_by_id=user.id,
            identity_verified_by_name=user.username,
            identity_verified_at=now,
            camera_ids=ids_text(c.id for c in cameras),
            period_start=cmd.period_start,
            period_end=cmd.period_end,
            description=cmd.description,
            received_at=received,
            due_at=rules.subject_due_at(received),
            mask_others=True,
            created_at=now,
            updated_at=now,
        )
        session.add(s)
        session.flush()
        AuditLog(session).append(
            actor_of(user, request_id),
            Change(
                "subject_request.received",
                "subject_request",
                s.id,
                None,
                {"identity_method": s.identity_method, "camera_ids": s.camera_id_list, "due_at": s.due_at.isoformat()},
                clause=PIPA_35,
            ),
        )
        uow.commit()
        return s


def decide_subject_request(
    db: Database,
    policy: Policy,
    user: User,
    subject_id: int,
    *,
    outcome: str,
    reason: str | None = None,
    note: str | None = None,
    method: str = "viewing_in_person",
    request_id: str | None = None,
) -> SubjectRequest:
    """provided (others masked) / delayed (with a reason) / refused (only on a lawful ground)."""
    action = rules.OUTCOME_ACTIONS.get(outcome)
    if action is None:
        raise ValidationFailed(
            f"알 수 없는 결과: {outcome}",
            f"unknown outcome: {outcome}",
            field="outcome",
            details={"allowed": list(rules.OUTCOME_ACTIONS)},
        )
    note = (note or "").strip() or None
    if action == "refuse":
        reason = rules.check_refusal_reason(reason or "")
    elif action == "delay":
        check_code(SubjectDelayReason, reason or "", "reason", "연기 사유", "delay reason")
        if reason == "other" and not note:
            raise ValidationFailed("기타 사유의 내용을 입력하세요", "describe the other reason", field="note")
    else:
        reason = None
        if method not in SUBJECT_METHODS:
            raise ValidationFailed(
                "열람 방법은 방문 열람 또는 사본 제공입니다", "method is viewing_in_person or copy", field="method"
            )
    with db.uow() as uow:
        session = uow.session
        s = session.get(SubjectRequest, subject_id)
        if s is None:
            raise not_found("열람 청구", "subject request", subject_id)
        before = _snapshot(s)
        s.status = rules.subject_next(s.status, action)
        now = utcnow()
        s.outcome_reason, s.outcome_note = reason, note
        s.decided_by_name, s.decided_at, s.updated_at = user.username, now, now
        s.mask_others = True
        entry = AuditLog(session).append(
            actor_of(user, request_id),
            Change(f"subject_request.{outcome}", "subject_request", s.id, before, _snapshot(s), clause=PIPA_35),
        )
        if outcome == "provided":
            cameras = requested_cameras.by_ids(session, s.camera_id_list)
            ledger.append(
                session,
                kind="viewing",
                items=items_text(cameras) + " (타인 마스킹)",
                method=method,
                handler_id=user.id,
                handler_name=user.username,
                occurred_at=now,
                recipient="정보주체 본인",
                purpose=None,
                legal_ground="개인정보 보호법 제35조 (정보주체의 열람 청구)",
                camera_ids=s.camera_id_list,
                period_start=s.period_start,
                period_end=s.period_end,
                reference_type="subject_request",
                reference_id=s.id,
                clause=PIPA_35,
                audit_seq=entry.seq,
            )
        uow.commit()
        return s


def list_subject_requests(session: Session, *, status: str | None = None, limit: int = 200) -> list[SubjectRequest]:
    stmt = select(SubjectRequest).order_by(SubjectRequest.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(SubjectRequest.status == status)
    return list(session.scalars(stmt))


def read_subject_requests(db: Database, *, status: str | None = None) -> list[SubjectRequest]:
    with db.reading() as session:
        return list_subject_requests(session, status=status)


def get_subject_request(session: Session, subject_id: int) -> SubjectRequest:
    s = session.get(SubjectRequest, subject_id)
    if s is None:
        raise not_found("열람 청구", "subject request", subject_id)
    return s


def read_subject_request(db: Database, subject_id: int) -> SubjectRequest:
    with db.reading() as session:
        return get_subject_request(session, subject_id)
