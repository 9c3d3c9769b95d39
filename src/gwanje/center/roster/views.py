"""The roster calendar (issue 10 §5): a month of people × days with each cell's shift code, the
planned gaps in red, and for the roster's keepers a form to add or remove a shift and to import a file.

Every form posts with the session's CSRF token and redirects back (post/redirect/get); a refusal
re-renders the page with the message in the reader's language. The shift codes' colours come from the
policy as a stylesheet (the console's CSP allows no inline styles).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gwanje.center.roster import rules, service
from gwanje.center.roster.schemas import GapRead
from gwanje.core.clock import utcnow
from gwanje.core.errors import DomainError, ValidationFailed
from gwanje.core.schemas import Id
from gwanje.http.deps import DB, PolicyDep, Principal, requires
from gwanje.ui.forms import FormInput
from gwanje.ui.render import render, translator

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

RosterReader = Annotated[Principal, Depends(requires("roster.read"))]
RosterManager = Annotated[Principal, Depends(requires("roster.manage"))]

PAGE = "/center/roster"
TEMPLATE = "center/roster/calendar.html"


def _month(text: str | None, policy: Any) -> str:
    if text:
        try:
            rules.month_days(text)
            return text
        except ValueError:
            pass
    return utcnow().astimezone(service.zone(policy)).strftime("%Y-%m")


def calendar_context(db: Any, policy: Any, principal: Principal, month: str, organisation: str | None) -> dict:
    roster = service.roster_rules(policy)
    tz = service.zone(policy)
    first, last = rules.month_days(month)
    start = datetime.combine(first, time(0), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)
    shifts = service.read_shifts(db, start, end, organisation=organisation)
    gaps = service.read_planned_gaps(db, policy, start, end)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    people: dict[str, dict[str, Any]] = {}
    for s in shifts:
        row = people.setdefault(
            s.username,
            {"username": s.username, "organisation": s.organisation, "role": s.role, "team": s.team, "cells": {}},
        )
        local_day = s.starts_at.astimezone(tz).date()
        row["cells"].setdefault(local_day.isoformat(), []).append(
            {"id": s.id, "code": s.code, "start": s.starts_at.astimezone(tz).strftime("%H:%M")}
        )
        row["team"] = row["team"] or s.team
    gap_days: set[str] = set()
    for g in gaps:
        d = g.starts_at.astimezone(tz).date()
        while datetime.combine(d, time(0), tzinfo=tz) < g.ends_at:
            gap_days.add(d.isoformat())
            d += timedelta(days=1)
    first_prev = (first - timedelta(days=1)).strftime("%Y-%m")
    next_month = (last + timedelta(days=1)).strftime("%Y-%m")
    managed = roster.managed_by(principal.user.role)
    return {
        "month": month,
        "prev_month": first_prev,
        "next_month": next_month,
        "organisation": organisation or "",
        "organisations": [(o.code, o) for o in policy.organisations],
        "days": days,
        "people": sorted(people.values(), key=lambda p: (p["organisation"], p["team"] or "", p["username"])),
        "gaps": [GapRead.of(g).model_dump() | {"_local": _local_span(g, tz)} for g in gaps],
        "gap_days": gap_days,
        "codes": roster.codes,
        "working_codes": [c for c in roster.codes if not c.off],
        "may_manage": bool(managed),
        "managed": managed,
        "policy_orgs": {o.code: o for o in policy.organisations},
        "role_of": lambda code: policy.role(code),
    }


def _local_span(g: rules.Gap, tz: Any) -> str:
    a, b = g.starts_at.astimezone(tz), g.ends_at.astimezone(tz)
    return f"{a.strftime('%m-%d %H:%M')}–{b.strftime('%m-%d %H:%M') if b.date() != a.date() else b.strftime('%H:%M')}"


async def _page(request: Request, principal: Principal, status_code: int = 200, **extra: Any) -> Response:
    policy = request.app.state.policy
    db = request.app.state.db
    month = _month(request.query_params.get("month"), policy)
    org = request.query_params.get("organisation") or None
    if org not in {o.code for o in policy.organisations}:
        org = None
    context = await run_in_threadpool(calendar_context, db, policy, principal, month, org)
    done = request.query_params.get("done")
    flash = translator(request)(f"roster.done.{done}") if done in ("planned", "removed") else None
    return render(request, TEMPLATE, principal, status_code, flash=flash, **context, **extra)


def _error(request: Request, exc: DomainError) -> dict[str, Any]:
    lang = translator(request).lang
    return {"message": exc.message_en if lang == "en" else exc.message_ko, "field": exc.field}


def _back(month: str | None, done: str | None = None) -> str:
    query = {k: v for k, v in (("month", month), ("done", done)) if v}
    return PAGE + (f"?{urlencode(query)}" if query else "")


@router.get("/center/roster")
async def calendar_page(request: Request, principal: RosterReader) -> Response:
    return await _page(request, principal)


@router.get("/center/roster/codes.css")
def codes_css(_: RosterReader, policy: PolicyDep) -> Response:
    """One class per shift code, coloured as the policy says."""
    lines = []
    for i, c in enumerate(service.roster_rules(policy).codes):
        colour = c.colour if c.colour.startswith("#") and c.colour[1:].isalnum() and len(c.colour) <= 9 else "#888"
        lines.append(f".shift-c{i} {{ background: {colour}; }}")
    return Response("\n".join(lines) + "\n", media_type="text/css", headers={"cache-control": "no-store"})


@router.post("/center/roster/shifts")
async def plan_shift(request: Request, principal: RosterManager, db: DB, policy: PolicyDep) -> Response:
    form = FormInput(await request.form())
    month = form.text("month", 7)
    try:
        day_text = form.text("day", 10, required=True) or ""
        day = rules.parse_date(day_text)
        if day is None:
            raise ValidationFailed(f"잘못된 날짜: {day_text}", f"bad date: {day_text}", field="day")
        cmd = service.PlanShift(
            username=form.text("username", 64, required=True) or "",
            day=day,
            code=form.text("code", 16, required=True),
            team=form.text("team", 20),
        )
        await run_in_threadpool(
            service.plan_shift, db, policy, principal.user, cmd, request_id=getattr(request.state, "request_id", None)
        )
    except DomainError as exc:
        return await _page(request, principal, exc.status, error=_error(request, exc))
    return RedirectResponse(_back(month, "planned"), status_code=303)


@router.post("/center/roster/shifts/{shift_id}/delete")
async def remove_shift(shift_id: Id, request: Request, principal: RosterManager, db: DB, policy: PolicyDep) -> Response:
    form = FormInput(await request.form())
    month = form.text("month", 7)
    try:
        await run_in_threadpool(
            service.remove_shift,
            db,
            policy,
            principal.user,
            shift_id,
            request_id=getattr(request.state, "request_id", None),
        )
    except DomainError as exc:
        return await _page(request, principal, exc.status, error=_error(request, exc))
    return RedirectResponse(_back(month, "removed"), status_code=303)


@router.post("/center/roster/import")
async def import_roster(request: Request, principal: RosterManager, db: DB, policy: PolicyDep) -> Response:
    """Upload a month grid or long-format file; the report (rows, shifts, errors by line) is shown on the page."""
    form = FormInput(await request.form())
    try:
        upload = form.file("file")
        if upload is None:
            raise ValidationFailed("파일을 선택하세요", "choose a file", field="file")
        data = await upload.read()
        report = await run_in_threadpool(
            lambda: service.import_roster(
                db,
                policy,
                principal.user,
                data,
                filename=upload.filename or "upload",
                month=form.text("month", 7),
                request_id=getattr(request.state, "request_id", None),
            )
        )
    except DomainError as exc:
        return await _page(request, principal, exc.status, error=_error(request, exc))
    return await _page(request, principal, report=report)


routers = [router]
