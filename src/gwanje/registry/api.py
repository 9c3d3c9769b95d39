"""Registry JSON routes. Routes parse, call one use case and render; no queries here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from gwanje.core.errors import ValidationFailed
from gwanje.core.schemas import Id, Offset, has_control_chars
from gwanje.core.revisions import REGISTRY
from gwanje.http.deps import DB, PolicyDep, Revisions
from gwanje.registry import service
from gwanje.registry.deps import (
    READ,
    CredentialsBox,
    Reader,
    ReadableCamera,
    RegistryCache,
    ReportReader,
    Writer,
    WriteScope,
)
from gwanje.registry.schemas import (
    Annex1Read,
    CameraCreate,
    CameraFeatureCollection,
    CameraPage,
    CameraQuery,
    CameraRead,
    CameraRetire,
    CameraStatus,
    CameraUpdate,
)

router = APIRouter(prefix="/api", tags=["registry"])


class GeoJSONResponse(JSONResponse):
    media_type = "application/geo+json"


def _floats(value: str | None, n: int, name: str) -> tuple[float, ...] | None:
    if value is None or value == "":
        return None
    try:
        parts = tuple(float(p) for p in value.split(","))
    except ValueError:
        parts = ()
    if len(parts) != n or any(p != p or p in (float("inf"), float("-inf")) for p in parts):
        raise ValidationFailed(
            f"{name}: 숫자 {n}개를 쉼표로 구분해 주세요", f"{name}: expected {n} comma-separated numbers", field=name
        )
    return parts


async def camera_query(
    q: Annotated[str | None, Query(max_length=200, description="text in address, name, management number")] = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    purpose: Annotated[str | None, Query(max_length=40)] = None,
    status: CameraStatus | None = None,
    bbox: Annotated[str | None, Query(description="south,west,north,east (WGS84)")] = None,
    near: Annotated[str | None, Query(description="lat,lon,radius_m")] = None,
    include_retired: bool = False,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    offset: Annotated[Offset, Query()] = 0,
) -> CameraQuery:
    for name, value in (("q", q), ("department", department), ("purpose", purpose)):
        if value and has_control_chars(value):
            raise ValidationFailed("제어 문자는 쓸 수 없습니다", "control characters are not allowed", field=name)
    box = _floats(bbox, 4, "bbox")
    if box and (box[0] > box[2] or box[1] > box[3]):
        raise ValidationFailed(
            "bbox: 남<북, 서<동이어야 합니다", "bbox: south must be < north and west < east", field="bbox"
        )
    around = _floats(near, 3, "near")
    if around and not (0 < around[2] <= 50_000):
        raise ValidationFailed("반경은 0~50,000m입니다", "radius must be within 0-50,000 m", field="near")
    return CameraQuery(
        q=q,
        department=department,
        purpose=purpose,
        status=status.value if status else None,
        bbox=box,
        near=around,
        include_retired=include_retired,
        limit=limit,
        offset=offset,
    )


@router.get("/cameras", response_model=CameraPage)
async def search(
    _: Reader, db: DB, cache: RegistryCache, known: Revisions, query: Annotated[CameraQuery, Depends(camera_query)]
) -> Response:
    revision = known[REGISTRY] if known else None
    body = cache.peek(("search", query), revision) or await run_in_threadpool(
        service.search_page_json, db, cache, revision, query
    )
    return Response(body, media_type="application/json")


@router.get("/cameras.geojson", response_model=CameraFeatureCollection, response_class=GeoJSONResponse)
async def cameras_geojson(
    _: Reader, db: DB, cache: RegistryCache, known: Revisions, query: Annotated[CameraQuery, Depends(camera_query)]
) -> Response:
    """All matching cameras as an RFC 7946 FeatureCollection for the map (no paging cap below 100k).

    Both routes answer from memory while the registry has not changed (``gwanje.core.revisions``)."""
    revision = known[REGISTRY] if known else None
    body = cache.peek(("geojson", query), revision) or await run_in_threadpool(
        service.feature_collection_json, db, cache, revision, query
    )
    return Response(body, media_type=GeoJSONResponse.media_type)


@router.post("/cameras", response_model=CameraRead, status_code=201)
def create(
    body: CameraCreate,
    request: Request,
    db: DB,
    policy: PolicyDep,
    principal: Writer,
    scope: WriteScope,
    box: CredentialsBox,
) -> CameraRead:
    with db.uow() as uow:
        return CameraRead.from_camera(
            service.create_camera(uow, principal.actor(request), policy, body, scope, credentials=box)
        )


@router.get("/cameras/{camera_id}", response_model=CameraRead, dependencies=[READ])
def read(camera: ReadableCamera) -> CameraRead:
    return camera


@router.patch("/cameras/{camera_id}", response_model=CameraRead)
def update(
    camera_id: Id,
    body: CameraUpdate,
    request: Request,
    db: DB,
    policy: PolicyDep,
    principal: Writer,
    scope: WriteScope,
    box: CredentialsBox,
) -> CameraRead:
    with db.uow() as uow:
        return CameraRead.from_camera(
            service.update_camera(uow, principal.actor(request), policy, camera_id, body, scope, credentials=box)
        )


@router.post("/cameras/{camera_id}/retire", response_model=CameraRead)
def retire(
    camera_id: Id, body: CameraRetire, request: Request, db: DB, principal: Writer, scope: WriteScope
) -> CameraRead:
    with db.uow() as uow:
        return CameraRead.from_camera(
            service.retire_camera(uow, principal.actor(request), camera_id, body.reason, scope)
        )


@router.get("/reports/annex1", response_model=Annex1Read)
def annex1(_: ReportReader, db: DB, policy: PolicyDep) -> Annex1Read:
    with db.reading() as session:
        return service.annex1_report(session, policy)


routers = [router]
