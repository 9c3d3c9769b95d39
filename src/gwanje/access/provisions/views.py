"""Console pages of provisions: requests with their scans and the approvers' queue, emergency access
with its pending documents, usage results with the overdue items, and the statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from gwanje.access import pages
from gwanje.access.choices import ProvisionStatus
from gwanje.access.deps import DocumentsDir, Exporting
from gwanje.access.pages import APPROVE, EMERGENCY, REPORTS, REQUEST, RESULT, Build
from gwanje.access.provisions import flows, rules, service
from gwanje.access.provisions.schemas import ProvisionRead
from gwanje.access.rules import MAX_CAMERAS
from gwanje.core.clock import utcnow
from gwanje.core.errors import DomainError, ValidationFailed
from gwanje.core.schemas import Id
from gwanje.evidence import service as evidence
from gwanje.http.deps import DB, PolicyDep, Principal, requires
from gwanje.policy.model import Policy
from gwanje.ui.forms import FormInput, parse_month
from gwanje.ui.render import render, translator

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

ProvisionReader = Annotated[Principal, Depends(requires(REQUEST, APPROVE))]
Requester = Annotated[Principal, Depends(requires(REQUEST))]
Approver = Annotated[Principal, Depends(requires(APPROVE))]
EmergencyReader = Annotated[Principal, Depends(requires(EMERGENCY, APPROVE))]
EmergencyOpener = Annotated[Principal, Depends(requires(EMERGENCY))]
ResultReader = Annotated[Principal, Depends(requires(RESULT, APPROVE))]
ResultEnterer = Annotated[Principal, Depends(requires(RESULT))]
StatsReader = Annotated[Principal, Depends(requires(REPORTS))]
SignedIn = Annotated[Principal, Depends(requires())]

PROVISIONS = "/access/provisions"
EMERGENCY_PAGE = "/access/emergency"
USAGE_PAGE = "/access/usage-results"


# ---------------------------------------------------------------- what the pages show


def _rows(session: Session, items: list[Any]) -> list[dict[str, Any]]:
    now = utcnow()
    rows = [ProvisionRead.of(p, now).model_dump() for p in items]
    numbers = service.camera_numbers(session, [c for r in rows for c in r["camera_ids"]])
    for r in rows:
        r["cameras"] = [(c, numbers.get(c, f"#{c}")) for c in r["camera_ids"]]
    return rows


def provisions_context(session: Session, policy: Policy, principal: Principal, status: str | None) -> dict:
    rows = _rows(session, service.visible_provisions(session, policy, principal.user, status=status))
    for r in rows:  # the evidence package prepared on approval (provision.export_ref = its uid)
        package = evidence.package_by_uid(session, r["export_ref"])
        r["package"] = package.summary() if package is not None else None
    return {"rows": rows, "queue": [r for r in rows if r["status"] == "requested"], "status": status or ""}


def emergency_context(session: Session, policy: Policy, principal: Principal) -> dict:
    rows = [
        r
        for r in _rows(session, service.visible_provisions(session, policy, principal.user))
        if r["kind"] == "emergency"
    ]
    pending = [r for r in rows if r["status"] == "emergency_open"]
    pending.sort(key=lambda r: r["document_due_at"] or r["created_at"])
    return {"pending": pending, "rows": [r for r in rows if r["status"] != "emergency_open"][:100]}


def usage_context(session: Session, policy: Policy, principal: Principal) -> dict:
    rows = _rows(session, service.visible_provisions(session, policy, principal.user, limit=500))
    awaiting = [
        r for r in rows if r["status"] in rules.RESULT_PENDING_STATUSES and r["usage_result_entered_at"] is None
    ]
    awaiting.sort(key=lambda r: r["usage_result_due_at"] or r["created_at"])
    entered = [r for r in rows if r["usage_result_entered_at"] is not None][:100]
    overdue = service.visible_overdue_items(session, policy, principal.user)
    return {"awaiting": awaiting, "entered": entered, "overdue": [i.as_dict() for i in overdue]}


def statistics_context(session: Session, policy: Policy, since: datetime | None, until: datetime | None) -> dict:
    rows = service.usage_statistics(session, policy, since=since, until=until)
    rows.sort(key=lambda r: (r["month"], r["management_number"] or "", r["purpose"]), reverse=False)
    totals = {"uses": sum(r["uses"] for r in rows), "effective": sum(r["effective"] for r in rows)}
    return {"rows": rows, "totals": totals}


def _provisions_build(request: Request, policy: Policy, principal: Principal) -> Build:
    status = request.query_params.get("status") or None
    if status not in ProvisionStatus:
        status = None
    return lambda session: provisions_context(session, policy, principal, status)


def _emergency_build(policy: Policy, principal: Principal) -> Build:
    return lambda session: emergency_context(session, policy, principal)


def _usage_build(policy: Policy, principal: Principal) -> Build:
    return lambda session: usage_context(session, policy, principal)


async def _read_scan(form: FormInput) -> bytes:
    """The uploaded scan's bytes (one over the limit, so an oversized scan is refused as such)."""
    upload = form.file("file")
    if upload is None:
        raise ValidationFailed("공문 사본 파일을 첨부하세요", "attach the official document scan", field="file")
    return await upload.read(rules.MAX_DOCUMENT_BYTES + 1)


def _export_view(request: Request, attempt: flows.ExportAttempt, *, approved: bool) -> dict[str, Any]:
    """What the provisions page shows once after an export attempt; a failure never undoes the approval."""
    policy, tr = request.app.state.policy, translator(request)
    view: dict[str, Any] = {"provision_id": attempt.provision_id, "approved": approved, "prepared": attempt.ok}
    status = 200
    if attempt.prepared is not None:
        view.update(
            package=attempt.prepared.package.record,
            password=attempt.prepared.package.password,
            missing=list(attempt.prepared.cameras_without_recordings),
        )
    elif attempt.error is not None:
        view["error"] = pages.error_view(policy, tr, attempt.error)
        status = 200 if approved else attempt.error.status
    else:
        view["error"] = {
            "message": "내부 오류 — 관리자에게 문의하십시오"
            if tr.lang != "en"
            else "internal error — contact the administrator",
            "clause": None,
        }
        status = 200 if approved else 500
    return {"export_result": view, "status_code": status}


# ---------------------------------------------------------------- provision to another organisation


@router.get("/access/provisions")
async def provisions_page(request: Request, principal: ProvisionReader, policy: PolicyDep) -> Response:
    return await pages.page(
        request, principal, "access/provisions.html", PROVISIONS, _provisions_build(request, policy, principal)
    )


# The request form carries its scan, so it posts to a path ending in /document: the app gives
# such paths the document size limit (gwanje.web.limits, GWANJE_MAX_DOCUMENT_BYTES) instead of the form limit.
@router.post("/access/provisions/document")
async def request_provision(
    request: Request, principal: Requester, db: DB, policy: PolicyDep, documents: DocumentsDir
) -> Response:
    """A request for footage: cameras, KST period, purpose, legal ground, document number and scan —
    recorded in one transaction, so a scan that cannot be stored leaves no request behind."""
    rid = pages.request_id(request)

    def action(form: FormInput, data: bytes) -> str:
        number = form.text("document_number", 100, required=True) or ""
        p = service.request_provision(
            db,
            policy,
            principal.user,
            service.RequestProvision(
                camera_ids=(),
                camera_numbers=tuple(form.words("cameras", limit=MAX_CAMERAS)),
                period_start=form.kst("period_start"),
                period_end=form.kst("period_end"),
                purpose=form.text("purpose", 40, required=True),
                legal_ground=form.text("legal_ground", 40, required=True),
                reason=form.text("reason", 2000, required=True),
                document_number=number,
                incident_id=form.number("incident_id"),
            ),
            scan=service.DocumentScan(number, data, documents),
            request_id=rid,
        )
        return pages.done_url(PROVISIONS, "requested", p.id, f"p{p.id}")

    return await pages.submit(
        request,
        principal,
        template="access/provisions.html",
        tab=PROVISIONS,
        build=_provisions_build(request, policy, principal),
        action=action,
        prepare=_read_scan,
        form_name="request",
    )


@router.post("/access/provisions/{provision_id}/document")
async def upload_document(
    provision_id: Id, request: Request, principal: Requester, db: DB, policy: PolicyDep, documents: DocumentsDir
) -> Response:
    """The official document's scan for a request or an emergency access ('document pending')."""
    rid = pages.request_id(request)
    back = EMERGENCY_PAGE if request.query_params.get("from") == "emergency" else PROVISIONS

    def action(form: FormInput, data: bytes) -> str:
        service.attach_document(
            db,
            policy,
            principal.user,
            provision_id,
            document_number=form.text("document_number", 100, required=True) or "",
            data=data,
            documents_dir=documents,
            request_id=rid,
        )
        return pages.done_url(back, "document", provision_id, f"p{provision_id}")

    if back == EMERGENCY_PAGE:
        template, build = "access/emergency.html", _emergency_build(policy, principal)
    else:
        template, build = "access/provisions.html", _provisions_build(request, policy, principal)
    return await pages.submit(
        request,
        principal,
        template=template,
        tab=back,
        build=build,
        action=action,
        prepare=_read_scan,
        form_name=f"document-{provision_id}",
    )


@router.post("/access/provisions/{provision_id}/decision")
async def decide_provision(
    provision_id: Id, request: Request, principal: Approver, db: DB, policy: PolicyDep, place: Exporting
) -> Response:
    """An approver approves (which prepares the export; its password is shown on this answer only) or
    rejects, always with a reason."""
    rid = pages.request_id(request)

    def action(form: FormInput) -> str | dict[str, Any]:
        decision = form.text("decision", 10, required=True)
        if decision not in ("approve", "reject"):
            raise ValidationFailed("승인 또는 거부를 선택하세요", "choose approve or reject", field="decision")
        reason = form.text("reason", 2000, required=True) or ""
        if decision == "reject":
            p = service.decide_provision(
                db, policy, principal.user, provision_id, approve=False, reason=reason, request_id=rid
            )
            return pages.done_url(PROVISIONS, "rejected", p.id, f"p{p.id}")
        approval = flows.approve_and_prepare_export(
            db,
            policy,
            principal.user,
            provision_id,
            reason=reason,
            mask_faces=form.flag("mask_faces"),
            var_dir=place.var_dir,
            secret_key=place.secret_key,
            request_id=rid,
        )
        return _export_view(request, approval.export, approved=True)

    return await pages.submit(
        request,
        principal,
        template="access/provisions.html",
        tab=PROVISIONS,
        build=_provisions_build(request, policy, principal),
        action=action,
        form_name=f"decision-{provision_id}",
    )


@router.post("/access/provisions/{provision_id}/export")
async def prepare_export(
    provision_id: Id, request: Request, principal: Approver, db: DB, policy: PolicyDep, place: Exporting
) -> Response:
    """Retry preparing an approved provision's export (e.g. once the recordings are in place)."""
    rid = pages.request_id(request)

    def action(form: FormInput) -> dict[str, Any]:
        attempt = flows.try_prepare_export(
            db,
            policy,
            principal.user,
            provision_id,
            mask_faces=form.flag("mask_faces"),
            var_dir=place.var_dir,
            secret_key=place.secret_key,
            request_id=rid,
        )
        return _export_view(request, attempt, approved=False)

    return await pages.submit(
        request,
        principal,
        template="access/provisions.html",
        tab=PROVISIONS,
        build=_provisions_build(request, policy, principal),
        action=action,
        form_name=f"export-{provision_id}",
    )


@router.post("/access/provisions/{provision_id}/download")
async def download_package(
    provision_id: Id, request: Request, principal: Requester, db: DB, policy: PolicyDep
) -> Response:
    """The recipient's own download: a fresh single-use, 15-minute link, issued to them and followed."""

    def action(form: FormInput) -> str:
        package_id, token = flows.issue_provision_download(db, provision_id, principal.user, principal.actor(request))
        return f"/api/evidence/{package_id}/download?{urlencode({'token': token})}"

    return await pages.submit(
        request,
        principal,
        template="access/provisions.html",
        tab=PROVISIONS,
        build=_provisions_build(request, policy, principal),
        action=action,
        form_name=f"download-{provision_id}",
    )


# ---------------------------------------------------------------- emergency access (Art. 11 ①)


@router.get("/access/emergency")
async def emergency_page(request: Request, principal: EmergencyReader, policy: PolicyDep) -> Response:
    return await pages.page(
        request,
        principal,
        "access/emergency.html",
        EMERGENCY_PAGE,
        _emergency_build(policy, principal),
        due_hours=policy.access.document_due_hours,
    )


@router.post("/access/emergency")
async def open_emergency(request: Request, principal: EmergencyOpener, db: DB, policy: PolicyDep) -> Response:
    """Access at once with a stated reason; the official document is then due (shown on this page)."""
    rid = pages.request_id(request)

    def action(form: FormInput) -> str:
        p = service.open_emergency_access(
            db,
            policy,
            principal.user,
            service.OpenEmergencyAccess(
                camera_ids=(),
                camera_numbers=tuple(form.words("cameras", limit=MAX_CAMERAS)),
                period_start=form.kst("period_start"),
                period_end=form.kst("period_end"),
                purpose=form.text("purpose", 40, required=True),
                legal_ground=form.text("legal_ground", 40, required=True),
                reason=form.text("reason", 2000, required=True),
                incident_id=form.number("incident_id"),
            ),
            request_id=rid,
        )
        return pages.done_url(EMERGENCY_PAGE, "emergency", p.id, f"p{p.id}")

    return await pages.submit(
        request,
        principal,
        template="access/emergency.html",
        tab=EMERGENCY_PAGE,
        build=_emergency_build(policy, principal),
        action=action,
        form_name="emergency",
    )


# ---------------------------------------------------------------- usage results (Art. 11 ②)


@router.get("/access/usage-results")
async def usage_page(request: Request, principal: ResultReader, policy: PolicyDep) -> Response:
    return await pages.page(
        request, principal, "access/usage_results.html", USAGE_PAGE, _usage_build(policy, principal)
    )


@router.post("/access/provisions/{provision_id}/usage-result")
async def enter_usage_result(
    provision_id: Id, request: Request, principal: ResultEnterer, db: DB, policy: PolicyDep
) -> Response:
    rid = pages.request_id(request)

    def action(form: FormInput) -> str:
        service.enter_usage_result(
            db,
            policy,
            principal.user,
            provision_id,
            used_for=form.text("used_for", 2000, required=True) or "",
            outcome=form.text("outcome", 40, required=True) or "",
            request_id=rid,
        )
        return pages.done_url(USAGE_PAGE, "result", provision_id, f"p{provision_id}")

    return await pages.submit(
        request,
        principal,
        template="access/usage_results.html",
        tab=USAGE_PAGE,
        build=_usage_build(policy, principal),
        action=action,
        form_name=f"result-{provision_id}",
    )


# ---------------------------------------------------------------- statistics


@router.get("/access/deadline-alerts")
def deadline_alerts(request: Request, principal: SignedIn, db: DB, policy: PolicyDep) -> Response:
    """The alert partial alone (the board and the home page include it and refresh it from here)."""
    alerts = [a.as_dict() for a in service.read_deadline_alerts(db, policy, principal.user)]
    return render(request, "access/_deadline_alerts.html", principal, deadline_alerts=alerts)


@router.get("/access/statistics")
async def statistics_page(request: Request, principal: StatsReader, policy: PolicyDep) -> Response:
    """Usage results per camera, purpose and month (KST): the CCTV performance table."""
    since_text, until_text = request.query_params.get("since", ""), request.query_params.get("until", "")
    error = None
    try:
        since = parse_month(since_text, "since")
        until = parse_month(until_text, "until", end=True)
    except DomainError as exc:
        since = until = None
        error = pages.error_view(policy, translator(request), exc)
    return await pages.page(
        request,
        principal,
        "access/statistics.html",
        "/access/statistics",
        lambda session: statistics_context(session, policy, since, until),
        status_code=422 if error else 200,
        error=error,
        filters={"since": since_text[:7], "until": until_text[:7]},
    )
