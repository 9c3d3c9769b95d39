"""Equipment register routes: list and read items with their history, add, edit, change status, dispose,
file the registry's cameras, import a sheet and export the register."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from gwanje.access.deps import RequestId
from gwanje.core.clock import to_kst, utcnow
from gwanje.core.schemas import Id
from gwanje.http.deps import DB, PolicyDep, Principal
from gwanje.maintenance.equipment import report, service
from gwanje.maintenance.equipment.deps import requires_register
from gwanje.maintenance.equipment.schemas import (
    Disposal,
    HistoryRead,
    ImportReportRead,
    ItemCreate,
    ItemPage,
    ItemRead,
    ItemUpdate,
    StatusChange,
    SyncRead,
)

router = APIRouter(prefix="/api/maintenance/equipment", tags=["maintenance"])

Reader = Annotated[Principal, Depends(requires_register("equipment.read"))]
Manager = Annotated[Principal, Depends(requires_register("equipment.manage"))]
CodeQ = Annotated[str | None, Query(max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
TextQ = Annotated[str | None, Query(max_length=120)]
Filename = Annotated[str, Query(min_length=1, max_length=120)]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _filters(
    item_class: str | None, status: str | None, owner: str | None, room: str | None, site: str | None, q: str | None
) -> service.Filters:
    return service.Filters(
        item_class=item_class, status=status, owner=owner, room=room, site=(site or None), q=(q or "").strip() or None
    )


@router.get("")
def list_items(
    principal: Reader,
    db: DB,
    policy: PolicyDep,
    item_class: CodeQ = None,
    status: CodeQ = None,
    owner: CodeQ = None,
    room: CodeQ = None,
    site: TextQ = None,
    q: TextQ = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> ItemPage:
    found, total = service.items(
        db, policy, _filters(item_class, status, owner, room, site, q), page=page, per_page=per_page
    )
    return ItemPage(total=total, page=page, per_page=per_page, items=[ItemRead.model_validate(i) for i in found])


@router.post("", status_code=201)
def add_item(body: ItemCreate, principal: Manager, db: DB, policy: PolicyDep, rid: RequestId) -> ItemRead:
    return ItemRead.model_validate(service.add(db, policy, principal.user, body.model_dump(), request_id=rid))


@router.get(
    ".xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "장비·시설물·물품 관리대장 as a workbook"}},
)
def export_xlsx(
    principal: Reader,
    db: DB,
    policy: PolicyDep,
    item_class: CodeQ = None,
    status: CodeQ = None,
    owner: CodeQ = None,
    room: CodeQ = None,
    site: TextQ = None,
    q: TextQ = None,
) -> Response:
    rows = service.export_rows(db, policy, _filters(item_class, status, owner, room, site, q))
    name = f"equipment-register-{to_kst(utcnow()):%Y%m%d}.xlsx"
    return Response(
        report.to_xlsx(policy, rows), media_type=XLSX, headers={"content-disposition": f'attachment; filename="{name}"'}
    )


@router.post("/sync-cameras")
def sync_cameras(principal: Manager, db: DB, policy: PolicyDep, rid: RequestId) -> SyncRead:
    r = service.sync_cameras(db, policy, principal.user, request_id=rid)
    return SyncRead(cameras=r.cameras, created=r.created, updated=r.updated, unchanged=r.unchanged)


@router.post("/import", openapi_extra=FILE_BODY)
async def import_items(
    request: Request, principal: Manager, db: DB, policy: PolicyDep, filename: Filename
) -> ImportReportRead:
    """Import a sheet (XLSX or CSV); bad rows are reported by line, good rows are kept."""
    data = await request.body()
    r = await run_in_threadpool(
        service.import_items,
        db,
        policy,
        principal.user,
        data,
        filename=filename,
        request_id=getattr(request.state, "request_id", None),
    )
    return ImportReportRead.of(r)


@router.get("/{item_id}")
def read_item(item_id: Id, principal: Reader, db: DB, policy: PolicyDep) -> ItemRead:
    return ItemRead.model_validate(service.item(db, policy, item_id))


@router.get("/{item_id}/history")
def item_history(item_id: Id, principal: Reader, db: DB, policy: PolicyDep) -> list[HistoryRead]:
    return [HistoryRead.model_validate(h) for h in service.history(db, policy, item_id)]


@router.patch("/{item_id}")
def edit_item(item_id: Id, body: ItemUpdate, principal: Manager, db: DB, policy: PolicyDep, rid: RequestId) -> ItemRead:
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    return ItemRead.model_validate(service.edit(db, policy, principal.user, item_id, version, changes, request_id=rid))


@router.post("/{item_id}/status")
def change_status(
    item_id: Id, body: StatusChange, principal: Manager, db: DB, policy: PolicyDep, rid: RequestId
) -> ItemRead:
    item = service.change_status(
        db, policy, principal.user, item_id, body.version, body.status, body.note, request_id=rid
    )
    return ItemRead.model_validate(item)


@router.post("/{item_id}/dispose")
def dispose(item_id: Id, body: Disposal, principal: Manager, db: DB, policy: PolicyDep, rid: RequestId) -> ItemRead:
    item = service.dispose(db, policy, principal.user, item_id, body.version, body.reason, request_id=rid)
    return ItemRead.model_validate(item)


routers = [router]
