"""Rooms routes: the rooms, entry authorisations, visitors, the access log and the 출입관리대장."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from gwanje.access.deps import RequestId
from gwanje.center.rooms import report, service
from gwanje.center.rooms.deps import requires_rooms
from gwanje.center.rooms.schemas import (
    AccessCreate,
    AccessLogRead,
    AccessRead,
    AuthorisationCreate,
    AuthorisationRead,
    AuthorisationRevoke,
    RoomRead,
    VisitorCreate,
    VisitorRead,
)
from gwanje.core.clock import to_kst, utcnow
from gwanje.core.schemas import Id, Instant
from gwanje.http.deps import DB, PolicyDep, Principal

router = APIRouter(prefix="/api/center/rooms", tags=["center"])

Reader = Annotated[
    Principal, Depends(requires_rooms("rooms.access_log.read", "rooms.authorise", "rooms.access_log.write"))
]
LogReader = Annotated[Principal, Depends(requires_rooms("rooms.access_log.read"))]
Granter = Annotated[Principal, Depends(requires_rooms("rooms.authorise"))]
Writer = Annotated[Principal, Depends(requires_rooms("rooms.access_log.write"))]
RoomQ = Annotated[str | None, Query(max_length=40)]
Since = Annotated[Instant | None, Query()]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("")
def list_rooms(principal: Reader, db: DB, policy: PolicyDep) -> list[RoomRead]:
    return [
        RoomRead(
            code=v.room.code,
            ko=v.room.ko,
            en=v.room.en,
            organisation=v.room.organisation,
            department=v.room.department,
            authorised_now=v.authorised,
            inside_now=list(v.inside),
        )
        for v in service.rooms_overview(db, policy)
    ]


@router.get("/authorisations")
def list_authorisations(
    principal: Reader, db: DB, policy: PolicyDep, room: RoomQ = None, current: bool = False
) -> list[AuthorisationRead]:
    if room is not None:
        service.room_of(policy, room)
    return [AuthorisationRead.model_validate(a) for a in service.authorisations(db, room, current_only=current)]


@router.post("/authorisations", status_code=201)
def grant(
    body: AuthorisationCreate, principal: Granter, db: DB, policy: PolicyDep, rid: RequestId
) -> AuthorisationRead:
    auth = service.grant(db, policy, principal.user, request_id=rid, **body.model_dump())
    return AuthorisationRead.model_validate(auth)


@router.post("/authorisations/{authorisation_id}/revoke")
def revoke(
    authorisation_id: Id, body: AuthorisationRevoke, principal: Granter, db: DB, policy: PolicyDep, rid: RequestId
) -> AuthorisationRead:
    auth = service.revoke(db, policy, principal.user, authorisation_id, body.reason, request_id=rid)
    return AuthorisationRead.model_validate(auth)


@router.get("/visitors")
def list_visitors(principal: Reader, db: DB, policy: PolicyDep, room: RoomQ = None) -> list[VisitorRead]:
    if room is not None:
        service.room_of(policy, room)
    return [VisitorRead.model_validate(v) for v in service.visitors(db, room)]


@router.post("/visitors", status_code=201)
def register_visitor(body: VisitorCreate, principal: Writer, db: DB, policy: PolicyDep, rid: RequestId) -> VisitorRead:
    visitor = service.register_visitor(db, policy, principal.user, request_id=rid, **body.model_dump())
    return VisitorRead.model_validate(visitor)


@router.get("/access-log")
def access_log(
    principal: LogReader, db: DB, policy: PolicyDep, room: RoomQ = None, start: Since = None, end: Since = None
) -> AccessLogRead:
    if room is not None:
        service.room_of(policy, room)
    entries = service.access_log(db, room, start=start, end=end)
    return AccessLogRead(entries=[AccessRead.model_validate(e) for e in entries])


@router.post("/access-log", status_code=201)
def record(body: AccessCreate, principal: Writer, db: DB, policy: PolicyDep, rid: RequestId) -> AccessRead:
    entry = service.record(db, policy, principal.user, request_id=rid, **body.model_dump())
    return AccessRead.model_validate(entry)


def _name(room: str | None, ext: str) -> str:
    return f"room-access-log-{room or 'all'}-{to_kst(utcnow()):%Y%m%d}.{ext}"


@router.get(
    "/access-log.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "출입관리대장 as a workbook"}},
)
def access_log_xlsx(
    principal: LogReader, db: DB, policy: PolicyDep, room: RoomQ = None, start: Since = None, end: Since = None
) -> Response:
    if room is not None:
        service.room_of(policy, room)
    data = report.to_xlsx(policy, service.access_log(db, room, start=start, end=end), room=room)
    return Response(
        data, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{_name(room, "xlsx")}"'}
    )


@router.get(
    "/access-log.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "출입관리대장, printable"}},
)
def access_log_pdf(
    principal: LogReader, db: DB, policy: PolicyDep, room: RoomQ = None, start: Since = None, end: Since = None
) -> Response:
    if room is not None:
        service.room_of(policy, room)
    data = report.to_pdf(policy, service.access_log(db, room, start=start, end=end), room=room)
    return Response(
        data,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{_name(room, "pdf")}"'},
    )


routers = [router]
