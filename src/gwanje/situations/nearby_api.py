"""Cameras near an incident or a point, from the in-memory camera index.

``GET /api/incidents/{id}/cameras`` lists the k nearest cameras with distance, bearing and, for
the caller, whether they may open the camera's video for this incident (Annex 1 purposes, the
role's purposes, and for the police only while responding to this incident: Art. 9 ⑤).

The index is the app's ``state.camera_index`` (a :class:`CameraIndexCache`); where the wiring root
has none, one is made on first use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from gwanje.core.errors import Forbidden
from gwanje.policy import decisions
from gwanje.policy.model import Policy
from gwanje.registry.models import Camera
from gwanje.registry.spatial import CameraIndex, CameraIndexCache, bearing_deg, compass_ko_en
from gwanje.access.service import attached_camera_ids
from gwanje.situations import rules, service
from gwanje.situations.models import Incident
from gwanje.http.deps import DB, PolicyDep, Principal, requires

router = APIRouter(prefix="/api", tags=["situations"])

Reader = Annotated[Principal, Depends(requires("situations.read"))]
RegistryReader = Annotated[Principal, Depends(requires("registry.read"))]

MAX_K = 100
MAX_RADIUS_M = 10_000.0
MAX_WITHIN = 1000


def install(app: FastAPI) -> None:
    app.include_router(router)
    # The registry's /api/cameras/{camera_id} would otherwise catch /api/cameras/nearest first.
    app.router.routes.insert(0, app.router.routes.pop())


def camera_index(request: Request) -> CameraIndex:
    cache = getattr(request.app.state, "camera_index", None)
    if cache is None:
        cache = request.app.state.camera_index = CameraIndexCache(request.app.state.db)
    return cache.get()


Index = Annotated[CameraIndex, Depends(camera_index)]


# ---- use cases (read only) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    role: str
    department: str | None


def _purposes(camera: Any) -> list[str]:
    return [camera.primary_purpose, *[p for p in (camera.secondary_purposes or "").split(",") if p]]


def _cameras(session: Session, ids: list[int]) -> dict[int, Any]:
    if not ids:
        return {}
    rows = session.execute(
        select(Camera.id, Camera.management_number, Camera.name, Camera.latitude, Camera.longitude, Camera.status,
               Camera.primary_purpose, Camera.secondary_purposes, Camera.department, Camera.direction_deg)
        .where(Camera.id.in_(ids))).all()
    return {r.id: r for r in rows}


def _row(camera: Any, metres: float, lat: float, lon: float) -> dict[str, Any]:
    bearing = bearing_deg(lat, lon, camera.latitude, camera.longitude)
    ko, en = compass_ko_en(bearing)
    return {
        "id": camera.id, "management_number": camera.management_number, "name": camera.name,
        "latitude": camera.latitude, "longitude": camera.longitude, "status": camera.status,
        "department": camera.department, "primary_purpose": camera.primary_purpose, "purposes": _purposes(camera),
        "direction_deg": camera.direction_deg, "distance_m": round(metres, 1),
        "bearing_deg": round(bearing, 1), "compass": {"ko": ko, "en": en},
    }


def police_responding(policy: Policy, role: str, incident: Incident) -> bool:
    """A police user opens a camera only while the police respond to this open incident (Art. 9 ⑤)."""
    police = policy.role(role).organisation == "police"
    routed_to_police = "police" in (incident.responsible_org, incident.responding_org)
    return police and routed_to_police and incident.status in rules.OPEN


def incident_cameras(session: Session, policy: Policy, viewer: Viewer, incident_id: int, index: CameraIndex,
                     k: int) -> list[dict[str, Any]]:
    incident = service.get_incident(session, incident_id)
    routed = service.routed(incident)
    purposes = tuple(json.loads(incident.details or "{}").get("camera_purposes", ()))
    if not rules.may_see(policy, viewer.role, viewer.department, routed, purposes):
        raise Forbidden("이 상황을 볼 수 없습니다", "you may not see this incident", clause="art-9-5")
    if incident.latitude is None or incident.longitude is None:
        return []
    near = index.nearest(incident.latitude, incident.longitude, k)
    cameras = _cameras(session, [cid for cid, _ in near])
    purpose = service.PURPOSE_OF.get(incident.type, "crime_prevention")
    responding = police_responding(policy, viewer.role, incident)
    # Police open only cameras attached to the incident they respond to (Art. 9 ⑤): its own
    # camera and those an operator attached; a nearby camera must be attached first.
    attached = attached_camera_ids(session, incident.id) | ({incident.camera_id} if incident.camera_id else set())
    out = []
    for cid, metres in near:
        camera = cameras.get(cid)
        if camera is None:  # retired or removed since the index was built
            continue
        row = _row(camera, metres, incident.latitude, incident.longitude)
        decision = decisions.may_view_video(
            policy, role=viewer.role, user_department=viewer.department, purpose=purpose,
            camera_purposes=row["purposes"], camera_department=camera.department,
            responding_incident_camera=responding and cid in attached)
        row.update(may_open=decision.allowed, clause=decision.clause, purpose=purpose, attached=cid in attached,
                   reason={"ko": decision.reason_ko, "en": decision.reason_en})
        out.append(row)
    return out


def cameras_at(session: Session, pairs: list[tuple[int, float]], lat: float, lon: float) -> list[dict[str, Any]]:
    cameras = _cameras(session, [cid for cid, _ in pairs])
    return [_row(cameras[cid], m, lat, lon) for cid, m in pairs if cid in cameras]


# ---- routes ----------------------------------------------------------------------------------


@router.get("/incidents/{incident_id}/cameras")
def nearby_cameras(incident_id: int, principal: Reader, db: DB, policy: PolicyDep, index: Index,
                   k: Annotated[int, Query(ge=1, le=MAX_K)] = 10) -> list[dict]:
    """The k cameras nearest the incident, each with whether the caller may open its video."""
    with db.reading() as session:
        return incident_cameras(session, policy, Viewer(principal.user.role, principal.user.department),
                                incident_id, index, k)


Lat = Annotated[float, Query(ge=-90, le=90)]
Lon = Annotated[float, Query(ge=-180, le=180)]


@router.get("/cameras/nearest")
def nearest_cameras(_: RegistryReader, db: DB, index: Index, lat: Lat, lon: Lon,
                    k: Annotated[int, Query(ge=1, le=MAX_K)] = 10) -> list[dict]:
    """The k cameras nearest a point, nearest first."""
    with db.reading() as session:
        return cameras_at(session, index.nearest(lat, lon, k), lat, lon)


@router.get("/cameras/within")
def cameras_within(_: RegistryReader, db: DB, index: Index, lat: Lat, lon: Lon,
                   radius_m: Annotated[float, Query(gt=0, le=MAX_RADIUS_M)]) -> list[dict]:
    """Cameras within a radius of a point, nearest first (at most 1,000)."""
    with db.reading() as session:
        return cameras_at(session, index.within(lat, lon, radius_m)[:MAX_WITHIN], lat, lon)
