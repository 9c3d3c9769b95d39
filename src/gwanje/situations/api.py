"""Situation routes: device events in, incidents listed and worked, cameras near them, the rejected-
message shelf; with them the hot list's (:mod:`gwanje.situations.hotlist.api`) and the live feed
(``WS /api/live``, :mod:`gwanje.situations.live`).

``cameras_router`` holds ``/api/cameras/nearest`` and ``/api/cameras/within``: the app must include
it before the registry's ``/api/cameras/{camera_id}``, which would otherwise catch them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from gwanje.core.schemas import Id
from gwanje.http.deps import DB, PolicyDep, Principal, requires
from gwanje.registry.deps import CameraIndexDep as Index
from gwanje.situations import live, service
from gwanje.situations.deps import Reader, Responder, VisibleIncident, WorkableIncident
from gwanje.situations.hotlist import api as hotlist_api
from gwanje.situations.messages import MAX_MESSAGE_BYTES, json_schemas
from gwanje.situations.schemas import (
    CameraDistanceRead,
    IncidentActionCreate,
    IncidentCreate,
    IncidentDetailRead,
    IncidentRead,
    IngestHealthRead,
    IngestResultRead,
    NearbyCameraRead,
    RejectedMessageRead,
    SopStepUpdate,
)

router = APIRouter(prefix="/api", tags=["situations"])
cameras_router = APIRouter(prefix="/api", tags=["situations"])

Device = Annotated[Principal, Depends(requires("events.ingest"))]
Reporter = Annotated[Principal, Depends(requires("situations.report"))]
RegistryReader = Annotated[Principal, Depends(requires("registry.read"))]

MAX_K = 100
MAX_RADIUS_M = 10_000.0
MAX_WITHIN = 1000
K = Annotated[int, Query(ge=1, le=MAX_K)]
Lat = Annotated[float, Query(ge=-90, le=90)]
Lon = Annotated[float, Query(ge=-180, le=180)]


def _message_body() -> dict:
    """The request body of ``POST /api/events`` for the schema: the route reads the raw bytes (a
    message is kept even when it cannot be used), so FastAPI cannot describe it on its own."""
    schemas = [{k: v for k, v in schema.items() if k != "$schema"} for schema in json_schemas().values()]
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": schemas}}}}}


@router.post("/events", status_code=202, response_model=IngestResultRead, openapi_extra=_message_body())
async def post_event(request: Request, principal: Device) -> Response:
    """A device message over HTTP: stored in the inbox before this answers (202; 200 for a replay,
    422 when it is kept but cannot be used)."""
    status, body = await ingest_posted(
        request.app.state.ingest_coalescer, principal, await request.body(), request.headers.get("x-device-id")
    )
    return Response(body, status_code=status, media_type="application/json")


async def ingest_posted(coalescer, principal: Principal, raw: bytes, device_id: str | None) -> tuple[int, bytes]:  # noqa: ANN001
    """What ``POST /api/events`` does once its caller may post: store the message, say what became of it
    (status, JSON body). :mod:`gwanje.web.fastpath` answers the route's plain requests with it too."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raw = raw[: MAX_MESSAGE_BYTES + 1]
    item = service.RawMessage(source=f"http:{principal.user.username}", raw=raw, channel="http", device_id=device_id)
    result = await coalescer.ingest(item)
    body = IngestResultRead.from_result(result)
    # the model is built and checked above: rendered once here rather than validated again on the way out
    return body.http_status, body.model_dump_json().encode()


@router.get("/incidents")
def list_incidents(principal: Reader, db: DB, policy: PolicyDep, open_only: bool = False) -> list[IncidentRead]:
    rows = service.visible_incidents(db, policy, principal.user.role, principal.user.department, open_only=open_only)
    return [IncidentRead.from_incident(i) for i in rows]


@router.get("/incidents/{incident_id}")
def read_incident(_: Reader, incident: VisibleIncident, db: DB, policy: PolicyDep) -> IncidentDetailRead:
    return IncidentDetailRead.from_detail(service.incident_detail(db, policy, incident))


@router.post("/incidents/{incident_id}/actions/{action}")
def incident_action(
    action: str,
    body: IncidentActionCreate,
    request: Request,
    db: DB,
    policy: PolicyDep,
    principal: Responder,
    incident: WorkableIncident,
) -> IncidentRead:
    return IncidentRead.from_incident(
        service.act(db, policy, principal.actor(request), incident.id, action, note=body.note, unit=body.unit)
    )


@router.post("/incidents/{incident_id}/sop/{code}")
def incident_step(
    incident_id: Id, code: str, body: SopStepUpdate, request: Request, db: DB, policy: PolicyDep, principal: Responder
) -> IncidentRead:
    return IncidentRead.from_incident(
        service.sop_step(db, policy, principal.actor(request), incident_id, code, skip_reason=body.skip_reason)
    )


@router.post("/incidents", status_code=201)
def report_incident(body: IncidentCreate, db: DB, policy: PolicyDep, principal: Reporter) -> IncidentRead:
    return IncidentRead.from_incident(
        service.report_incident(db, policy, principal.user.username, body.model_dump(), role=principal.user.role)
    )


@router.get("/inbox/rejected", response_model=list[RejectedMessageRead])
def rejected(principal: Reader, db: DB, policy: PolicyDep) -> list[RejectedMessageRead]:
    user = principal.user
    return [RejectedMessageRead.from_item(i) for i in service.rejected_messages(db, policy, user.role, user.department)]


@router.get("/ingest/health")
def ingest_health(_: Reader, db: DB) -> IngestHealthRead:
    """Per device: messages its sequence numbers show never arrived (docs/events.md)."""
    return IngestHealthRead.from_health(service.ingest_health(db))


# ---- cameras near an incident or a point ----------------------------------------------------------


@router.get("/incidents/{incident_id}/cameras")
def nearby_cameras(
    principal: Reader, incident: VisibleIncident, db: DB, policy: PolicyDep, index: Index, k: K = 10
) -> list[NearbyCameraRead]:
    """The k cameras nearest the incident, each with whether the caller may open its video."""
    user = principal.user
    rows = service.nearby_cameras(db, policy, user.role, user.department, incident, index, k, user_id=user.id)
    return [NearbyCameraRead.from_near(r) for r in rows]


@cameras_router.get("/cameras/nearest")
def nearest_cameras(_: RegistryReader, db: DB, index: Index, lat: Lat, lon: Lon, k: K = 10) -> list[CameraDistanceRead]:
    """The k cameras nearest a point, nearest first."""
    return [CameraDistanceRead.from_near(r) for r in service.cameras_nearest(db, index, lat, lon, k)]


@cameras_router.get("/cameras/within")
def cameras_within(
    _: RegistryReader,
    db: DB,
    index: Index,
    lat: Lat,
    lon: Lon,
    radius_m: Annotated[float, Query(gt=0, le=MAX_RADIUS_M)],
) -> list[CameraDistanceRead]:
    """Cameras within a radius of a point, nearest first (at most 1,000)."""
    return [CameraDistanceRead.from_near(r) for r in service.cameras_within(db, index, lat, lon, radius_m, MAX_WITHIN)]


routers = [cameras_router, router, *hotlist_api.routers, live.router]
