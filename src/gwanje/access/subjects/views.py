"""Console page of data-subject requests (PIPA Art. 35): intake after the identity check, and the
decision — provided with others masked, delayed with a reason, or refused on a lawful ground only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from gwanje.access import cameras, pages
from gwanje.access.choices import SubjectStatus
from gwanje.access.pages import SUBJECT, Build
from gwanje.access.rules import MAX_CAMERAS, PIPA_35
from gwanje.access.subjects import service
from gwanje.access.subjects.schemas import SubjectRequestRead
from gwanje.core.clock import utcnow
from gwanje.core.errors import ValidationFailed
from gwanje.core.schemas import Id
from gwanje.http.deps import DB, PolicyDep, Principal, requires
from gwanje.ui.forms import FormInput

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

SubjectHandler = Annotated[Principal, Depends(requires(SUBJECT))]

PAGE = "/access/subject-requests"
TEMPLATE = "access/subject_requests.html"


def subjects_context(session: Session, status: str | None) -> dict:
    now = utcnow()
    rows = [SubjectRequestRead.of(s, now).model_dump() for s in service.list_subject_requests(session, status=status)]
    numbers = cameras.numbers_of(session, [c for r in rows for c in r["camera_ids"]])
    for r in rows:
        r["cameras"] = [(c, numbers.get(c, f"#{c}")) for c in r["camera_ids"]]
    return {"rows": rows, "status": status or ""}


def _build(request: Request) -> Build:
    status = request.query_params.get("status") or None
    if status not in SubjectStatus:
        status = None
    return lambda session: subjects_context(session, status)


@router.get("/access/subject-requests")
async def subjects_page(request: Request, principal: SubjectHandler) -> Response:
    return await pages.page(request, principal, TEMPLATE, PAGE, _build(request))


@router.post("/access/subject-requests")
async def take_subject_request(request: Request, principal: SubjectHandler, db: DB, policy: PolicyDep) -> Response:
    """Intake after the officer has checked the requester's identity (the form says how)."""
    rid = pages.request_id(request)

    def action(form: FormInput) -> str:
        if form.text("identity_checked", 10) != "yes":
            raise ValidationFailed(
                "신분증 등으로 본인 여부를 확인한 뒤 접수하세요",
                "check the requester's identity before taking the request",
                field="identity_checked",
                clause=PIPA_35,
            )
        s = service.take_subject_request(
            db,
            policy,
            principal.user,
            service.TakeSubjectRequest(
                camera_ids=(),
                camera_numbers=tuple(form.words("cameras", limit=MAX_CAMERAS)),
                requester_name=form.text("requester_name", 120, required=True) or "",
                requester_contact=form.text("requester_contact", 200),
                identity_method=form.text("identity_method", 40, required=True) or "",
                period_start=form.kst("period_start"),
                period_end=form.kst("period_end"),
                description=form.text("description", 2000),
                received_at=form.kst("received_at", required=False),
            ),
            request_id=rid,
        )
        return pages.done_url(PAGE, "subject", s.id, f"s{s.id}")

    return await pages.submit(
        request, principal, template=TEMPLATE, tab=PAGE, build=_build(request), action=action, form_name="intake"
    )


@router.post("/access/subject-requests/{subject_id}/decision")
async def decide_subject_request(
    subject_id: Id, request: Request, principal: SubjectHandler, db: DB, policy: PolicyDep
) -> Response:
    """Provided (others masked), delayed with a reason, or refused on a lawful ground only."""
    rid = pages.request_id(request)

    def action(form: FormInput) -> str:
        outcome = form.text("outcome", 20, required=True) or ""
        method = form.text("method", 40) or "viewing_in_person"
        service.decide_subject_request(
            db,
            policy,
            principal.user,
            subject_id,
            outcome=outcome,
            reason=form.text("reason", 40),
            note=form.text("note", 2000),
            method=method,
            request_id=rid,
        )
        return pages.done_url(PAGE, "decided", subject_id, f"s{subject_id}")

    return await pages.submit(
        request,
        principal,
        template=TEMPLATE,
        tab=PAGE,
        build=_build(request),
        action=action,
        form_name=f"decision-{subject_id}",
    )
