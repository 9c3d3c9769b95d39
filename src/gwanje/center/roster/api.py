"""Roster routes: shifts of a period, planned by managers; the import of a center's own file; planned gaps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from gwanje.center.roster import service
from gwanje.center.roster.schemas import GapRead, ImportReportRead, ShiftCreate, ShiftRead
from gwanje.core.schemas import Id, Instant
from gwanje.http.deps import DB, PolicyDep, Principal, requires

router = APIRouter(prefix="/api/center", tags=["center"])

RosterReader = Annotated[Principal, Depends(requires("roster.read"))]
RosterManager = Annotated[Principal, Depends(requires("roster.manage"))]
OrgCode = Annotated[str | None, Query(max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]
Month = Annotated[str | None, Query(max_length=7, pattern=r"^\d{4}-\d{2}$")]
Filename = Annotated[str, Query(min_length=1, max_length=120)]

# The route reads the raw file (XLSX or CSV, told apart by its first bytes, whatever the content type
# says), so FastAPI cannot describe the body on its own; an XLSX is any binary body.
FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.get("/shifts")
def list_shifts(
    _: RosterReader,
    db: DB,
    from_: Annotated[Instant, Query(alias="from")],
    to: Instant,
    organisation: OrgCode = None,
) -> list[ShiftRead]:
    return [ShiftRead.of(s) for s in service.read_shifts(db, from_, to, organisation=organisation)]


@router.post("/shifts", status_code=201)
def plan_shift(body: ShiftCreate, principal: RosterManager, db: DB, policy: PolicyDep, request: Request) -> ShiftRead:
    shift = service.plan_shift(
        db,
        policy,
        principal.user,
        service.PlanShift(
            username=body.username,
            day=body.day,
            code=body.code,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            team=body.team,
        ),
        source="api",
        request_id=getattr(request.state, "request_id", None),
    )
    return ShiftRead.of(shift)


@router.delete("/shifts/{shift_id}", status_code=204, response_class=Response)
def remove_shift(shift_id: Id, principal: RosterManager, db: DB, policy: PolicyDep, request: Request) -> Response:
    service.remove_shift(db, policy, principal.user, shift_id, request_id=getattr(request.state, "request_id", None))
    return Response(status_code=204)


@router.get("/roster/gaps")
def planned_gaps(
    _: RosterReader, db: DB, policy: PolicyDep, from_: Annotated[Instant, Query(alias="from")], to: Instant
) -> list[GapRead]:
    return [GapRead.of(g) for g in service.read_planned_gaps(db, policy, from_, to)]


@router.post("/roster/import", openapi_extra=FILE_BODY)
async def import_roster(
    request: Request, principal: RosterManager, db: DB, policy: PolicyDep, filename: Filename, month: Month = None
) -> ImportReportRead:
    """Import a month grid or long-format file (XLSX or CSV); bad rows are reported by line."""
    data = await request.body()
    report = await run_in_threadpool(
        service.import_roster,
        db,
        policy,
        principal.user,
        data,
        filename=filename,
        month=month,
        request_id=getattr(request.state, "request_id", None),
    )
    return ImportReportRead.of(report)


routers = [router]
