"""Video routes: live MJPEG, snapshots, playback, export clips, recording settings.

Every route that returns pictures takes a ``purpose`` (and, where it applies, ``incident_id`` or
``provision_id``) and calls the access module before touching video; that call audits the
decision either way. A live stream asks again every :data:`GRANT_RECHECK_SECONDS` and ends when
the grant no longer holds (incident closed, camera detached, account locked …).

``<img src="/api/cameras/7/live.mjpeg?purpose=crime_prevention">`` works in the console as is: the
session cookie authenticates a GET without a CSRF token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from pydantic import AwareDatetime, Field
from starlette.concurrency import run_in_threadpool

from gwanje.core.errors import DomainError
from gwanje.core.schemas import StrictModel
from gwanje.video import live, service
from gwanje.video.onvif import OnvifError, resolve_stream_url
from gwanje.http.deps import DB, PolicyDep, Principal, requires

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["video"])

Viewer = Annotated[Principal, Depends(requires("registry.read"))]
Manager = Annotated[Principal, Depends(requires("registry.write"))]
Purpose = Annotated[str, Query(min_length=1, max_length=40, pattern=r"^[a-z_]+$",
                               description="Why the video is opened (a purpose code of the policy)")]
IncidentId = Annotated[int | None, Query(ge=1, description="The incident the viewing serves")]
ProvisionId = Annotated[int | None, Query(ge=1, description="An approved provision or emergency access")]

GRANT_RECHECK_SECONDS = 5.0


class Unavailable(DomainError):
    status = 503
    code = "video_unavailable"
    exit_code = 1


def get_hub(request: Request) -> live.LiveHub:
    hub = getattr(request.app.state, "video_hub", None)
    if hub is None:
        hub = request.app.state.video_hub = live.LiveHub()
    return hub


def _var_dir(request: Request) -> Path:
    return Path(request.app.state.settings.var_dir)


async def _open(request: Request, db, policy, principal: Principal, camera_id: int, purpose: str,  # noqa: ANN001
                action: str, incident_id: int | None, provision_id: int | None) -> Any:
    return await run_in_threadpool(
        service.authorize, db, policy, principal.user, camera_id, purpose, action,
        incident_id=incident_id, provision_id=provision_id, request_id=request.state.request_id)


async def _source(db, camera_id: int) -> str:  # noqa: ANN001
    url = await run_in_threadpool(service.stream_source, db, camera_id)
    try:
        return await run_in_threadpool(resolve_stream_url, url)
    except (OnvifError, ValueError) as exc:
        raise Unavailable("카메라에 연결할 수 없습니다", "cannot reach the camera",
                          details={"problem": str(exc)}) from None


class _ClosingStream(StreamingResponse):
    """Closes the frame generator as soon as the response ends, so the viewer count drops at once."""

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()


@router.get("/cameras/{camera_id}/live.mjpeg", response_class=StreamingResponse)
async def live_mjpeg(camera_id: int, purpose: Purpose, request: Request, principal: Viewer, db: DB,
                     policy: PolicyDep, incident_id: IncidentId = None, provision_id: ProvisionId = None):  # noqa: ANN201
    """Live view as ``multipart/x-mixed-replace`` JPEGs (plays in an ``<img>``); one transcoder per camera."""
    grant = await _open(request, db, policy, principal, camera_id, purpose, "live", incident_id, provision_id)
    url = await _source(db, camera_id)
    hub = get_hub(request)

    async def body() -> AsyncIterator[bytes]:
        frames = hub.frames(camera_id, url)
        checked = time.monotonic()
        try:
            async for frame in frames:
                yield live.multipart_chunk(frame)
                if time.monotonic() - checked >= GRANT_RECHECK_SECONDS:
                    checked = time.monotonic()
                    if not await run_in_threadpool(service.grant_still_valid, db, policy, grant):
                        log.info("live view of camera %s by %s ended: grant no longer valid",
                                 camera_id, principal.user.username)
                        return
        except live.SourceUnavailable as exc:
            log.warning("live view of camera %s ended: %s", camera_id, exc)
        finally:
            await frames.aclose()

    return _ClosingStream(body(), media_type=f"multipart/x-mixed-replace; boundary={live.BOUNDARY}",
                          headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/cameras/{camera_id}/snapshot.jpg", response_class=Response)
async def snapshot(camera_id: int, purpose: Purpose, request: Request, principal: Viewer, db: DB,
                   policy: PolicyDep, incident_id: IncidentId = None, provision_id: ProvisionId = None) -> Response:
    """One JPEG: the newest live frame if the camera is being watched, else a fresh grab."""
    await _open(request, db, policy, principal, camera_id, purpose, "snapshot", incident_id, provision_id)
    url = await _source(db, camera_id)
    try:
        jpeg = await get_hub(request).snapshot(camera_id, url)
    except live.SourceUnavailable as exc:
        raise Unavailable("카메라 영상을 가져오지 못했습니다", "no picture from the camera",
                          details={"problem": str(exc)}) from None
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/cameras/{camera_id}/playback", response_class=FileResponse)
async def playback(camera_id: int, purpose: Purpose, start: AwareDatetime, end: AwareDatetime, request: Request,
                   principal: Viewer, db: DB, policy: PolicyDep, incident_id: IncidentId = None,
                   provision_id: ProvisionId = None) -> FileResponse:
    """Recorded video of ``[start, end)`` as one MP4 (HTTP range requests work; each is authorised)."""
    service.check_range(start, end)  # a malformed request is refused before it is authorised and audited
    await _open(request, db, policy, principal, camera_id, purpose, "playback", incident_id, provision_id)
    cmd = service.MakeClip(camera_id, start, end, purpose, "playback", incident_id)
    clip = await run_in_threadpool(service.make_clip, db, _var_dir(request), principal.user, cmd,
                                   request_id=request.state.request_id)
    return FileResponse(_var_dir(request) / clip.path, media_type="video/mp4",
                        headers={"Cache-Control": "private, no-store", "X-Clip-Id": str(clip.id)})


class ClipCreate(StrictModel):
    start: AwareDatetime
    end: AwareDatetime


@router.post("/cameras/{camera_id}/clips", status_code=201)
async def export_clip(camera_id: int, body: ClipCreate, purpose: Purpose, request: Request, principal: Viewer,
                      db: DB, policy: PolicyDep, incident_id: IncidentId = None,
                      provision_id: ProvisionId = None) -> JSONResponse:
    """Cut ``[start, end)`` into a kept MP4 copy (export); download it from ``/api/video/clips/{id}/file``."""
    service.check_range(body.start, body.end)
    await _open(request, db, policy, principal, camera_id, purpose, "export", incident_id, provision_id)
    cmd = service.MakeClip(camera_id, body.start, body.end, purpose, "export", incident_id)
    clip = await run_in_threadpool(service.make_clip, db, _var_dir(request), principal.user, cmd,
                                   request_id=request.state.request_id)
    data = service.clip_dict(clip)
    data["download"] = f"/api/video/clips/{clip.id}/file?purpose={purpose}"
    return JSONResponse(_jsonable(data), status_code=201)


@router.get("/video/clips/{clip_id}")
def clip_info(clip_id: int, _: Viewer, db: DB) -> JSONResponse:
    with db.reading() as session:
        return JSONResponse(_jsonable(service.clip_dict(service.get_clip(session, clip_id))))


@router.get("/video/clips/{clip_id}/file", response_class=FileResponse)
async def clip_download(clip_id: int, purpose: Purpose, request: Request, principal: Viewer, db: DB,
                        policy: PolicyDep, incident_id: IncidentId = None,
                        provision_id: ProvisionId = None) -> FileResponse:
    """Download an exported clip; authorised (and audited) like the export itself."""
    clip, path = await run_in_threadpool(service.clip_file, db, _var_dir(request), clip_id)
    await _open(request, db, policy, principal, clip.camera_id, purpose, "export", incident_id, provision_id)
    return FileResponse(path, media_type="video/mp4", filename=f"camera{clip.camera_id}-clip{clip.id}.mp4",
                        headers={"Cache-Control": "private, no-store"})


@router.get("/video/cameras/{camera_id}/segments")
def segments(camera_id: int, start: AwareDatetime, end: AwareDatetime, _: Viewer, db: DB) -> JSONResponse:
    """When the camera was recorded (times, sizes, digests). Metadata only: no pictures, no purpose."""
    with db.reading() as session:
        return JSONResponse(_jsonable({"items": service.list_segments(session, camera_id, start, end)}))


class RecordingUpdate(StrictModel):
    enabled: bool
    segment_seconds: int = Field(default=60, ge=service.MIN_SEGMENT_SECONDS, le=service.MAX_SEGMENT_SECONDS)


@router.get("/video/cameras/{camera_id}/recording")
def recording(camera_id: int, _: Viewer, db: DB) -> JSONResponse:
    with db.reading() as session:
        return JSONResponse(_jsonable(service.get_recording(session, camera_id)))


@router.put("/video/cameras/{camera_id}/recording")
def set_recording(camera_id: int, body: RecordingUpdate, request: Request, principal: Manager,
                  db: DB) -> JSONResponse:
    """Turn central recording of a camera on or off (the recorder picks it up within its poll interval)."""
    with db.uow() as uow:
        data = service.set_recording(uow, principal.actor(request),
                                     service.SetRecording(camera_id, body.enabled, body.segment_seconds))
    return JSONResponse(_jsonable(data))


@router.get("/video/live/status")
def live_status(request: Request, _: Viewer) -> dict:
    """Which cameras have a running live transcoder, and how many viewers each."""
    hub = get_hub(request)
    return {"transcoders": [{"camera_id": cid, "viewers": hub.viewers(cid)} for cid in sorted(hub.pids())]}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def install(app: FastAPI) -> None:
    """Add the routes and the live hub; call :func:`shutdown` from the lifespan's exit."""
    app.state.video_hub = live.LiveHub()
    app.include_router(router)


async def shutdown(app: FastAPI) -> None:
    hub = getattr(app.state, "video_hub", None)
    if hub is not None:
        await hub.close()


__all__ = ["router", "install", "shutdown", "get_hub"]
