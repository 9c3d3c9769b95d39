"""Console of the rooms (Annex 2 출입관리): the rooms and who is inside, entry authorisations (the IT
officer grants and revokes), visitors, the day's access log with its console form, and the printed log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gwanje.center.rooms import rules, service
from gwanje.center.rooms.deps import requires_rooms
from gwanje.core.clock import to_kst, utcnow
from gwanje.core.errors import DomainError, ValidationFailed
from gwanje.http.deps import DB, PolicyDep, Principal
from gwanje.ui.forms import FormInput, parse_kst_day
from gwanje.ui.render import render, translator

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Reader = Annotated[
    Principal, Depends(requires_rooms("rooms.access_log.read", "rooms.authorise", "rooms.access_log.write"))
]
Granter = Annotated[Principal, Depends(requires_rooms("rooms.authorise"))]
Writer = Annotated[Principal, Depends(requires_rooms("rooms.access_log.write"))]

PAGE = "/center/rooms"


def _room(policy: Any, value: str | None) -> str:
    rooms = [r.code for r in policy.duty.rooms]
    if value and value in rooms:
        return value
    if value:
        service.room_of(policy, value)
    return rooms[0] if rooms else ""


def _context(db: Any, policy: Any, principal: Principal, room: str, day: str | None) -> dict[str, Any]:
    user = principal.user
    today = to_kst(utcnow()).date().isoformat()
    day = day or today
    start = parse_kst_day(day, "day")
    end = parse_kst_day(day, "day", end=True)
    may_read_log = service.may(policy, user, "rooms.access_log.read")
    context: dict[str, Any] = {
        "nav": "rooms",
        "room": room,
        "day": day,
        "rooms": service.rooms_overview(db, policy),
        "authorisations": service.authorisations(db, room),
        "visitors": service.visitors(db, room, limit=100),
        "entries": service.access_log(db, room, start=start, end=end) if may_read_log else [],
        "events": rules.EVENTS,
        "may_grant": service.may(policy, user, "rooms.authorise"),
        "may_write": service.may(policy, user, "rooms.access_log.write"),
        "may_read_log": may_read_log,
        "now": utcnow(),
        "settings": policy.rooms_access,
    }
    return context


@router.get(PAGE)
def rooms_page(request: Request, principal: Reader, db: DB, policy: PolicyDep) -> Response:
    room = _room(policy, request.query_params.get("room"))
    day = request.query_params.get("day") or None
    return render(request, "center/rooms/rooms.html", principal, **_context(db, policy, principal, room, day))


async def _submit(request: Request, principal: Principal, db: Any, policy: Any, action: Any) -> Response:
    form = FormInput(await request.form())
    room = form.text("room", 40) or ""
    try:
        await run_in_threadpool(action, form)
    except DomainError as exc:
        tr = translator(request)
        error = {"message": exc.message_ko if tr.lang == "ko" else exc.message_en, "clause": exc.clause}
        try:
            room = _room(policy, room)
        except ValidationFailed:
            room = _room(policy, None)
        context = await run_in_threadpool(_context, db, policy, principal, room, None)
        return render(
            request,
            "center/rooms/rooms.html",
            principal,
            status_code=exc.status,
            error=error,
            form=form.values(),
            **context,
        )
    return RedirectResponse(f"{PAGE}?room={room}", status_code=303)


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


@router.post("/center/rooms/authorisations")
async def grant(request: Request, principal: Granter, db: DB, policy: PolicyDep) -> Response:
    def action(form: FormInput) -> None:
        service.grant(
            db,
            policy,
            principal.user,
            room=form.text("room", 40, required=True) or "",
            account_id=form.number("account_id"),
            person_name=form.text("person_name", 120),
            organisation=form.text("organisation", 120),
            badge=form.text("badge", 120),
            purpose=form.text("purpose", 500, required=True) or "",
            valid_from=form.kst("valid_from"),
            valid_until=form.kst("valid_until"),
            request_id=_rid(request),
        )

    return await _submit(request, principal, db, policy, action)


@router.post("/center/rooms/authorisations/{authorisation_id}/revoke")
async def revoke(authorisation_id: int, request: Request, principal: Granter, db: DB, policy: PolicyDep) -> Response:
    def action(form: FormInput) -> None:
        service.revoke(
            db,
            policy,
            principal.user,
            authorisation_id,
            form.text("reason", 500, required=True) or "",
            request_id=_rid(request),
        )

    return await _submit(request, principal, db, policy, action)


@router.post("/center/rooms/visitors")
async def register_visitor(request: Request, principal: Writer, db: DB, policy: PolicyDep) -> Response:
    def action(form: FormInput) -> None:
        service.register_visitor(
            db,
            policy,
            principal.user,
            room=form.text("room", 40, required=True) or "",
            name=form.text("name", 120, required=True) or "",
            organisation=form.text("organisation", 120, required=True) or "",
            purpose=form.text("purpose", 500, required=True) or "",
            escort_authorisation_id=form.number("escort"),
            badge=form.text("badge", 120),
            expected_from=form.kst("expected_from"),
            expected_until=form.kst("expected_until"),
            request_id=_rid(request),
        )

    return await _submit(request, principal, db, policy, action)


@router.post("/center/rooms/access-log")
async def record(request: Request, principal: Writer, db: DB, policy: PolicyDep) -> Response:
    def action(form: FormInput) -> None:
        person = form.text("person", 40, required=True) or ""
        kind, _, ident = person.partition(":")
        service.record(
            db,
            policy,
            principal.user,
            room=form.text("room", 40, required=True) or "",
            event=form.text("event", 10, required=True) or "",
            at=form.kst("at", required=False),
            authorisation_id=int(ident) if kind == "a" and ident.isdigit() else None,
            visitor_id=int(ident) if kind == "v" and ident.isdigit() else None,
            person_name=form.text("person_name", 120) if kind == "other" else None,
            organisation=form.text("organisation", 120) if kind == "other" else None,
            note=form.text("note", 500),
            request_id=_rid(request),
        )

    return await _submit(request, principal, db, policy, action)


routers = [router]
