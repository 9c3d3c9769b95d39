"""Console of the equipment register (Art. 2 ④): the list with its filters, the forms to add an item and
import a sheet, the export link, and each item with its history and the forms to edit, move and dispose it.
Readers see; the keepers (``equipment.manage``) also change."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gwanje.core.errors import DomainError, ValidationFailed
from gwanje.http.deps import DB, PolicyDep, Principal
from gwanje.maintenance.equipment import rules, service
from gwanje.maintenance.equipment.deps import requires_register
from gwanje.ui.forms import FormInput
from gwanje.ui.render import render, translator

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

Reader = Annotated[Principal, Depends(requires_register("equipment.read"))]
Manager = Annotated[Principal, Depends(requires_register("equipment.manage"))]

PAGE = "/maintenance/equipment"
FILTERS = ("item_class", "status", "owner", "room", "site", "q")
# The history's field names as the page's words (``equipment.<key>``); the rest are their own key.
FIELD_KEYS = {"item_class": "class", "owner_organisation": "owner", "cost_krw": "cost", "camera_id": "camera"}


def _error(request: Request, exc: DomainError) -> dict[str, Any]:
    tr = translator(request)
    return {"message": exc.message_ko if tr.lang == "ko" else exc.message_en, "clause": exc.clause}


def _filters(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "").strip()[:120] for k in FILTERS}


def _list_context(db: Any, policy: Any, principal: Principal, filters: dict[str, str], page: int) -> dict[str, Any]:
    found, total = service.items(
        db,
        policy,
        service.Filters(**{k: (v or None) for k, v in filters.items()}),
        page=page,
        per_page=50,
    )
    return {
        "nav": "equipment",
        "items": found,
        "total": total,
        "page": page,
        "pages": max(1, (total + 49) // 50),
        "filters": filters,
        "query": "&".join(f"{k}={v}" for k, v in filters.items() if v),
        "settings": policy.maintenance,
        "organisations": policy.organisations,
        "rooms": policy.duty.rooms,
        "may_manage": service.may(policy, principal.user, "equipment.manage"),
    }


async def _list_page(
    request: Request, principal: Principal, db: Any, policy: Any, status_code: int = 200, **extra: Any
) -> Response:
    filters = _filters(request)
    try:
        page = max(1, min(int(request.query_params.get("page", "1")), 100000))
    except ValueError:
        page = 1
    context = await run_in_threadpool(_list_context, db, policy, principal, filters, page)
    return render(request, "maintenance/equipment/list.html", principal, status_code=status_code, **context, **extra)


@router.get(PAGE)
async def register_page(request: Request, principal: Reader, db: DB, policy: PolicyDep) -> Response:
    return await _list_page(request, principal, db, policy)


def _item_fields(form: FormInput) -> dict[str, Any]:
    return {
        "item_class": form.text("item_class", 120),
        "name": form.text("name", 200),
        "owner_organisation": form.text("owner_organisation", 120),
        "room": form.text("room", 40),
        "site": form.text("site", 200),
        "make": form.text("make", 120),
        "model": form.text("model", 120),
        "serial": form.text("serial", 120),
        "acquired_on": form.text("acquired_on", 40),
        "cost_krw": form.text("cost_krw", 20),
        "warranty_until": form.text("warranty_until", 40),
        "note": form.text("note", 2000),
    }


def _rid(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


@router.post(PAGE)
async def add_item(request: Request, principal: Manager, db: DB, policy: PolicyDep) -> Response:
    form = FormInput(await request.form())
    try:
        fields = {**_item_fields(form), "status": form.text("status", 120)}
        item = await run_in_threadpool(service.add, db, policy, principal.user, fields, request_id=_rid(request))
    except DomainError as exc:
        return await _list_page(
            request, principal, db, policy, exc.status, error=_error(request, exc), form=form.values()
        )
    return RedirectResponse(f"{PAGE}/{item.id}", status_code=303)


@router.post(f"{PAGE}/import")
async def import_items(request: Request, principal: Manager, db: DB, policy: PolicyDep) -> Response:
    form = FormInput(await request.form())
    try:
        upload = form.file("file")
        if upload is None:
            raise ValidationFailed("파일을 선택하세요", "choose a file", field="file")
        data = await upload.read()
        report = await run_in_threadpool(
            lambda: service.import_items(
                db, policy, principal.user, data, filename=upload.filename or "upload", request_id=_rid(request)
            )
        )
    except DomainError as exc:
        return await _list_page(request, principal, db, policy, exc.status, error=_error(request, exc))
    return await _list_page(request, principal, db, policy, report=report)


@router.post(f"{PAGE}/sync-cameras")
async def sync_cameras(request: Request, principal: Manager, db: DB, policy: PolicyDep) -> Response:
    await request.form()  # the CSRF token is checked by the principal's dependency
    try:
        sync = await run_in_threadpool(service.sync_cameras, db, policy, principal.user, request_id=_rid(request))
    except DomainError as exc:
        return await _list_page(request, principal, db, policy, exc.status, error=_error(request, exc))
    return await _list_page(request, principal, db, policy, sync=sync)


def _changes(entry: Any) -> list[tuple[str, object, object]]:
    before = json.loads(entry.before) if entry.before else {}
    after = json.loads(entry.after)
    return [(k, before.get(k), v) for k, v in after.items()]


def _item_context(db: Any, policy: Any, principal: Principal, item_id: int) -> dict[str, Any]:
    item = service.item(db, policy, item_id)
    return {
        "nav": "equipment",
        "item": item,
        "history": [(h, _changes(h)) for h in service.history(db, policy, item_id)],
        "settings": policy.maintenance,
        "organisations": policy.organisations,
        "rooms": policy.duty.rooms,
        "may_manage": service.may(policy, principal.user, "equipment.manage"),
        "disposed": item.status == policy.maintenance.disposed_status,
        "fields": rules.EDITABLE,
        "field_keys": FIELD_KEYS,
    }


async def _item_page(
    request: Request, principal: Principal, db: Any, policy: Any, item_id: int, status_code: int = 200, **extra: Any
) -> Response:
    context = await run_in_threadpool(_item_context, db, policy, principal, item_id)
    return render(request, "maintenance/equipment/item.html", principal, status_code=status_code, **context, **extra)


@router.get(PAGE + "/{item_id:int}")
async def item_page(item_id: int, request: Request, principal: Reader, db: DB, policy: PolicyDep) -> Response:
    return await _item_page(request, principal, db, policy, item_id)


async def _change(request: Request, principal: Principal, db: Any, policy: Any, item_id: int, action: Any) -> Response:
    form = FormInput(await request.form())
    try:
        version = form.number("version", required=True) or 0
        await run_in_threadpool(action, form, version)
    except DomainError as exc:
        return await _item_page(
            request, principal, db, policy, item_id, exc.status, error=_error(request, exc), form=form.values()
        )
    return RedirectResponse(f"{PAGE}/{item_id}", status_code=303)


@router.post(PAGE + "/{item_id:int}")
async def edit_item(item_id: int, request: Request, principal: Manager, db: DB, policy: PolicyDep) -> Response:
    def action(form: FormInput, version: int) -> None:
        service.edit(db, policy, principal.user, item_id, version, _item_fields(form), request_id=_rid(request))

    return await _change(request, principal, db, policy, item_id, action)


@router.post(PAGE + "/{item_id:int}/status")
async def change_status(item_id: int, request: Request, principal: Manager, db: DB, policy: PolicyDep) -> Response:
    def action(form: FormInput, version: int) -> None:
        service.change_status(
            db,
            policy,
            principal.user,
            item_id,
            version,
            form.text("status", 120, required=True) or "",
            form.text("note", 2000),
            request_id=_rid(request),
        )

    return await _change(request, principal, db, policy, item_id, action)


routers = [router]
