"""Console pages of monitoring agents: requests for agents (police: new request; district: decision)
and replacement demands (list, new demand, detail with the timeline and the response form). Each
form posts with the session's CSRF token, runs the same use case as the API and redirects back; a
refusal re-renders the page with the message in the reader's language."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gwanje.center.agents import service
from gwanje.center.agents.schemas import AgentRequestRead, ReplacementDemandRead
from gwanje.core.errors import DomainError, ValidationFailed
from gwanje.core.schemas import Id
from gwanje.http.deps import Principal, requires
from gwanje.policy import decisions
from gwanje.ui.forms import FormInput
from gwanje.ui.render import render, translator

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Reader = Annotated[Principal, Depends(requires("agents.read"))]
Requester = Annotated[Principal, Depends(requires("agents.request"))]
Decider = Annotated[Principal, Depends(requires("agents.decide"))]

REQUESTS = "/center/agent-requests"
DEMANDS = "/center/replacement-demands"


def _may(request: Request, principal: Principal, permission: str) -> bool:
    return decisions.role_has_permission(request.app.state.policy, principal.user.role, permission).allowed


def _day(form: FormInput, name: str) -> date:
    raw = form.text(name, 10, required=True) or ""
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"날짜 형식이 아닙니다: {name}", f"not a date: {name}", field=name) from None


def _requests_context(request: Request, principal: Principal) -> dict[str, Any]:
    db, policy = request.app.state.db, request.app.state.policy
    return {
        "rows": [AgentRequestRead.of(r).model_dump() for r in service.read_requests(db, policy, principal.user)],
        "summary": service.summary(db, policy, principal.user),
        "may_request": _may(request, principal, "agents.request"),
        "may_decide": _may(request, principal, "agents.decide"),
    }


def _demands_context(request: Request, principal: Principal, demand_id: int | None = None) -> dict[str, Any]:
    db, policy = request.app.state.db, request.app.state.policy
    ctx: dict[str, Any] = {
        "grounds": policy.agents.replacement_grounds if policy.agents else (),
        "may_request": _may(request, principal, "agents.request"),
        "may_decide": _may(request, principal, "agents.decide"),
    }
    if demand_id is None:
        ctx["rows"] = [
            ReplacementDemandRead.of(d).model_dump() for d in service.read_demands(db, policy, principal.user)
        ]
    else:
        ctx["demand"] = ReplacementDemandRead.of(
            *service.read_demand(db, policy, principal.user, demand_id)
        ).model_dump()
    return ctx


async def _show(
    request: Request, principal: Principal, template: str, build: Callable[[], dict[str, Any]], **extra: Any
) -> Response:
    status = extra.pop("status_code", 200)
    context = await run_in_threadpool(build)
    return render(request, template, principal, status, **context, **extra)


async def _submit(
    request: Request,
    principal: Principal,
    template: str,
    build: Callable[[], dict[str, Any]],
    action: Callable[[FormInput], str],
) -> Response:
    form = FormInput(await request.form())
    try:
        target = await run_in_threadpool(action, form)
    except DomainError as exc:
        tr = translator(request)
        error = {"message": exc.message_en if tr.lang == "en" else exc.message_ko, "field": exc.field}
        return await _show(request, principal, template, build, status_code=exc.status, error=error, form=form.values())
    return RedirectResponse(target, status_code=303)


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


@router.get(REQUESTS)
async def requests_page(request: Request, principal: Reader) -> Response:
    return await _show(request, principal, "center/agents/requests.html", lambda: _requests_context(request, principal))


@router.post(REQUESTS)
async def new_request(request: Request, principal: Requester) -> Response:
    def action(form: FormInput) -> str:
        r = service.request_agents(
            request.app.state.db,
            request.app.state.policy,
            principal.user,
            service.RequestAgents(
                headcount=min(form.number("headcount", required=True) or 1, 100),
                hours_from=form.text("hours_from", 5, required=True) or "",
                hours_to=form.text("hours_to", 5, required=True) or "",
                period_start=_day(form, "period_start"),
                period_end=_day(form, "period_end"),
                reason=form.text("reason", 2000, required=True) or "",
            ),
            request_id=_rid(request),
        )
        return f"{REQUESTS}#r{r.id}"

    return await _submit(
        request, principal, "center/agents/requests.html", lambda: _requests_context(request, principal), action
    )


@router.post(REQUESTS + "/{request_id}/decision")
async def decide_request(request_id: Id, request: Request, principal: Decider) -> Response:
    def action(form: FormInput) -> str:
        outcome = form.text("outcome", 20, required=True) or ""
        if outcome not in ("approve", "partially_approve", "refuse"):
            raise ValidationFailed("결정을 고르세요", "choose a decision", field="outcome")
        cost = form.text("monthly_cost_krw", 12)
        if cost is not None and not (cost.isascii() and cost.isdigit() and int(cost) <= 2_000_000_000):
            raise ValidationFailed("비용은 숫자입니다", "the cost is a number", field="monthly_cost_krw")
        service.decide_request(
            request.app.state.db,
            request.app.state.policy,
            principal.user,
            request_id,
            outcome=outcome,
            approved_headcount=form.number("approved_headcount"),
            monthly_cost_krw=int(cost) if cost else None,
            reason=form.text("reason", 2000),
            request_id=_rid(request),
        )
        return f"{REQUESTS}#r{request_id}"

    return await _submit(
        request, principal, "center/agents/requests.html", lambda: _requests_context(request, principal), action
    )


@router.get(DEMANDS)
async def demands_page(request: Request, principal: Reader) -> Response:
    return await _show(request, principal, "center/agents/demands.html", lambda: _demands_context(request, principal))


@router.post(DEMANDS)
async def new_demand(request: Request, principal: Requester) -> Response:
    def action(form: FormInput) -> str:
        d = service.demand_replacement(
            request.app.state.db,
            request.app.state.policy,
            principal.user,
            agent_id=form.number("agent_id", required=True) or 0,
            ground=form.text("ground", 40, required=True) or "",
            facts=form.text("facts", 2000, required=True) or "",
            request_id=_rid(request),
        )
        return f"{DEMANDS}/{d.id}"

    return await _submit(
        request, principal, "center/agents/demands.html", lambda: _demands_context(request, principal), action
    )


@router.get(DEMANDS + "/{demand_id}")
async def demand_page(demand_id: Id, request: Request, principal: Reader) -> Response:
    return await _show(
        request, principal, "center/agents/demand.html", lambda: _demands_context(request, principal, demand_id)
    )


@router.post(DEMANDS + "/{demand_id}/response")
async def respond(demand_id: Id, request: Request, principal: Decider) -> Response:
    def action(form: FormInput) -> str:
        act = form.text("action", 20, required=True) or ""
        if act not in ("review", "accept", "refuse", "complete"):
            raise ValidationFailed("회신을 고르세요", "choose an answer", field="action")
        service.respond(
            request.app.state.db,
            request.app.state.policy,
            principal.user,
            demand_id,
            action=act,
            resolution=form.text("resolution", 20),
            replacement_agent_id=form.number("replacement_agent_id"),
            note=form.text("note", 2000),
            request_id=_rid(request),
        )
        return f"{DEMANDS}/{demand_id}"

    return await _submit(
        request,
        principal,
        "center/agents/demand.html",
        lambda: _demands_context(request, principal, demand_id),
        action,
    )


@router.post(DEMANDS + "/{demand_id}/entries")
async def follow_up(demand_id: Id, request: Request, principal: Reader) -> Response:
    def action(form: FormInput) -> str:
        service.add_follow_up(
            request.app.state.db,
            request.app.state.policy,
            principal.user,
            demand_id,
            note=form.text("note", 2000, required=True) or "",
            request_id=_rid(request),
        )
        return f"{DEMANDS}/{demand_id}"

    return await _submit(
        request,
        principal,
        "center/agents/demand.html",
        lambda: _demands_context(request, principal, demand_id),
        action,
    )


routers = [router]
