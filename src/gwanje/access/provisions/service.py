"""Provision use cases (영상정보 제공, Art. 11): a request with its official document, the decision,
emergency first access, the export handed over, the usage result, deadlines and statistics.

Each use case opens one unit of work, appends its audit entry (with purpose and clause) and its
ledger row in the same transaction, records its events and commits once.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gwanje.access import cameras as requested_cameras
from gwanje.access.choices import INEFFECTIVE_OUTCOMES, LegalGround, UsageOutcome
from gwanje.access.events import DeadlineMissed, EmergencyAccessOpened, ProvisionApproved, ProvisionDecided
from gwanje.access.ledger import service as ledger
from gwanje.access.models import ProvisionRequest, SubjectRequest
from gwanje.access.provisions import rules
from gwanje.access.provisions.schemas import ProvisionRead
from gwanje.access.rules import (
    PIPA_18_2,
    PIPA_35,
    check_code,
    check_period,
    check_reason,
    ids_text,
    items_text,
    sees_all_records,
    visible_organisation,
)
from gwanje.accounts.models import User
from gwanje.accounts.service import actor_of
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import KST, utcnow
from gwanje.core.db import Database, UnitOfWork
from gwanje.core.errors import Forbidden, ValidationFailed, not_found
from gwanje.policy import decisions
from gwanje.policy.model import DEADLINE_KINDS, Policy
from gwanje.situations.models import Incident


@dataclass(frozen=True)
class RequestProvision:
    """A request for footage. The console names cameras by management number (``camera_numbers``)."""

    camera_ids: tuple[int, ...]
    period_start: datetime
    period_end: datetime
    purpose: str
    legal_ground: str
    reason: str
    document_number: str
    incident_id: int | None = None
    camera_numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpenEmergencyAccess:
    camera_ids: tuple[int, ...]
    period_start: datetime
    period_end: datetime
    purpose: str
    legal_ground: str
    reason: str
    incident_id: int | None = None
    camera_numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentScan:
    """The official document's scan as uploaded, and where scans are kept."""

    number: str
    data: bytes
    documents_dir: Path


def _snapshot(p: ProvisionRequest) -> dict[str, Any]:
    """The request as the audit chain keeps it before and after a change."""
    return ProvisionRead.of(p).model_dump()


def _check_input(policy: Policy, purpose: str, legal_ground: str, start: datetime, end: datetime) -> None:
    if not policy.has_purpose(purpose):
        raise ValidationFailed(f"알 수 없는 목적: {purpose}", f"unknown purpose: {purpose}", field="purpose")
    check_code(LegalGround, legal_ground, "legal_ground", "법적 근거", "legal ground")
    check_period(start, end)


def _get(session: Session, provision_id: int, *, lock: bool = False) -> ProvisionRequest:
    p = session.get(ProvisionRequest, provision_id)
    if p is None:
        raise not_found("제공 요청", "provision request", provision_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        session.refresh(p, with_for_update=True)
    return p


def _named_cameras(session: Session, camera_ids: Sequence[int], numbers: Sequence[str]) -> Sequence[int]:
    """The console names cameras by management number; an unknown one is refused before anything else."""
    return requested_cameras.ids_by_number(session, numbers) if numbers else camera_ids


def _overdue_emergency(
    session: Session, policy: Policy, organisation: str, incident_id: int, now: datetime
) -> decisions.Decision | None:
    """The refusal when ``organisation`` already has an emergency access for this incident whose
    official document is overdue past the policy's grace (Art. 11 ①); None otherwise."""
    pending = session.scalars(
        select(ProvisionRequest).where(
            ProvisionRequest.kind == "emergency",
            ProvisionRequest.organisation == organisation,
            ProvisionRequest.incident_id == incident_id,
            ProvisionRequest.document_received_at.is_(None),
            ProvisionRequest.document_due_at.is_not(None),
        )
    )
    for p in pending:
        check = decisions.emergency_document_check(policy, p.document_due_at, p.document_received_at, now)
        if not check.allowed:
            return decisions.Decision(
                False,
                check.clause,
                f"긴급 열람 {p.id}: {check.reason_ko}",
                f"emergency access {p.id}: {check.reason_en}",
            )
    return None


def _clause_of(policy: Policy, p: ProvisionRequest) -> str:
    return policy.access.emergency_clause if p.kind == "emergency" else PIPA_18_2


# ---- request and document ---------------------------------------------------------------------


def request_provision(
    db: Database,
    policy: Policy,
    user: User,
    cmd: RequestProvision,
    *,
    scan: DocumentScan | None = None,
    request_id: str | None = None,
) -> ProvisionRequest:
    """A request for footage with the legal ground and the official document number.

    With ``scan`` the document is attached in the same transaction: a scan that cannot be stored
    leaves no request behind.
    """
    content_type = rules.sniff_document(scan.data) if scan is not None else None
    actor = actor_of(user, request_id)
    with db.uow() as uow:
        session = uow.session
        camera_ids = _named_cameras(session, cmd.camera_ids, cmd.camera_numbers)
        _check_input(policy, cmd.purpose, cmd.legal_ground, cmd.period_start, cmd.period_end)
        reason = check_reason(cmd.reason)
        number = rules.check_document_number(cmd.document_number)
        cameras = requested_cameras.requested(session, camera_ids)
        if cmd.incident_id is not None and session.get(Incident, cmd.incident_id) is None:
            raise not_found("상황", "incident", cmd.incident_id, field="incident_id")
        now = utcnow()
        p = ProvisionRequest(
            kind="regular",
            status="requested",
            requester_id=user.id,
            requester_name=user.username,
            requester_role=user.role,
            organisation=user.organisation,
            camera_ids=ids_text(c.id for c in cameras),
            period_start=cmd.period_start,
            period_end=cmd.period_end,
            purpose=cmd.purpose,
            legal_ground=cmd.legal_ground,
            reason=reason,
            incident_id=cmd.incident_id,
            document_number=number,
            created_at=now,
            updated_at=now,
        )
        session.add(p)
        session.flush()
        AuditLog(session).append(
            actor,
            Change(
                "provision.requested",
                "provision_request",
                p.id,
                None,
                _snapshot(p),
                purpose=cmd.purpose,
                clause=PIPA_18_2,
            ),
        )
        if scan is not None:
            _attach(session, policy, actor, user, p, scan, content_type)
        uow.commit()
        return p


def attach_document(
    db: Database,
    policy: Policy,
    user: User,
    provision_id: int,
    *,
    document_number: str,
    data: bytes,
    documents_dir: Path,
    request_id: str | None = None,
) -> ProvisionRequest:
    """The scan of the official document (PDF/JPEG/PNG, checked by content); closes an emergency's
    'document pending' item."""
    scan = DocumentScan(rules.check_document_number(document_number), data, documents_dir)
    content_type = rules.sniff_document(data)
    with db.uow() as uow:
        p = _get(uow.session, provision_id, lock=True)
        _attach(uow.session, policy, actor_of(user, request_id), user, p, scan, content_type)
        uow.commit()
        return p


def _attach(
    session: Session,
    policy: Policy,
    actor: Actor,
    user: User,
    p: ProvisionRequest,
    scan: DocumentScan,
    content_type: str,
) -> None:
    """Store the scan (content-addressed, so a rolled-back attach leaves only an unused file) and record it."""
    if p.organisation != user.organisation:
        raise Forbidden(
            "요청한 기관만 공문을 제출할 수 있습니다",
            "only the requesting organisation may submit the document",
            clause=PIPA_18_2,
        )
    number = rules.check_document_number(scan.number)
    digest = hashlib.sha256(scan.data).hexdigest()
    before = _snapshot(p)
    now = utcnow()
    if p.kind == "emergency":
        p.status = rules.provision_next(p.status, "receive_document")
    elif p.status != "requested":
        rules.provision_next(p.status, "attach_document")  # raises: only before the decision
    scan.documents_dir.mkdir(parents=True, exist_ok=True)
    path = scan.documents_dir / f"{digest}{rules.DOCUMENT_TYPES[content_type][1]}"
    if not path.exists():
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(scan.data)
        tmp.replace(path)
    p.document_number = number
    p.document_path = str(path)
    p.document_sha256 = digest
    p.document_content_type = content_type
    p.document_size = len(scan.data)
    p.document_received_at = now
    p.updated_at = now
    AuditLog(session).append(
        actor,
        Change(
            "provision.document.received",
            "provision_request",
            p.id,
            before,
            _snapshot(p),
            purpose=p.purpose,
            clause=_clause_of(policy, p),
        ),
    )


# ---- decision ---------------------------------------------------------------------------------


def decide_provision(
    db: Database,
    policy: Policy,
    user: User,
    provision_id: int,
    *,
    approve: bool,
    reason: str,
    request_id: str | None = None,
) -> ProvisionRequest:
    """An approver approves (the export is then prepared, see ``access.flows``) or rejects, with reasons."""
    reason = check_reason(reason)
    with db.uow() as uow:
        session = uow.session
        p = _get(session, provision_id, lock=True)
        target = rules.provision_next(p.status, "approve" if approve else "reject")
        if approve and not p.document_sha256:
            raise ValidationFailed(
                "공문 사본이 없어 승인할 수 없습니다",
                "the official document scan is missing",
                field="document",
                clause=PIPA_18_2,
            )
        before = _snapshot(p)
        now = utcnow()
        p.status = target
        p.decided_by_id, p.decided_by_name, p.decided_at, p.decision_reason = user.id, user.username, now, reason
        p.updated_at = now
        AuditLog(session).append(
            actor_of(user, request_id),
            Change(
                "provision.approved" if approve else "provision.rejected",
                "provision_request",
                p.id,
                before,
                _snapshot(p),
                purpose=p.purpose,
                clause=PIPA_18_2,
            ),
        )
        if approve:
            uow.record(
                ProvisionApproved(
                    provision_id=p.id,
                    camera_ids=tuple(p.camera_id_list),
                    period_start=p.period_start.isoformat(),
                    period_end=p.period_end.isoformat(),
                    purpose=p.purpose,
                    requester_id=p.requester_id,
                )
            )
        uow.record(
            ProvisionDecided(
                to_roles=(p.requester_role,),
                provision_id=p.id,
                approved=approve,
                message={
                    "ko": f"영상정보 제공 요청 {p.id}: {'승인' if approve else '거부'} — {reason}",
                    "en": f"provision request {p.id} {'approved' if approve else 'rejected'}: {reason}",
                },
            )
        )
        uow.commit()
        return p


# ---- emergency first access (Art. 11 ①) ------------------------------------------------------


def open_emergency_access(
    db: Database,
    policy: Policy,
    user: User,
    cmd: OpenEmergencyAccess,
    *,
    request_id: str | None = None,
    now: datetime | None = None,
) -> ProvisionRequest:
    """Art. 11 ①: access at once with a stated reason; an 'official document pending' item opens."""
    now = now or utcnow()
    decision = decisions.emergency_access(policy, now, organisation=user.organisation)
    actor = actor_of(user, request_id)
    with db.uow() as uow:
        session = uow.session
        camera_ids = _named_cameras(session, cmd.camera_ids, cmd.camera_numbers)
        _check_input(policy, cmd.purpose, cmd.legal_ground, cmd.period_start, cmd.period_end)
        reason = check_reason(cmd.reason)
        cameras = requested_cameras.requested(session, camera_ids)
        camera_ids = [c.id for c in cameras]
        incident = session.get(Incident, cmd.incident_id) if cmd.incident_id is not None else None
        if cmd.incident_id is not None and incident is None:
            raise not_found("상황", "incident", cmd.incident_id, field="incident_id")
        if decision.allowed:
            # The 112 emergency-video agreement: only for the incident types the policy lists.
            video = decisions.emergency_video(policy, incident.type if incident is not None else None, now, now)
            if not video.allowed:
                decision = video
        if decision.allowed and incident is not None:
            # A fresh emergency access would side-step the one whose document is overdue (Art. 11 ①).
            overdue = _overdue_emergency(session, policy, user.organisation, incident.id, now)
            if overdue is not None:
                decision = overdue
        if not decision.allowed:
            AuditLog(session).append(
                actor,
                Change(
                    "provision.emergency.denied",
                    "user",
                    user.id,
                    None,
                    {"camera_ids": camera_ids},
                    purpose=cmd.purpose,
                    clause=decision.clause,
                ),
            )
            uow.commit()
            raise Forbidden(decision.reason_ko, decision.reason_en, clause=decision.clause)
        result_due = decisions.usage_result_due(policy, now)
        p = ProvisionRequest(
            kind="emergency",
            status="emergency_open",
            requester_id=user.id,
            requester_name=user.username,
            requester_role=user.role,
            organisation=user.organisation,
            camera_ids=ids_text(camera_ids),
            period_start=cmd.period_start,
            period_end=cmd.period_end,
            purpose=cmd.purpose,
            legal_ground=cmd.legal_ground,
            reason=reason,
            incident_id=cmd.incident_id,
            document_due_at=decision.document_due_at,
            provided_at=now,
            usage_result_due_at=result_due.due_at,
            created_at=now,
            updated_at=now,
        )
        session.add(p)
        session.flush()
        AuditLog(session).append(
            actor,
            Change(
                "provision.emergency.opened",
                "provision_request",
                p.id,
                None,
                _snapshot(p),
                purpose=cmd.purpose,
                clause=decision.clause,
            ),
        )
        # No ledger row: opening emergency access shows no video. Each viewing under it is recorded
        # when it is delivered (``gwanje.access.service.record_delivery``, referring to this provision).
        uow.record(
            EmergencyAccessOpened(
                to_roles=policy.provision_approvers((cmd.purpose,)),
                provision_id=p.id,
                document_due_at=p.document_due_at.isoformat(),
                message={
                    "ko": f"긴급 우선 열람 {p.id} ({user.username}): {reason} — 공문 기한 "
                    f"{p.document_due_at.astimezone(KST):%Y-%m-%d %H:%M}",
                    "en": f"emergency access {p.id} by {user.username}: {reason} — document due "
                    f"{p.document_due_at.isoformat()}",
                },
            )
        )
        uow.commit()
        return p


# ---- export and usage result (Art. 11 ②) ------------------------------------------------------


def mark_exported(
    db: Database, policy: Policy, actor: Actor, provision_id: int, *, export_ref: str, now: datetime | None = None
) -> ProvisionRequest:
    """Called by the evidence side once the copy is handed over: ledger 'provision' row, usage
    result deadline (Art. 11 ②) starts."""
    now = now or utcnow()
    with db.uow() as uow:
        session = uow.session
        p = _get(session, provision_id, lock=True)
        before = _snapshot(p)
        p.status = rules.provision_next(p.status, "export")
        p.export_ref = (export_ref or "")[:200] or None
        if p.kind == "regular" or p.provided_at is None:
            p.provided_at = now
            p.usage_result_due_at = decisions.usage_result_due(policy, now).due_at
        p.updated_at = now
        cameras = requested_cameras.by_ids(session, p.camera_id_list)
        clause = _clause_of(policy, p)
        entry = AuditLog(session).append(
            actor,
            Change(
                "provision.exported", "provision_request", p.id, before, _snapshot(p), purpose=p.purpose, clause=clause
            ),
        )
        ledger.append(
            session,
            kind="provision",
            items=items_text(cameras),
            method="copy",
            handler_id=actor.id,
            handler_name=actor.name,
            occurred_at=now,
            recipient=p.requester_name,
            recipient_organisation=policy.organisation(p.organisation).name_ko,
            purpose=p.purpose,
            legal_ground=LegalGround.label(p.legal_ground)[:200],
            camera_ids=p.camera_id_list,
            period_start=p.period_start,
            period_end=p.period_end,
            reference_type="provision",
            reference_id=p.id,
            clause=clause,
            audit_seq=entry.seq,
        )
        uow.commit()
        return p


def enter_usage_result(
    db: Database,
    policy: Policy,
    user: User,
    provision_id: int,
    *,
    used_for: str,
    outcome: str,
    request_id: str | None = None,
) -> ProvisionRequest:
    """Art. 11 ②: what the footage was used for and what came of it."""
    used_for = check_reason(used_for, "used_for")
    check_code(UsageOutcome, outcome, "outcome", "활용 결과", "usage outcome")
    with db.uow() as uow:
        session = uow.session
        p = _get(session, provision_id, lock=True)
        if p.organisation != user.organisation:
            raise Forbidden(
                "요청한 기관만 활용결과를 입력할 수 있습니다",
                "only the requesting organisation may enter the usage result",
                clause=policy.access.usage_result_clause,
            )
        before = _snapshot(p)
        now = utcnow()
        p.status = rules.provision_next(p.status, "enter_result")
        p.usage_result, p.usage_outcome = used_for, outcome
        p.usage_result_entered_at, p.usage_result_by_name, p.updated_at = now, user.username, now
        AuditLog(session).append(
            actor_of(user, request_id),
            Change(
                "provision.usage_result.entered",
                "provision_request",
                p.id,
                before,
                _snapshot(p),
                purpose=p.purpose,
                clause=policy.access.usage_result_clause,
            ),
        )
        uow.commit()
        return p


# ---- reading ----------------------------------------------------------------------------------


def list_provisions(
    session: Session, *, organisation: str | None = None, status: str | None = None, limit: int = 200
) -> list[ProvisionRequest]:
    stmt = select(ProvisionRequest).order_by(ProvisionRequest.id.desc()).limit(limit)
    if organisation:
        stmt = stmt.where(ProvisionRequest.organisation == organisation)
    if status:
        stmt = stmt.where(ProvisionRequest.status == status)
    return list(session.scalars(stmt))


def visible_provisions(
    session: Session, policy: Policy, user: User, *, status: str | None = None, limit: int = 200
) -> list[ProvisionRequest]:
    """The requests ``user`` may see: the operator's staff every organisation's, others their own."""
    return list_provisions(
        session, organisation=visible_organisation(policy, user.organisation), status=status, limit=limit
    )


def read_visible_provisions(
    db: Database, policy: Policy, user: User, *, status: str | None = None
) -> list[ProvisionRequest]:
    with db.reading() as session:
        return visible_provisions(session, policy, user, status=status)


def get_provision(session: Session, provision_id: int) -> ProvisionRequest:
    return _get(session, provision_id)


def get_visible_provision(db: Database, policy: Policy, user: User, provision_id: int) -> ProvisionRequest:
    """One request, if ``user``'s organisation may see it; another organisation's is 'not found'."""
    with db.reading() as session:
        p = _get(session, provision_id)
    if not sees_all_records(policy, user.organisation) and p.organisation != user.organisation:
        raise not_found("제공 요청", "provision request", "")
    return p


@dataclass(frozen=True)
class OverdueItem:
    kind: str  # document | usage_result | subject_request
    object_id: int
    due_at: datetime
    responsible: str
    clause: str
    label_ko: str
    label_en: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def overdue_items(session: Session, policy: Policy, now: datetime | None = None) -> list[OverdueItem]:
    """Every item past its deadline: emergency documents, usage results, subject requests."""
    now = now or utcnow()
    items: list[OverdueItem] = []
    docs = session.scalars(
        select(ProvisionRequest)
        .where(
            ProvisionRequest.document_due_at.is_not(None),
            ProvisionRequest.document_received_at.is_(None),
            ProvisionRequest.document_due_at < now,
        )
        .order_by(ProvisionRequest.document_due_at)
    )
    for p in docs:
        items.append(
            OverdueItem(
                "document",
                p.id,
                p.document_due_at,
                p.requester_name,
                policy.access.emergency_clause,
                f"긴급 열람 {p.id}: 공문 미제출 (기한 경과)",
                f"emergency access {p.id}: official document overdue",
            )
        )
    results = session.scalars(
        select(ProvisionRequest)
        .where(
            ProvisionRequest.usage_result_due_at.is_not(None),
            ProvisionRequest.usage_result_entered_at.is_(None),
            ProvisionRequest.usage_result_due_at < now,
        )
        .order_by(ProvisionRequest.usage_result_due_at)
    )
    for p in results:
        items.append(
            OverdueItem(
                "usage_result",
                p.id,
                p.usage_result_due_at,
                p.requester_name,
                policy.access.usage_result_clause,
                f"제공 {p.id}: CCTV 활용결과 미입력 (기한 경과)",
                f"provision {p.id}: usage result overdue",
            )
        )
    subjects = session.scalars(
        select(SubjectRequest)
        .where(SubjectRequest.status == "received", SubjectRequest.due_at < now)
        .order_by(SubjectRequest.due_at)
    )
    for s in subjects:
        items.append(
            OverdueItem(
                "subject_request",
                s.id,
                s.due_at,
                s.requester_name,
                PIPA_35,
                f"개인영상정보 열람 청구 {s.id}: 10일 기한 경과",
                f"subject request {s.id}: 10-day deadline passed",
            )
        )
    return items


def visible_overdue_items(session: Session, policy: Policy, user: User) -> list[OverdueItem]:
    """Overdue items for ``user``: subject requests are the operator's to handle, so only its staff see them."""
    items = overdue_items(session, policy)
    if not sees_all_records(policy, user.organisation):
        items = [i for i in items if i.kind != "subject_request"]
    return items


def read_visible_overdue_items(db: Database, policy: Policy, user: User) -> list[OverdueItem]:
    with db.reading() as session:
        return visible_overdue_items(session, policy, user)


@dataclass(frozen=True)
class DeadlineAlert:
    """A deadline that needs someone to act now: an emergency's official document past due (and when
    access under it stops), a usage result past due, a subject request near or past its 10 days."""

    kind: str  # document | usage_result | subject_request
    object_id: int
    due_at: datetime
    overdue: bool
    blocks_at: datetime | None  # document: access under the emergency is refused after this
    organisation: str
    responsible: str
    clause: str
    label_ko: str
    label_en: str
    href: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _kst(at: datetime) -> str:
    return f"{at.astimezone(KST):%Y-%m-%d %H:%M} KST"


def deadline_alerts(session: Session, policy: Policy, user: User, now: datetime | None = None) -> list[DeadlineAlert]:
    """The deadline alerts ``user`` must act on: only kinds the policy's ``access.deadline_alerts``
    gives their role, and of those only their own organisation's (the operator's staff: all). Each
    disappears once the document is filed, the result entered or the request decided."""
    now = now or utcnow()
    own = visible_organisation(policy, user.organisation)
    acts = {kind: decisions.must_act_on_deadline(policy, user.role, kind) for kind in DEADLINE_KINDS}
    alerts: list[DeadlineAlert] = []
    if acts["document"] or acts["usage_result"]:
        base = select(ProvisionRequest)
        if own is not None:
            base = base.where(ProvisionRequest.organisation == own)
        if acts["document"]:
            docs = session.scalars(
                base.where(
                    ProvisionRequest.kind == "emergency",
                    ProvisionRequest.document_due_at.is_not(None),
                    ProvisionRequest.document_received_at.is_(None),
                    ProvisionRequest.document_due_at < now,
                ).order_by(ProvisionRequest.document_due_at, ProvisionRequest.id)
            )
            for p in docs:
                cutoff = decisions.document_cutoff(policy, p.document_due_at)
                blocked = now > cutoff
                alerts.append(
                    DeadlineAlert(
                        "document",
                        p.id,
                        p.document_due_at,
                        True,
                        cutoff,
                        p.organisation,
                        p.requester_name,
                        policy.access.emergency_clause,
                        f"긴급 열람 {p.id}: 공문 미제출 (기한 {_kst(p.document_due_at)} 경과) — "
                        + ("이 긴급 열람으로는 더 열람할 수 없습니다" if blocked else f"{_kst(cutoff)}부터 열람 차단"),
                        f"emergency access {p.id}: official document overdue (due {_kst(p.document_due_at)}) — "
                        + ("no further access under it" if blocked else f"access stops at {_kst(cutoff)}"),
                        f"/access/emergency#p{p.id}",
                    )
                )
        if acts["usage_result"]:
            results = session.scalars(
                base.where(
                    ProvisionRequest.usage_result_due_at.is_not(None),
                    ProvisionRequest.usage_result_entered_at.is_(None),
                    ProvisionRequest.usage_result_due_at < now,
                ).order_by(ProvisionRequest.usage_result_due_at, ProvisionRequest.id)
            )
            for p in results:
                alerts.append(
                    DeadlineAlert(
                        "usage_result",
                        p.id,
                        p.usage_result_due_at,
                        True,
                        None,
                        p.organisation,
                        p.requester_name,
                        policy.access.usage_result_clause,
                        f"제공 {p.id}: CCTV 활용결과 미입력 (기한 {_kst(p.usage_result_due_at)} 경과)",
                        f"provision {p.id}: usage result overdue (due {_kst(p.usage_result_due_at)})",
                        f"/access/usage-results#p{p.id}",
                    )
                )
    # Subject requests are the operator's to answer (PIPA 35): only its staff are alerted.
    if acts["subject_request"] and own is None:
        days = policy.access.subject_request_alert_days
        subjects = session.scalars(
            select(SubjectRequest)
            .where(
                SubjectRequest.status == "received",
                SubjectRequest.due_at <= now + timedelta(days=days),
            )
            .order_by(SubjectRequest.due_at, SubjectRequest.id)
        )
        for s in subjects:
            if now < decisions.subject_request_alert_from(policy, s.due_at):
                continue
            late = decisions.is_overdue(s.due_at, now)
            alerts.append(
                DeadlineAlert(
                    "subject_request",
                    s.id,
                    s.due_at,
                    late,
                    None,
                    policy.operator,
                    s.identity_verified_by_name,  # the officer who took it; the data subject's name stays off
                    PIPA_35,
                    f"개인영상정보 열람 청구 {s.id}: "
                    + (f"10일 기한 경과 ({_kst(s.due_at)})" if late else f"10일 기한 임박 ({_kst(s.due_at)}까지)"),
                    f"subject request {s.id}: "
                    + (
                        f"10-day limit passed ({_kst(s.due_at)})"
                        if late
                        else f"10-day limit near (by {_kst(s.due_at)})"
                    ),
                    f"/access/subject-requests#s{s.id}",
                )
            )
    return alerts


def read_deadline_alerts(db: Database, policy: Policy, user: User) -> list[DeadlineAlert]:
    with db.reading() as session:
        return deadline_alerts(session, policy, user)


def flag_overdue(db: Database, policy: Policy, now: datetime | None = None) -> int:
    """Scheduled: alert each overdue item once, audited. Returns how many items were flagged; the
    :class:`DeadlineMissed` events go out when the unit of work commits."""
    now = now or utcnow()
    with db.uow() as uow:
        flagged = _flag_overdue(uow, policy, now)
        uow.commit()
    return flagged


def _flag_overdue(uow: UnitOfWork, policy: Policy, now: datetime) -> int:
    session = uow.session
    audit = AuditLog(session)
    actor = Actor.system("system:overdue")
    flagged = 0
    for item in overdue_items(session, policy, now):
        if item.kind == "subject_request":
            s = session.get(SubjectRequest, item.object_id)
            if s.overdue_notified_at is not None:
                continue
            s.overdue_notified_at = now
            audit.append(
                actor,
                Change(
                    "subject_request.overdue",
                    "subject_request",
                    s.id,
                    None,
                    {"due_at": item.due_at.isoformat()},
                    clause=item.clause,
                ),
            )
            to_roles = policy.roles_with("video.subject_request.handle")  # those who answer the request
        else:
            p = session.get(ProvisionRequest, item.object_id)
            field = "document_overdue_notified_at" if item.kind == "document" else "usage_result_overdue_notified_at"
            if getattr(p, field) is not None:
                continue
            setattr(p, field, now)
            to_roles = tuple(sorted({p.requester_role, *policy.provision_approvers((p.purpose,))}))
            audit.append(
                actor,
                Change(
                    f"provision.{item.kind}.overdue",
                    "provision_request",
                    p.id,
                    None,
                    {"due_at": item.due_at.isoformat(), "requester": p.requester_name},
                    purpose=p.purpose,
                    clause=item.clause,
                ),
            )
        uow.record(
            DeadlineMissed(
                to_roles=to_roles,
                overdue=item.kind,
                object_id=item.object_id,
                due_at=item.due_at.isoformat(),
                clause=item.clause,
                message={"ko": item.label_ko, "en": item.label_en},
            )
        )
        flagged += 1
    return flagged


def usage_statistics(
    session: Session, policy: Policy, *, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    """CCTV performance (Art. 11 ②): usage results per camera, purpose and month (KST)."""
    stmt = select(ProvisionRequest).where(ProvisionRequest.usage_result_entered_at.is_not(None))
    if since:
        stmt = stmt.where(ProvisionRequest.provided_at >= since)
    if until:
        stmt = stmt.where(ProvisionRequest.provided_at < until)
    buckets: dict[tuple[int, str, str], Counter] = defaultdict(Counter)
    for p in session.scalars(stmt):
        month = (p.provided_at or p.created_at).astimezone(KST).strftime("%Y-%m")
        for camera_id in p.camera_id_list:
            buckets[(camera_id, p.purpose, month)][p.usage_outcome or "no_result"] += 1
    numbers = requested_cameras.numbers_of(session, {k[0] for k in buckets})
    rows = []
    for (camera_id, purpose, month), outcomes in sorted(buckets.items()):
        rows.append(
            {
                "camera_id": camera_id,
                "management_number": numbers.get(camera_id),
                "purpose": purpose,
                "month": month,
                "uses": sum(outcomes.values()),
                "outcomes": dict(sorted(outcomes.items())),
                "effective": sum(n for o, n in outcomes.items() if o not in INEFFECTIVE_OUTCOMES),
            }
        )
    return rows


def read_usage_statistics(
    db: Database, policy: Policy, *, since: datetime | None = None, until: datetime | None = None
) -> list[dict[str, Any]]:
    with db.reading() as session:
        return usage_statistics(session, policy, since=since, until=until)


def camera_numbers(session: Session, camera_ids: Sequence[int]) -> dict[int, str]:
    return requested_cameras.numbers_of(session, camera_ids)
