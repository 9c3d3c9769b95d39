"""Provision routes: requests with their document scans, decisions (an approval prepares the export),
emergency access, usage results, deadlines and statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from starlette.concurrency import run_in_threadpool

from gwanje.access.deps import DocumentsDir, Exporting, RequestId
from gwanje.access.provisions import flows, rules, service
from gwanje.access.provisions.deps import ProvisionReader, VisibleProvision
from gwanje.access.provisions.schemas import (
    DeadlineAlertRead,
    EmergencyCreate,
    ExportCreate,
    ExportFailed,
    ExportPrepared,
    OverdueItemRead,
    ProvisionCreate,
    ProvisionDecisionCreate,
    ProvisionDecisionRead,
    ProvisionRead,
    UsageResultCreate,
    UsageStatisticRead,
)
from gwanje.core.schemas import Id, Instant
from gwanje.evidence import service as evidence
from gwanje.http.deps import DB, PolicyDep, Principal, requires

router = APIRouter(prefix="/api", tags=["access"])

Requester = Annotated[Principal, Depends(requires("video.provision.request"))]
Approver = Annotated[Principal, Depends(requires("video.provision.approve"))]
Emergency = Annotated[Principal, Depends(requires("video.emergency_access"))]
ResultEnterer = Annotated[Principal, Depends(requires("video.usage_result.enter"))]
StatsReader = Annotated[Principal, Depends(requires("reports.read"))]
SignedIn = Annotated[Principal, Depends(requires())]


@router.post("/access/provisions", status_code=201)
def request_provision(
    body: ProvisionCreate, principal: Requester, db: DB, policy: PolicyDep, rid: RequestId
) -> ProvisionRead:
    p = service.request_provision(
        db,
        policy,
        principal.user,
        service.RequestProvision(
            camera_ids=tuple(body.camera_ids),
            period_start=body.period_start,
            period_end=body.period_end,
            purpose=body.purpose,
            legal_ground=body.legal_ground,
            reason=body.reason,
            document_number=body.document_number,
            incident_id=body.incident_id,
        ),
        request_id=rid,
    )
    return ProvisionRead.of(p)


@router.post("/access/emergency", status_code=201)
def open_emergency(
    body: EmergencyCreate, principal: Emergency, db: DB, policy: PolicyDep, rid: RequestId
) -> ProvisionRead:
    """Art. 11 ①: access at once; the official document is due within the policy's hours."""
    p = service.open_emergency_access(
        db,
        policy,
        principal.user,
        service.OpenEmergencyAccess(
            camera_ids=tuple(body.camera_ids),
            period_start=body.period_start,
            period_end=body.period_end,
            purpose=body.purpose,
            legal_ground=body.legal_ground,
            reason=body.reason,
            incident_id=body.incident_id,
        ),
        request_id=rid,
    )
    return ProvisionRead.of(p)


@router.get("/access/provisions")
def list_provisions(
    principal: ProvisionReader, db: DB, policy: PolicyDep, status: Annotated[str | None, Query(max_length=30)] = None
) -> list[ProvisionRead]:
    """The operator's staff see every organisation's requests; others their own organisation's."""
    return [ProvisionRead.of(p) for p in service.read_visible_provisions(db, policy, principal.user, status=status)]


@router.get("/access/provisions/{provision_id}")
def get_provision(principal: ProvisionReader, provision: VisibleProvision) -> ProvisionRead:
    return ProvisionRead.of(provision)


@router.post("/access/provisions/{provision_id}/document")
async def upload_document(
    provision_id: Id,
    principal: Requester,
    db: DB,
    policy: PolicyDep,
    rid: RequestId,
    documents: DocumentsDir,
    document_number: Annotated[str, Form(max_length=100)],
    file: Annotated[UploadFile, File()],
) -> ProvisionRead:
    """The official document's scan (PDF, JPEG or PNG; checked by content, SHA-256 recorded)."""
    data = await file.read(rules.MAX_DOCUMENT_BYTES + 1)
    p = await run_in_threadpool(
        service.attach_document,
        db,
        policy,
        principal.user,
        provision_id,
        document_number=document_number,
        data=data,
        documents_dir=documents,
        request_id=rid,
    )
    return ProvisionRead.of(p)


def _export_read(attempt: flows.ExportAttempt) -> ExportPrepared | ExportFailed:
    if attempt.prepared is not None:
        return ExportPrepared.of(attempt.prepared)
    if attempt.error is not None:
        return ExportFailed.of(
            attempt.provision_id, attempt.error.code, attempt.error.message_ko, attempt.error.message_en
        )
    return ExportFailed.of(attempt.provision_id, "internal", "내부 오류", "internal error")


@router.post("/access/provisions/{provision_id}/decision", response_model_exclude_unset=True)
def decide(
    provision_id: Id,
    body: ProvisionDecisionCreate,
    principal: Approver,
    db: DB,
    policy: PolicyDep,
    rid: RequestId,
    place: Exporting,
) -> ProvisionDecisionRead:
    """Approve (the export is then prepared, in its own transaction) or reject, with reasons.

    An approval stands even when the export cannot be prepared: ``export.prepared`` is then false,
    ``export.error`` says why, and ``POST …/export`` retries.
    """
    if body.decision == "reject":
        p = service.decide_provision(
            db, policy, principal.user, provision_id, approve=False, reason=body.reason, request_id=rid
        )
        return ProvisionDecisionRead.of(p)
    approval = flows.approve_and_prepare_export(
        db,
        policy,
        principal.user,
        provision_id,
        reason=body.reason,
        mask_faces=body.mask_faces,
        var_dir=place.var_dir,
        secret_key=place.secret_key,
        request_id=rid,
    )
    return ProvisionDecisionRead.decided(approval.provision, _export_read(approval.export))


@router.post("/access/provisions/{provision_id}/export", status_code=201)
def prepare_export(
    provision_id: Id,
    principal: Approver,
    db: DB,
    policy: PolicyDep,
    rid: RequestId,
    place: Exporting,
    body: ExportCreate | None = None,
) -> ExportPrepared:
    """(Re)try preparing an approved provision's export. The password is in this answer only."""
    made = evidence.prepare_provision_export(
        db,
        policy,
        principal.user,
        provision_id,
        mask_faces=(body or ExportCreate()).mask_faces,
        var_dir=place.var_dir,
        secret_key=place.secret_key,
        request_id=rid,
    )
    return ExportPrepared.of(made)


@router.post("/access/provisions/{provision_id}/usage-result")
def usage_result(
    provision_id: Id, body: UsageResultCreate, principal: ResultEnterer, db: DB, policy: PolicyDep, rid: RequestId
) -> ProvisionRead:
    p = service.enter_usage_result(
        db, policy, principal.user, provision_id, used_for=body.used_for, outcome=body.outcome, request_id=rid
    )
    return ProvisionRead.of(p)


@router.get("/access/overdue")
def overdue(principal: ProvisionReader, db: DB, policy: PolicyDep) -> list[OverdueItemRead]:
    """Emergency accesses without their document, usage results and subject requests past due."""
    return [OverdueItemRead(**i.as_dict()) for i in service.read_visible_overdue_items(db, policy, principal.user)]


@router.get("/access/deadline-alerts")
def deadline_alerts(principal: SignedIn, db: DB, policy: PolicyDep) -> list[DeadlineAlertRead]:
    """The deadlines the caller's role must act on now (the same alerts the board and home page show);
    empty for a role the policy does not name in ``access.deadline_alerts``."""
    return [DeadlineAlertRead(**a.as_dict()) for a in service.read_deadline_alerts(db, policy, principal.user)]


@router.get("/access/statistics")
def statistics(
    principal: StatsReader,
    db: DB,
    policy: PolicyDep,
    since: Annotated[Instant | None, Query()] = None,
    until: Annotated[Instant | None, Query()] = None,
) -> list[UsageStatisticRead]:
    """CCTV performance from usage results: per camera, purpose and month (KST)."""
    return [UsageStatisticRead(**row) for row in service.read_usage_statistics(db, policy, since=since, until=until)]
