"""Console of presence: the header strip of who is on duty (refreshed by hx-get), the 출근(입실) /
퇴근(퇴실) page, and training and pledges on file (district manager)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gwanje.center.presence import service
from gwanje.center.presence.schemas import on_duty_read
from gwanje.core.errors import DomainError, ValidationFailed
from gwanje.http.deps import DB, PolicyDep, Principal, requires
from gwanje.policy import decisions
from gwanje.ui.forms import FormInput
from gwanje.ui.render import render, translator

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Reader = Annotated[Principal, Depends(requires("center.on_duty.read"))]
Recorder = Annotated[Principal, Depends(requires("center.presence.record", "center.presence.manage"))]
TrainingManager = Annotated[Principal, Depends(requires("training.manage"))]

PAGE = "/center/presence"


def _may(policy: Any, principal: Principal, permission: str) -> bool:
    return decisions.role_has_permission(policy, principal.user.role, permission).allowed


def _context(db: Any, policy: Any, principal: Principal) -> dict[str, Any]:
    duty = on_duty_read(policy, service.on_duty(db, policy))
    context: dict[str, Any] = {
        "duty": duty,
        "me_present": service.is_present(db, principal.user.id),
        "may_record": _may(policy, principal, "center.presence.record"),
        "may_manage": _may(policy, principal, "center.presence.manage"),
        "may_train": _may(policy, principal, "training.manage"),
        "courses": policy.presence.courses if policy.presence else (),
        "nav": "presence",
    }
    if context["may_train"]:
        context["trainings"], context["pledges"] = service.read_trainings(db)
    return context


@router.get("/center/on-duty")
def on_duty_header(request: Request, principal: Reader, db: DB, policy: PolicyDep) -> Response:
    """The header strip alone: who is on duty, and any staffing gap in red until covered."""
    duty = on_duty_read(policy, service.on_duty(db, policy))
    return render(request, "center/presence/_on_duty.html", principal, duty=duty)


@router.get(PAGE)
def presence_page(request: Request, principal: Reader, db: DB, policy: PolicyDep) -> Response:
    return render(request, "center/presence/presence.html", principal, **_context(db, policy, principal))


async def _submit(request: Request, principal: Principal, db: Any, policy: Any, action: Any) -> Response:
    form = FormInput(await request.form())
    try:
        await run_in_threadpool(action, form)
    except DomainError as exc:
        tr = translator(request)
        error = {"message": exc.message_ko if tr.lang == "ko" else exc.message_en, "clause": exc.clause}
        context = await run_in_threadpool(_context, db, policy, principal)
        return render(
            request, "center/presence/presence.html", principal, status_code=exc.status, error=error, **context
        )
    return RedirectResponse(PAGE, status_code=303)


def _day(form: FormInput, name: str) -> date:
    value = form.text(name, 10, required=True) or ""
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(
            f"날짜 형식(YYYY-MM-DD)이 아닙니다: {name}", f"not a date (YYYY-MM-DD): {name}", field=name
        ) from exc


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


@router.post("/center/presence/check-in")
async def check_in(request: Request, principal: Recorder, db: DB, policy: PolicyDep) -> Response:
    def action(form: FormInput) -> None:
        service.check_in_self(db, policy, principal.user, request_id=_rid(request))

    return await _submit(request, principal, db, policy, action)


@router.post("/center/presence/check-out")
async def check_out(request: Request, principal: Recorder, db: DB, policy: PolicyDep) -> Response:
    def action(form: FormInput) -> None:
        service.check_out_account(
            db,
            policy,
            principal.user,
            form.number("account_id"),
            may_manage=_may(policy, principal, "center.presence.manage"),
            request_id=_rid(request),
        )

    return await _submit(request, principal, db, policy, action)


@router.post("/center/trainings")
async def record_training(request: Request, principal: TrainingManager, db: DB, policy: PolicyDep) -> Response:
    def action(form: FormInput) -> None:
        service.record_training(
            db,
            policy,
            principal.user,
            form.number("account_id", required=True) or 0,
            form.text("course", 40, required=True) or "",
            _day(form, "completed_on"),
            form.text("evidence", 1000),
            request_id=_rid(request),
        )

    return await _submit(request, principal, db, policy, action)


@router.post("/center/pledges")
async def record_pledge(request: Request, principal: TrainingManager, db: DB, policy: PolicyDep) -> Response:
    def action(form: FormInput) -> None:
        service.record_pledge(
            db,
            policy,
            principal.user,
            form.number("account_id", required=True) or 0,
            _day(form, "signed_on"),
            form.text("witness", 120, required=True) or "",
            request_id=_rid(request),
        )

    return await _submit(request, principal, db, policy, action)


routers = [router]
