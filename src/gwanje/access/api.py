"""Access routes: video access decisions, cameras attached to incidents, provision to the police,
data-subject requests, retention holds and the ledgers. Routes parse, call one use case, render."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import AwareDatetime, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from gwanje.access import ledger, rules, service
from gwanje.core.errors import DomainError, ValidationFailed
from gwanje.core.schemas import StrictModel
from gwanje.evidence import service as evidence
from gwanje.http.deps import DB, PolicyDep, Principal, requires

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["access"])

SignedIn = Annotated[Principal, Depends(requires())]
Attacher = Annotated[Principal, Depends(requires("incidents.attach_camera"))]
Requester = Annotated[Principal, Depends(requires("video.provision.request"))]
Approver = Annotated[Principal, Depends(requires("video.provision.approve"))]
ProvisionReader = Annotated[Principal, Depends(requires("video.provision.request", "video.provision.approve"))]
Emergency = Annotated[Principal, Depends(requires("video.emergency_access"))]
ResultEnterer = Annotated[Principal, Depends(requires("video.usage_result.enter"))]
StatsReader = Annotated[Principal, Depends(requires("reports.read"))]
SubjectHandler = Annotated[Principal, Depends(requires("video.subject_request.handle"))]
HoldKeeper = Annotated[Principal, Depends(requires("retention.hold"))]
LedgerReader = Annotated[Principal, Depends(requires("ledger.read"))]
LedgerCorrector = Annotated[Principal, Depends(requires("ledger.correct"))]

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Text = Annotated[str, StringConstraints(max_length=2000)]
CameraIds = Annotated[list[int], Field(min_length=1, max_length=200)]


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _publish(request: Request, events: list[dict]) -> None:
    if events:
        request.app.state.bus.publish_many(events)


# ---- video access ----------------------------------------------------------------------------


class AuthorizeBody(StrictModel):
    camera_id: int
    purpose: Code
    action: Literal["live", "playback", "snapshot", "export"]
    incident_id: int | None = None
    provision_id: int | None = None


@router.post("/access/authorize")
def authorize(body: AuthorizeBody, request: Request, principal: SignedIn, db: DB, policy: PolicyDep) -> dict:
    """Ask to open a camera for a purpose; a refusal (403) names the clause it rests on."""
    grant = service.authorize_video(db, policy, principal.user, body.camera_id, body.purpose, body.action,
                                    incident_id=body.incident_id, request_id=_rid(request),
                                    provision_id=body.provision_id)
    return {**grant.__dict__, "clause_text": service._clause_text(policy, grant.clause)}


class AttachBody(StrictModel):
    camera_id: int
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


# GET /api/incidents/{id}/cameras lists the nearest cameras (situations); these are the attached ones.
@router.post("/incidents/{incident_id}/attached-cameras", status_code=201)
def attach_camera(incident_id: int, body: AttachBody, request: Request, principal: Attacher, db: DB,
                  policy: PolicyDep) -> dict:
    link = service.attach_camera(db, policy, principal.user, incident_id, body.camera_id, body.reason,
                                 request_id=_rid(request))
    return _link_dict(link)


@router.get("/incidents/{incident_id}/attached-cameras")
def attached_cameras(incident_id: int, principal: Attacher, db: DB) -> list[dict]:
    with db.reading() as session:
        return [_link_dict(link) for link in service.incident_cameras(session, incident_id)]


def _link_dict(link) -> dict:  # noqa: ANN001
    return {"incident_id": link.incident_id, "camera_id": link.camera_id, "attached_by": link.attached_by_name,
            "attached_at": link.attached_at, "reason": link.reason}


# ---- provision to the police -----------------------------------------------------------------


class ProvisionCreate(StrictModel):
    camera_ids: CameraIds
    period_start: AwareDatetime
    period_end: AwareDatetime
    purpose: Code
    legal_ground: Code
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    document_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    incident_id: int | None = None


class EmergencyCreate(StrictModel):
    camera_ids: CameraIds
    period_start: AwareDatetime
    period_end: AwareDatetime
    purpose: Code
    legal_ground: Code
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    incident_id: int | None = None


class DecisionBody(StrictModel):
    decision: Literal["approve", "reject"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    mask_faces: bool = Field(default=False, description="Approve: mask faces in the prepared export.")


class ExportBody(StrictModel):
    mask_faces: bool = False


class UsageResultBody(StrictModel):
    used_for: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    outcome: Code


@router.post("/access/provisions", status_code=201)
def request_provision(body: ProvisionCreate, request: Request, principal: Requester, db: DB,
                      policy: PolicyDep) -> dict:
    p = service.request_provision(db, policy, principal.user, service.RequestProvision(
        camera_ids=tuple(body.camera_ids), period_start=body.period_start, period_end=body.period_end,
        purpose=body.purpose, legal_ground=body.legal_ground, reason=body.reason,
        document_number=body.document_number, incident_id=body.incident_id), request_id=_rid(request))
    return service.provision_dict(p)


@router.post("/access/emergency", status_code=201)
def open_emergency(body: EmergencyCreate, request: Request, principal: Emergency, db: DB,
                   policy: PolicyDep) -> dict:
    """Art. 11 ①: access at once; the official document is due within the policy's hours."""
    p, events = service.open_emergency_access(db, policy, principal.user, service.OpenEmergencyAccess(
        camera_ids=tuple(body.camera_ids), period_start=body.period_start, period_end=body.period_end,
        purpose=body.purpose, legal_ground=body.legal_ground, reason=body.reason, incident_id=body.incident_id),
        request_id=_rid(request))
    _publish(request, events)
    return service.provision_dict(p)


@router.get("/access/provisions")
def list_provisions(principal: ProvisionReader, db: DB, policy: PolicyDep,
                    status: Annotated[str | None, Query(max_length=30)] = None) -> list[dict]:
    # The police see their own organisation's requests; the district sees all.
    org = principal.user.organisation if principal.user.organisation != "district" else None
    with db.reading() as session:
        return [service.provision_dict(p) for p in service.list_provisions(session, organisation=org, status=status)]


@router.get("/access/provisions/{provision_id}")
def get_provision(provision_id: int, principal: ProvisionReader, db: DB) -> dict:
    with db.reading() as session:
        p = service.get_provision(session, provision_id)
        _same_org_or_district(principal, p.organisation)
        return service.provision_dict(p)


def _same_org_or_district(principal: Principal, organisation: str) -> None:
    if principal.user.organisation not in ("district", organisation):
        from gwanje.core.errors import not_found

        raise not_found("제공 요청", "provision request", "")


@router.post("/access/provisions/{provision_id}/document")
async def upload_document(provision_id: int, request: Request, principal: Requester, db: DB, policy: PolicyDep,
                          document_number: Annotated[str, Form(max_length=100)],
                          file: Annotated[UploadFile, File()]) -> dict:
    """The official document's scan (PDF, JPEG or PNG; checked by content, SHA-256 recorded)."""
    data = await file.read(rules.MAX_DOCUMENT_BYTES + 1)
    documents_dir = request.app.state.settings.var_dir / "documents"
    p = await run_in_threadpool(service.attach_document, db, policy, principal.user, provision_id,
                                document_number=document_number, data=data, documents_dir=documents_dir,
                                request_id=_rid(request))
    return service.provision_dict(p)


@router.post("/access/provisions/{provision_id}/decision")
def decide(provision_id: int, body: DecisionBody, request: Request, principal: Approver, db: DB,
           policy: PolicyDep) -> dict:
    """Approve (the export is then prepared, in its own transaction) or reject, with reasons.

    An approval stands even when the export cannot be prepared: ``export.prepared`` is then false,
    ``export.error`` says why, and ``POST …/export`` retries.
    """
    approve = body.decision == "approve"
    p, events = service.decide_provision(db, policy, principal.user, provision_id, approve=approve,
                                         reason=body.reason, request_id=_rid(request))
    _publish(request, events)
    out = service.provision_dict(p)
    if approve:
        try:
            made = _prepare_export(request, db, policy, principal, provision_id, body.mask_faces)
        except DomainError as exc:
            out["export"] = _export_failure(provision_id, exc.code, exc.message_ko, exc.message_en)
        except Exception:  # the approval is committed; say so rather than answer 500
            log.exception("preparing the export of provision %s failed", provision_id)
            out["export"] = _export_failure(provision_id, "internal", "내부 오류", "internal error")
        else:
            out["export"] = {"prepared": True, **made}
            with db.reading() as session:
                out.update(service.provision_dict(service.get_provision(session, provision_id)))
    return out


@router.post("/access/provisions/{provision_id}/export", status_code=201)
def prepare_export(provision_id: int, request: Request, principal: Approver, db: DB, policy: PolicyDep,
                   body: ExportBody | None = None) -> dict:
    """(Re)try preparing an approved provision's export. The password is in this answer only."""
    return _prepare_export(request, db, policy, principal, provision_id, (body or ExportBody()).mask_faces)


def _prepare_export(request: Request, db, policy, principal: Principal, provision_id: int,  # noqa: ANN001
                    mask_faces: bool) -> dict:
    made = evidence.prepare_provision_export(
        db, policy, principal.user, provision_id, mask_faces=mask_faces,
        var_dir=Path(request.app.state.settings.var_dir), secret_key=request.app.state.secret_key,
        request_id=_rid(request))
    created = made.package
    return {"package": created.record, "password": created.password,
            "download_url": f"/api/evidence/{created.id}/download?token={created.download_token}",
            "download_expires_at": created.download_expires_at,
            "cameras_without_recordings": list(made.cameras_without_recordings),
            "notice": {"ko": "비밀번호는 다시 볼 수 없습니다. 수령인에게 다른 경로(전화 등)로 전달하십시오. 수령인은 "
                             "로그인한 뒤 자신의 제공 요청 화면에서 내려받습니다.",
                       "en": "The password cannot be shown again: give it to the recipient by another channel "
                             "(e.g. phone). The recipient downloads the package from their provisions page "
                             "after signing in."}}


def _export_failure(provision_id: int, code: str, ko: str, en: str) -> dict:
    return {"prepared": False, "error": code,
            "message": {"ko": f"승인은 완료되었으나 반출 영상을 준비하지 못했습니다: {ko}",
                        "en": f"Approved, but the export could not be prepared: {en}"},
            "retry": f"/api/access/provisions/{provision_id}/export"}


@router.post("/access/provisions/{provision_id}/usage-result")
def usage_result(provision_id: int, body: UsageResultBody, request: Request, principal: ResultEnterer, db: DB,
                 policy: PolicyDep) -> dict:
    p = service.enter_usage_result(db, policy, principal.user, provision_id, used_for=body.used_for,
                                   outcome=body.outcome, request_id=_rid(request))
    return service.provision_dict(p)


@router.get("/access/overdue")
def overdue(principal: ProvisionReader, db: DB, policy: PolicyDep) -> list[dict]:
    """Emergency accesses without their document, usage results and subject requests past due."""
    with db.reading() as session:
        items = service.overdue_items(session, policy)
    if principal.user.organisation != "district":
        items = [i for i in items if i.kind != "subject_request"]
    return [i.as_dict() for i in items]


@router.get("/access/statistics")
def statistics(principal: StatsReader, db: DB, policy: PolicyDep,
               since: Annotated[AwareDatetime | None, Query()] = None,
               until: Annotated[AwareDatetime | None, Query()] = None) -> list[dict]:
    """CCTV performance from usage results: per camera, purpose and month (KST)."""
    with db.reading() as session:
        return service.usage_statistics(session, policy, since=since, until=until)


@router.get("/access/codes")
def codes(principal: SignedIn) -> dict:
    """The closed lists the forms offer: legal grounds, outcomes, identity methods, reasons."""
    def table(t: Any) -> list[dict]:
        return [{"code": k, "ko": v[0], "en": v[1]} for k, v in t.items()]

    return {"legal_grounds": table(rules.LEGAL_GROUNDS), "usage_outcomes": table(rules.USAGE_OUTCOMES),
            "identity_methods": table(rules.IDENTITY_METHODS),
            "refusal_reasons": table(rules.SUBJECT_REFUSAL_REASONS),
            "delay_reasons": table(rules.SUBJECT_DELAY_REASONS), "ledger_kinds": table(rules.LEDGER_KINDS),
            "ledger_methods": table(rules.LEDGER_METHODS)}


# ---- data-subject requests (PIPA Art. 35) ----------------------------------------------------


class SubjectCreate(StrictModel):
    requester_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    requester_contact: Annotated[str, StringConstraints(max_length=200)] | None = None
    identity_method: Code
    camera_ids: CameraIds
    period_start: AwareDatetime
    period_end: AwareDatetime
    description: Text | None = None
    received_at: AwareDatetime | None = None


class SubjectDecision(StrictModel):
    outcome: Literal["provided", "delayed", "refused"]
    reason: Annotated[str, StringConstraints(max_length=40)] | None = None
    note: Text | None = None
    method: Literal["viewing_in_person", "copy"] = "viewing_in_person"


@router.post("/access/subject-requests", status_code=201)
def take_subject_request(body: SubjectCreate, request: Request, principal: SubjectHandler, db: DB,
                         policy: PolicyDep) -> dict:
    s = service.take_subject_request(db, policy, principal.user, service.TakeSubjectRequest(
        requester_name=body.requester_name, requester_contact=body.requester_contact,
        identity_method=body.identity_method, camera_ids=tuple(body.camera_ids), period_start=body.period_start,
        period_end=body.period_end, description=body.description, received_at=body.received_at),
        request_id=_rid(request))
    return service.subject_dict(s)


@router.get("/access/subject-requests")
def list_subject_requests(principal: SubjectHandler, db: DB,
                          status: Annotated[str | None, Query(max_length=20)] = None) -> list[dict]:
    with db.reading() as session:
        return [service.subject_dict(s) for s in service.list_subject_requests(session, status=status)]


@router.get("/access/subject-requests/{subject_id}")
def get_subject_request(subject_id: int, principal: SubjectHandler, db: DB) -> dict:
    with db.reading() as session:
        return service.subject_dict(service.get_subject_request(session, subject_id))


@router.post("/access/subject-requests/{subject_id}/decision")
def decide_subject_request(subject_id: int, body: SubjectDecision, request: Request, principal: SubjectHandler,
                           db: DB, policy: PolicyDep) -> dict:
    s = service.decide_subject_request(db, policy, principal.user, subject_id, outcome=body.outcome,
                                       reason=body.reason, note=body.note, method=body.method,
                                       request_id=_rid(request))
    return service.subject_dict(s)


# ---- retention holds -------------------------------------------------------------------------


class HoldCreate(StrictModel):
    object_type: Literal["recording", "export", "camera"]
    object_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    legal_basis: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    request_number: Annotated[str, StringConstraints(max_length=100)] | None = None


class HoldRelease(StrictModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


@router.post("/access/holds", status_code=201)
def place_hold(body: HoldCreate, request: Request, principal: HoldKeeper, db: DB, policy: PolicyDep) -> dict:
    hold = service.place_hold(db, policy, principal.user, object_type=body.object_type, object_id=body.object_id,
                              legal_basis=body.legal_basis, request_number=body.request_number,
                              request_id=_rid(request))
    return service.hold_dict(hold)


@router.get("/access/holds")
def list_holds(principal: HoldKeeper, db: DB, active_only: bool = True) -> list[dict]:
    with db.reading() as session:
        return [service.hold_dict(h) for h in service.list_holds(session, active_only=active_only)]


@router.post("/access/holds/{hold_id}/release")
def release_hold(hold_id: int, body: HoldRelease, request: Request, principal: HoldKeeper, db: DB,
                 policy: PolicyDep) -> dict:
    hold = service.release_hold(db, policy, principal.user, hold_id, reason=body.reason, request_id=_rid(request))
    return service.hold_dict(hold)


# ---- ledgers ---------------------------------------------------------------------------------

Kind = Annotated[Literal["use", "provision", "viewing", "destruction"] | None, Query()]
Since = Annotated[AwareDatetime | None, Query()]


@router.get("/ledgers")
def list_ledger(principal: LedgerReader, db: DB, kind: Kind = None, since: Since = None,
                until: Since = None) -> list[dict]:
    with db.reading() as session:
        return [ledger.entry_dict(e) for e in ledger.list_entries(session, kind=kind, since=since, until=until)]


def _export_name(kind: str | None, ext: str) -> str:
    return f"video-ledger-{kind or 'all'}-{datetime.now():%Y%m%d}.{ext}"


@router.get("/ledgers/export.xlsx")
def export_xlsx(principal: LedgerReader, db: DB, policy: PolicyDep, kind: Kind = None, since: Since = None,
                until: Since = None) -> Response:
    with db.reading() as session:
        data = ledger.to_xlsx(policy, ledger.list_entries(session, kind=kind, since=since, until=until,
                                                          limit=100_000), kind=kind)
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"content-disposition": f'attachment; filename="{_export_name(kind, "xlsx")}"'})


@router.get("/ledgers/export.pdf")
def export_pdf(principal: LedgerReader, db: DB, policy: PolicyDep, kind: Kind = None, since: Since = None,
               until: Since = None) -> Response:
    with db.reading() as session:
        entries = ledger.list_entries(session, kind=kind, since=since, until=until, limit=100_000)
    data = ledger.to_pdf(policy, entries, kind=kind)
    return Response(data, media_type="application/pdf",
                    headers={"content-disposition": f'attachment; filename="{_export_name(kind, "pdf")}"'})


class CorrectionBody(StrictModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    recipient: Annotated[str, StringConstraints(max_length=200)] | None = None
    recipient_organisation: Annotated[str, StringConstraints(max_length=120)] | None = None
    purpose: Annotated[str, StringConstraints(max_length=40)] | None = None
    legal_ground: Annotated[str, StringConstraints(max_length=200)] | None = None
    items: Text | None = None
    period_start: AwareDatetime | None = None
    period_end: AwareDatetime | None = None
    occurred_at: AwareDatetime | None = None
    retention_until: AwareDatetime | None = None
    method: Annotated[str, StringConstraints(max_length=40)] | None = None


@router.post("/ledgers/{entry_id}/corrections", status_code=201)
def correct(entry_id: int, body: CorrectionBody, request: Request, principal: LedgerCorrector, db: DB,
            policy: PolicyDep) -> dict:
    """A correction is a new row referring to the corrected one; the original stays as it was."""
    changes = body.model_dump(exclude_unset=True, exclude={"reason"})
    if not changes:
        raise ValidationFailed("정정할 내용이 없습니다", "nothing to correct", field="changes")
    row = service.correct_ledger(db, policy, principal.user, entry_id, changes, body.reason,
                                 request_id=_rid(request))
    return ledger.entry_dict(row)
