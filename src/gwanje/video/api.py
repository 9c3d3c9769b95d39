"""Video routes: live MJPEG, snapshots, playback, export clips, recording settings.

Every route that returns pictures takes a ``purpose`` (and, where it applies, ``incident_id`` or
``provision_id``) through a camera-access dependency (``video.deps``) that asks the access module
before any video is touched; that call audits the decision either way. The ledger row is written
only when the picture is delivered (the first frame, the snapshot, the clip), once per viewing; an
allowed opening that delivers nothing is a ``video.access.failed`` audit row instead. A live stream
asks again every :data:`gwanje.video.service.GRANT_RECHECK_SECONDS` and ends when the grant no
longer holds.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from gwanje.core.schemas import Id, Instant
from gwanje.http.deps import DB, PolicyDep
from gwanje.registry.deps import CredentialsBox
from gwanje.video import service
from gwanje.video.choices import ClipKind
from gwanje.video.deps import (
    ClipDownload,
    ExportAccess,
    Hub,
    LiveAccess,
    Manager,
    PlaybackAccess,
    SnapshotAccess,
    VarDir,
    Viewer,
)
from gwanje.video.schemas import (
    ClipExported,
    ClipRead,
    LiveStatusRead,
    RecordingRead,
    RecordingUpdate,
    SegmentList,
    SegmentRead,
)

router = APIRouter(prefix="/api", tags=["video"])

_RANGE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-")


def _range_start(request: Request) -> int | None:
    """The first byte a ``Range`` request asks for (a suffix range counts as a later part), else None."""
    match = _RANGE.match(request.headers.get("range") or "")
    if match is None:
        return None
    return int(match.group(1)) if match.group(1) else 1


class _ClosingStream(StreamingResponse):
    """Closes the frame generator as soon as the response ends, so the viewer count drops at once."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self.body_iterator, "aclose", None)
            if aclose is not None:
                await aclose()


@router.get("/cameras/{camera_id}/live.mjpeg", response_class=StreamingResponse)
async def live_mjpeg(
    request: Request, _: Viewer, grant: LiveAccess, hub: Hub, db: DB, policy: PolicyDep, box: CredentialsBox
) -> StreamingResponse:
    """Live view as ``multipart/x-mixed-replace`` JPEGs (plays in an ``<img>``); one transcoder per camera."""
    parts = await service.open_live(hub, db, policy, grant, box, request_id=request.state.request_id)
    return _ClosingStream(
        parts, media_type=service.MJPEG_MEDIA_TYPE, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


@router.get("/cameras/{camera_id}/snapshot.jpg", response_class=Response)
async def snapshot(
    request: Request, _: Viewer, grant: SnapshotAccess, hub: Hub, db: DB, policy: PolicyDep, box: CredentialsBox
) -> Response:
    """One JPEG: the newest live frame if the camera is being watched, else a fresh grab."""
    jpeg = await service.snapshot(hub, db, policy, grant, box, request_id=request.state.request_id)
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/cameras/{camera_id}/playback", response_class=FileResponse)
async def playback(
    request: Request, principal: Viewer, opened: PlaybackAccess, db: DB, policy: PolicyDep, var_dir: VarDir
) -> FileResponse:
    """Recorded video of ``[start, end)`` as one MP4 (HTTP range requests work; each is authorised,
    and the later ranges of one playback are one ledger row with its first)."""
    grant, window = opened.grant, opened.window
    clip = await service.open_clip(
        db,
        policy,
        var_dir,
        principal.user,
        grant,
        window.start,
        window.end,
        ClipKind.playback.code,
        request_id=request.state.request_id,
        range_start=_range_start(request),
    )
    return FileResponse(
        var_dir / clip.path,
        media_type="video/mp4",
        headers={"Cache-Control": "private, no-store", "X-Clip-Id": str(clip.id)},
    )


@router.post("/cameras/{camera_id}/clips", status_code=201, response_model=ClipExported)
async def export_clip(
    request: Request, principal: Viewer, opened: ExportAccess, db: DB, policy: PolicyDep, var_dir: VarDir
) -> ClipExported:
    """Cut ``[start, end)`` into a kept MP4 copy (export); download it from ``/api/video/clips/{id}/file``."""
    grant, window = opened.grant, opened.window
    clip = await service.open_clip(
        db,
        policy,
        var_dir,
        principal.user,
        grant,
        window.start,
        window.end,
        ClipKind.export.code,
        request_id=request.state.request_id,
    )
    return ClipExported.of_export(clip, grant.purpose)


@router.get("/video/clips/{clip_id}", response_model=ClipRead)
def clip_info(clip_id: Id, _: Viewer, db: DB) -> ClipRead:
    return ClipRead.of(service.read_clip(db, clip_id))


@router.get("/video/clips/{clip_id}/file", response_class=FileResponse)
async def clip_download(_: Viewer, opened: ClipDownload) -> FileResponse:
    """Download an exported clip; authorised (and audited) like the export itself."""
    clip = opened.clip
    return FileResponse(
        opened.path,
        media_type="video/mp4",
        filename=f"camera{clip.camera_id}-clip{clip.id}.mp4",
        headers={"Cache-Control": "private, no-store"},
    )


@router.get("/video/cameras/{camera_id}/segments", response_model=SegmentList)
def segments(camera_id: Id, start: Instant, end: Instant, _: Viewer, db: DB) -> SegmentList:
    """When the camera was recorded (times, sizes, digests). Metadata only: no pictures, no purpose."""
    return SegmentList(items=[SegmentRead.of(s) for s in service.list_segments(db, camera_id, start, end)])


@router.get("/video/cameras/{camera_id}/recording", response_model=RecordingRead)
def recording(camera_id: Id, _: Viewer, db: DB) -> RecordingRead:
    return RecordingRead.of(service.get_recording(db, camera_id))


@router.put("/video/cameras/{camera_id}/recording", response_model=RecordingRead)
def set_recording(camera_id: Id, body: RecordingUpdate, request: Request, principal: Manager, db: DB) -> RecordingRead:
    """Turn central recording of a camera on or off (the recorder picks it up within its poll interval)."""
    done = service.set_recording(
        db, principal.actor(request), service.SetRecording(camera_id, body.enabled, body.segment_seconds)
    )
    return RecordingRead.of(done)


@router.get("/video/live/status", response_model=LiveStatusRead)
def live_status(_: Viewer, hub: Hub) -> LiveStatusRead:
    """Which cameras have a running live transcoder, and how many viewers each."""
    return LiveStatusRead.of(service.live_transcoders(hub))


routers = [router]
