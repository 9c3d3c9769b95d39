"""Console pages of duty logs and handovers: the list of logs (signed, by whom, intact), one log with
its entries, sign button and handover (prepare, offer, the incoming leader's acknowledgement), and the
signed log as a printable page. Forms post with the session's CSRF token and redirect back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gwanje.access.deps import RequestId
from gwanje.center.handover import service
from gwanje.core.errors import DomainError
from gwanje.core.schemas import Id
from gwanje.http.deps import DB, PolicyDep, Principal, requires
from gwanje.ui.forms import FormInput
from gwanje.ui.render import render, render_error

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Writer = Annotated[Principal, Depends(requires("duty_log.write"))]
Reader = Annotated[Principal, Depends(requires("duty_log.read"))]


@router.get("/center/duty-logs")
async def logs_page(request: Request, principal: Reader, db: DB, policy: PolicyDep) -> Response:
    views = await run_in_threadpool(service.read_logs, db, policy, principal.user)
    return render(request, "center/handover/logs.html", principal, views=views)


@router.get("/center/duty-logs/{log_id}")
async def log_page(log_id: Id, request: Request, principal: Reader, db: DB, policy: PolicyDep) -> Response:
    try:
        view = await run_in_threadpool(service.read_log, db, policy, principal.user, log_id)
    except DomainError as exc:
        return render_error(request, exc)
    return render(request, "center/handover/log.html", principal, view=view)


@router.get("/center/duty-logs/{log_id}/print")
async def print_page(log_id: Id, request: Request, principal: Reader, db: DB, policy: PolicyDep) -> Response:
    """The signed log as a printable page (the browser prints or saves it as PDF)."""
    try:
        view = await run_in_threadpool(service.read_log, db, policy, principal.user, log_id)
    except DomainError as exc:
        return render_error(request, exc)
    return render(request, "center/handover/print.html", principal, view=view)


async def _post(request: Request, log_id: int, run) -> Response:  # noqa: ANN001
    form = FormInput(await request.form())
    try:
        await run_in_threadpool(run, form)
    except DomainError as exc:
        return render_error(request, exc)
    return RedirectResponse(f"/center/duty-logs/{log_id}", status_code=303)


@router.post("/center/duty-logs/{log_id}/entries")
async def add_entry(
    log_id: Id, request: Request, principal: Writer, db: DB, policy: PolicyDep, rid: RequestId
) -> Response:
    return await _post(
        request,
        log_id,
        lambda form: service.add_entry(
            db, policy, principal.user, log_id, text=form.text("text", 4000) or "", request_id=rid
        ),
    )


@router.post("/center/duty-logs/{log_id}/sign")
async def sign(log_id: Id, request: Request, principal: Writer, db: DB, policy: PolicyDep, rid: RequestId) -> Response:
    return await _post(
        request, log_id, lambda form: service.sign_log(db, policy, principal.user, log_id, request_id=rid)
    )


@router.post("/center/duty-logs/{log_id}/handover")
async def prepare(
    log_id: Id, request: Request, principal: Writer, db: DB, policy: PolicyDep, rid: RequestId
) -> Response:
    def run(form: FormInput) -> None:
        notes = [line.strip() for line in (form.text("notes", 20_000) or "").splitlines() if line.strip()]
        service.prepare_handover(db, policy, principal.user, log_id, notes=notes, request_id=rid)

    return await _post(request, log_id, run)


@router.post("/center/duty-logs/{log_id}/handover/{handover_id}/{action}")
async def handover_action(
    log_id: Id,
    handover_id: Id,
    action: str,
    request: Request,
    principal: Writer,
    db: DB,
    policy: PolicyDep,
    rid: RequestId,
) -> Response:
    def run(form: FormInput) -> None:
        if action == "offer":
            service.offer_handover(db, policy, principal.user, handover_id, request_id=rid)
        elif action == "withdraw":
            service.withdraw_handover(db, policy, principal.user, handover_id, request_id=rid)
        elif action == "acknowledge":
            service.acknowledge_handover(
                db, policy, principal.user, handover_id, note=form.text("note", 4000), request_id=rid
            )
        else:
            service.rules.next_status("draft", action[:20])  # 409: an action the machine does not know

    return await _post(request, log_id, run)


routers = [router]
