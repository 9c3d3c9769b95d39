"""FastAPI dependencies of the video routes: the live hub, where the files are, and camera access.

Opening a camera's pictures is a dependency: a route that takes :data:`LiveAccess`,
:data:`SnapshotAccess`, :data:`PlaybackAccess`, :data:`ExportAccess` or :data:`ClipDownload` runs
only once the access module has granted the opening, and that call audits the decision either way.
A malformed request (no purpose, a time range without offset, inverted or too long) is refused
before anything is authorised, so a typo never lands in the audit chain: the time range is a
sub-dependency of the grant, and FastAPI does not call a dependency whose own inputs are invalid.

``<img src="/api/cameras/7/live.mjpeg?purpose=crime_prevention">`` works in the console as is: the
session cookie authenticates a GET without a CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from gwanje.access.choices import VideoAction
from gwanje.access.service import AccessGrant
from gwanje.core.choices import Choice
from gwanje.core.schemas import Id, Instant
from gwanje.http.deps import DB, PolicyDep, Principal, requires
from gwanje.video import service
from gwanje.video.live import LiveHub
from gwanje.video.models import VideoClip
from gwanje.video.schemas import ClipCreate

Viewer = Annotated[Principal, Depends(requires("registry.read"))]
Manager = Annotated[Principal, Depends(requires("registry.write"))]
Purpose = Annotated[
    str,
    Query(
        min_length=1,
        max_length=40,
        pattern=r"^[a-z_]+$",
        description="Why the video is opened (a purpose code of the policy)",
    ),
]
IncidentId = Annotated[Id | None, Query(description="The incident the viewing serves")]
ProvisionId = Annotated[Id | None, Query(description="An approved provision or emergency access")]


def get_hub(request: Request) -> LiveHub:
    """The app's live hub (``app.state.video_hub``, created by the app factory; made here if absent)."""
    hub = getattr(request.app.state, "video_hub", None)
    if hub is None:
        hub = request.app.state.video_hub = LiveHub()
    return hub


def get_var_dir(request: Request) -> Path:
    return Path(request.app.state.settings.var_dir)


Hub = Annotated[LiveHub, Depends(get_hub)]
VarDir = Annotated[Path, Depends(get_var_dir)]


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime


def query_window(start: Instant, end: Instant) -> Window:
    service.check_range(start, end)
    return Window(start, end)


def body_window(body: ClipCreate) -> Window:
    service.check_range(body.start, body.end)
    return Window(body.start, body.end)


@dataclass(frozen=True)
class WindowAccess:
    """A granted opening of a camera's recording over a time range."""

    grant: AccessGrant
    window: Window


@dataclass(frozen=True)
class ClipAccess:
    """A granted download of an exported clip."""

    grant: AccessGrant
    clip: VideoClip
    path: Path


async def _authorize(
    request: Request,
    principal: Principal,
    db: DB,
    policy: PolicyDep,
    action: Choice,
    camera_id: Id,
    purpose: str,
    incident_id: int | None,
    provision_id: int | None,
) -> AccessGrant:
    return await run_in_threadpool(
        service.authorize,
        db,
        policy,
        principal.user,
        camera_id,
        purpose,
        action.code,
        incident_id=incident_id,
        provision_id=provision_id,
        request_id=request.state.request_id,
    )


async def live_access(
    request: Request,
    principal: Viewer,
    db: DB,
    policy: PolicyDep,
    camera_id: Id,
    purpose: Purpose,
    incident_id: IncidentId = None,
    provision_id: ProvisionId = None,
) -> AccessGrant:
    return await _authorize(
        request, principal, db, policy, VideoAction.live, camera_id, purpose, incident_id, provision_id
    )


async def snapshot_access(
    request: Request,
    principal: Viewer,
    db: DB,
    policy: PolicyDep,
    camera_id: Id,
    purpose: Purpose,
    incident_id: IncidentId = None,
    provision_id: ProvisionId = None,
) -> AccessGrant:
    return await _authorize(
        request, principal, db, policy, VideoAction.snapshot, camera_id, purpose, incident_id, provision_id
    )


async def playback_access(
    request: Request,
    principal: Viewer,
    db: DB,
    policy: PolicyDep,
    camera_id: Id,
    purpose: Purpose,
    window: Annotated[Window, Depends(query_window)],
    incident_id: IncidentId = None,
    provision_id: ProvisionId = None,
) -> WindowAccess:
    grant = await _authorize(
        request, principal, db, policy, VideoAction.playback, camera_id, purpose, incident_id, provision_id
    )
    return WindowAccess(grant, window)


async def export_access(
    request: Request,
    principal: Viewer,
    db: DB,
    policy: PolicyDep,
    camera_id: Id,
    purpose: Purpose,
    window: Annotated[Window, Depends(body_window)],
    incident_id: IncidentId = None,
    provision_id: ProvisionId = None,
) -> WindowAccess:
    grant = await _authorize(
        request, principal, db, policy, VideoAction.export, camera_id, purpose, incident_id, provision_id
    )
    return WindowAccess(grant, window)


async def clip_download(
    request: Request,
    principal: Viewer,
    db: DB,
    policy: PolicyDep,
    var_dir: VarDir,
    clip_id: Id,
    purpose: Purpose,
    incident_id: IncidentId = None,
    provision_id: ProvisionId = None,
) -> ClipAccess:
    """An exported clip is authorised (and audited) like the export itself, for the clip's camera."""
    clip, path = await run_in_threadpool(service.clip_file, db, var_dir, clip_id)
    grant = await _authorize(
        request, principal, db, policy, VideoAction.export, clip.camera_id, purpose, incident_id, provision_id
    )
    return ClipAccess(grant, clip, path)


LiveAccess = Annotated[AccessGrant, Depends(live_access)]
SnapshotAccess = Annotated[AccessGrant, Depends(snapshot_access)]
PlaybackAccess = Annotated[WindowAccess, Depends(playback_access)]
ExportAccess = Annotated[WindowAccess, Depends(export_access)]
ClipDownload = Annotated[ClipAccess, Depends(clip_download)]
