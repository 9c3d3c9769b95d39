"""Video use cases: who may see which camera (through ``gwanje.access``), live view and snapshots,
recording settings, segment listings, playback and export clips.

Every use case that hands out pictures runs after :func:`authorize` — purpose-bound, audited by
the access module, refused with the clause that forbids it (the HTTP routes take it as a
dependency, ``video.deps``). Only these functions commit.

The live hub (:class:`LiveHub`, one transcoder per watched camera) belongs to the process that
serves: the app factory creates it on ``app.state.video_hub`` and awaits ``hub.close()`` on stop.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

# The same worker threads (and limit) as the routes' run_in_threadpool: a stream's database calls and
# ONVIF look-ups wait their turn with the requests', as they did when the route made them.
from anyio import to_thread
from sqlalchemy import select
from sqlalchemy.orm import Session

from gwanje.access import service as access
from gwanje.access.service import AccessGrant
from gwanje.accounts.models import User
from gwanje.accounts.service import actor_of
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.crypto import SecretBox
from gwanje.core.db import Database
from gwanje.core.errors import Conflict, DomainError, NotFound, not_found
from gwanje.core.files import file_sha256
from gwanje.policy.model import Policy
from gwanje.registry.choices import CameraStatus
from gwanje.registry import service as registry
from gwanje.registry.models import Camera
from gwanje.video import clips, ffmpeg_bin, input_args, live
from gwanje.video.choices import ClipKind
from gwanje.video.live import LiveHub
from gwanje.video.models import DEFAULT_SEGMENT_SECONDS, RecordingSegment, RecordingSetting, VideoClip
from gwanje.video.onvif import OnvifError, resolve_stream_url, scrub
from gwanje.video.rules import (
    MAX_CLIP_HOURS,
    MAX_LISTING_HOURS,
    MAX_SEGMENT_SECONDS,
    MIN_SEGMENT_SECONDS,
    check_range,
    check_segment_seconds,
    clip_windows,
)

log = logging.getLogger(__name__)

# Re-exported for other capabilities and the app factory (which creates the hub).
__all__ = ["LiveHub", "MAX_CLIP_HOURS", "MAX_SEGMENT_SECONDS", "MIN_SEGMENT_SECONDS", "check_range"]

PLAYBACK_CACHE = timedelta(hours=1)  # a playback clip is a cache; the recording stays the original
CLIP_DIR = "clips"
GRANT_RECHECK_SECONDS = 5.0  # a live stream asks the access module again this often
MJPEG_MEDIA_TYPE = f"multipart/x-mixed-replace; boundary={live.BOUNDARY}"


class Unavailable(DomainError):
    status = 503
    code = "video_unavailable"
    exit_code = 1


# ---- access ------------------------------------------------------------------------------------


def authorize(
    db: Database,
    policy: Policy,
    user: User,
    camera_id: int,
    purpose: str,
    action: str,
    *,
    incident_id: int | None = None,
    provision_id: int | None = None,
    request_id: str | None = None,
) -> AccessGrant:
    """``gwanje.access.service.authorize_video``: decided, audited, refused with its clause."""
    return access.authorize_video(
        db,
        policy,
        user,
        camera_id,
        purpose,
        action,
        incident_id=incident_id,
        request_id=request_id,
        provision_id=provision_id,
    )


def grant_still_valid(db: Database, policy: Policy, grant: AccessGrant) -> bool:
    return access.grant_still_valid(db, policy, grant)


def stream_source(db: Database, camera_id: int, credentials: SecretBox | None = None) -> str:
    """The address to open: the registered one (RTSP, or an ONVIF device service resolved later) with
    the camera's sealed credentials opened and put back in. Only the video service calls this, and what
    it returns goes to ffmpeg or the ONVIF client, never into a response, a log or the audit chain.
    """
    with db.reading() as session:
        camera = session.get(Camera, camera_id)
        if camera is None:
            raise not_found("카메라", "camera", camera_id, field="camera_id")
        if camera.status == CameraStatus.retired.code:
            raise Conflict("철거된 카메라입니다", "the camera is retired", field="camera_id")
        if not camera.stream_url:
            raise Conflict(
                "영상 주소가 등록되지 않은 카메라입니다", "the camera has no stream address", field="stream_url"
            )
        return registry.stream_address(credentials, camera)


async def camera_source(db: Database, camera_id: int, credentials: SecretBox | None = None) -> str:
    """The address ffmpeg reads: the registered one, an ONVIF device asked for its RTSP address."""
    url = await to_thread.run_sync(stream_source, db, camera_id, credentials)
    try:
        return await to_thread.run_sync(resolve_stream_url, url)
    except (OnvifError, ValueError) as exc:
        raise Unavailable(
            "카메라에 연결할 수 없습니다", "cannot reach the camera", details={"problem": str(exc)}
        ) from None


def ffmpeg_input(url: str) -> list[str]:
    """ffmpeg and its input options for a camera address (TCP for RTSP), before ``-i``: for the other
    capabilities that read a stream themselves (the health checks) the way the video service does."""
    return [ffmpeg_bin(), *input_args(url)]


def log_safe(text: str) -> str:
    """ffmpeg's complaints (which repeat the address) with any credentials taken out."""
    return scrub(text)


# ---- live view and snapshots -------------------------------------------------------------------


async def _failed(db: Database, grant: AccessGrant, error: DomainError | str, request_id: str | None) -> None:
    """An allowed opening delivered nothing: on the audit chain with its reason, never on the ledger."""
    await to_thread.run_sync(partial(access.record_failure, db, grant, error, request_id=request_id))


async def _delivered(db: Database, policy: Policy, grant: AccessGrant, **period: object) -> None:
    await to_thread.run_sync(partial(access.record_delivery, db, policy, grant, **period))


async def open_live(
    hub: LiveHub,
    db: Database,
    policy: Policy,
    grant: AccessGrant,
    credentials: SecretBox | None = None,
    *,
    request_id: str | None = None,
) -> AsyncIterator[bytes]:
    """The granted camera's live view as ``multipart/x-mixed-replace`` parts (:data:`MJPEG_MEDIA_TYPE`).

    The source is resolved now, so that an unreachable camera is an error before the stream starts;
    the stream then asks again every :data:`GRANT_RECHECK_SECONDS` and ends when the grant no longer
    holds (incident closed, camera detached, account locked …). The ledger row is written when the
    first frame is in hand, before it is sent; a view that never got a frame is an audited failure.
    """
    try:
        url = await camera_source(db, grant.camera_id, credentials)
    except DomainError as exc:
        await _failed(db, grant, exc, request_id)
        raise
    return _live_parts(hub, db, policy, grant, url, request_id)


async def _live_parts(
    hub: LiveHub, db: Database, policy: Policy, grant: AccessGrant, url: str, request_id: str | None = None
) -> AsyncIterator[bytes]:
    frames = hub.frames(grant.camera_id, url)
    checked = time.monotonic()
    delivered = False
    try:
        async for frame in frames:
            if not delivered:
                await _delivered(db, policy, grant)
                delivered = True
            yield live.multipart_chunk(frame)
            if time.monotonic() - checked >= GRANT_RECHECK_SECONDS:
                checked = time.monotonic()
                if not await to_thread.run_sync(grant_still_valid, db, policy, grant):
                    log.info(
                        "live view of camera %s by %s ended: grant no longer valid", grant.camera_id, grant.username
                    )
                    return
        if not delivered:
            await _failed(db, grant, "the live stream ended before its first frame", request_id)
            delivered = True  # recorded
    except live.SourceUnavailable as exc:
        log.warning("live view of camera %s ended: %s", grant.camera_id, exc)
        if not delivered:
            await _failed(db, grant, f"no picture from the camera: {exc}", request_id)
            delivered = True
    finally:
        await frames.aclose()
        if not delivered:
            # The viewer left before the first frame (the response is being torn down, so the
            # record is written beside it rather than awaited).
            _ABANDONED.add(
                asyncio.ensure_future(
                    to_thread.run_sync(
                        partial(
                            access.record_failure,
                            db,
                            grant,
                            "the viewer left before the first frame",
                            request_id=request_id,
                        )
                    )
                )
            )
            for task in list(_ABANDONED):
                if task.done():
                    _ABANDONED.discard(task)


_ABANDONED: set[asyncio.Future] = set()  # failure records of abandoned views, kept until written


async def snapshot(
    hub: LiveHub,
    db: Database,
    policy: Policy,
    grant: AccessGrant,
    credentials: SecretBox | None = None,
    *,
    request_id: str | None = None,
) -> bytes:
    """One JPEG of the granted camera: the newest live frame if it is being watched, else a fresh grab.

    The ledger row is written with the bytes in hand; a snapshot that could not be taken is an
    audited failure and no ledger row.
    """
    try:
        url = await camera_source(db, grant.camera_id, credentials)
        try:
            jpeg = await hub.snapshot(grant.camera_id, url)
        except live.SourceUnavailable as exc:
            raise Unavailable(
                "카메라 영상을 가져오지 못했습니다", "no picture from the camera", details={"problem": str(exc)}
            ) from None
    except DomainError as exc:
        await _failed(db, grant, exc, request_id)
        raise
    await _delivered(db, policy, grant)
    return jpeg


@dataclass(frozen=True)
class Transcoder:
    camera_id: int
    viewers: int


def live_transcoders(hub: LiveHub) -> list[Transcoder]:
    """Which cameras have a running live transcoder, and how many viewers each."""
    return [Transcoder(cid, hub.viewers(cid)) for cid in sorted(hub.pids())]


# ---- recording settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class SetRecording:
    camera_id: int
    enabled: bool
    segment_seconds: int = DEFAULT_SEGMENT_SECONDS


@dataclass(frozen=True)
class Recording:
    """A camera's recording setting (a camera never set is not recorded)."""

    camera_id: int
    enabled: bool = False
    segment_seconds: int = DEFAULT_SEGMENT_SECONDS
    updated_at: datetime | None = None
    updated_by: str | None = None

    @classmethod
    def of(cls, row: RecordingSetting | None, camera_id: int) -> Recording:
        if row is None:
            return cls(camera_id)
        return cls(row.camera_id, row.enabled, row.segment_seconds, row.updated_at, row.updated_by)


def get_recording(db: Database, camera_id: int) -> Recording:
    with db.reading() as session:
        if session.get(Camera, camera_id) is None:
            raise not_found("카메라", "camera", camera_id, field="camera_id")
        return Recording.of(session.get(RecordingSetting, camera_id), camera_id)


def set_recording(db: Database, actor: Actor, cmd: SetRecording) -> Recording:
    """Turn central recording of a camera on or off (the recorder picks it up within its poll interval)."""
    check_segment_seconds(cmd.segment_seconds)
    with db.uow() as uow:
        session = uow.session
        camera = session.get(Camera, cmd.camera_id)
        if camera is None:
            raise not_found("카메라", "camera", cmd.camera_id, field="camera_id")
        if cmd.enabled and not camera.stream_url:
            raise Conflict(
                "영상 주소가 없는 카메라는 녹화할 수 없습니다",
                "a camera without a stream address cannot record",
                field="stream_url",
            )
        row = session.get(RecordingSetting, cmd.camera_id)
        before = Recording.of(row, cmd.camera_id)
        if row is None:
            row = RecordingSetting(camera_id=cmd.camera_id)
            session.add(row)
        row.enabled, row.segment_seconds = cmd.enabled, cmd.segment_seconds
        row.updated_at, row.updated_by = utcnow(), actor.name
        session.flush()
        after = Recording.of(row, cmd.camera_id)
        AuditLog(session).append(
            actor,
            Change(
                "video.recording.set",
                "camera",
                cmd.camera_id,
                {"enabled": before.enabled, "segment_seconds": before.segment_seconds},
                {"enabled": after.enabled, "segment_seconds": after.segment_seconds},
            ),
        )
        uow.commit()
        return after


# ---- segments ----------------------------------------------------------------------------------


def segments_between(session: Session, camera_id: int, start: datetime, end: datetime) -> list[RecordingSegment]:
    # The longest segment bounds how far before ``start`` an overlapping one can begin.
    earliest = start - timedelta(seconds=MAX_SEGMENT_SECONDS * 2)
    return list(
        session.scalars(
            select(RecordingSegment)
            .where(
                RecordingSegment.camera_id == camera_id,
                RecordingSegment.destroyed_at.is_(None),
                RecordingSegment.started_at >= earliest,
                RecordingSegment.started_at < end,
                RecordingSegment.ended_at > start,
            )
            .order_by(RecordingSegment.started_at)
        )
    )


def list_segments(db: Database, camera_id: int, start: datetime, end: datetime) -> list[RecordingSegment]:
    """When the camera was recorded (times, sizes, digests): metadata only, no pictures."""
    check_range(start, end, max_hours=MAX_LISTING_HOURS)
    with db.reading() as session:
        if session.get(Camera, camera_id) is None:
            raise not_found("카메라", "camera", camera_id, field="camera_id")
        return segments_between(session, camera_id, start, end)


def recorded_windows(
    db: Database, var_dir: Path, camera_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The parts of ``[start, end)``, in clip-sized windows, where the camera has recordings to cut."""
    windows: list[tuple[datetime, datetime]] = []
    with db.reading() as session:
        for at, until in clip_windows(start, end):
            spans = [_span(Path(var_dir), s) for s in segments_between(session, camera_id, at, until)]
            if clips.plan_cut(spans, at, until) is not None:
                windows.append((at, until))
    return windows


# ---- clips -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MakeClip:
    camera_id: int
    start: datetime
    end: datetime
    purpose: str
    kind: str  # a ClipKind: playback | export
    incident_id: int | None = None


def _span(var_dir: Path, s: RecordingSegment) -> clips.Span:
    return clips.Span(s.id, var_dir / s.path, s.started_at, s.ended_at)


def make_clip(db: Database, var_dir: Path, user: User, cmd: MakeClip, *, request_id: str | None = None) -> VideoClip:
    """Cut ``[start, end)`` into one MP4 by stream copy; a playback clip is reused while it lasts.

    Call :func:`authorize` first: this records the clip, not the permission to see it.
    """
    if cmd.kind not in ClipKind:
        raise ValueError(f"unknown clip kind: {cmd.kind}")
    check_range(cmd.start, cmd.end)
    var_dir = Path(var_dir)
    now = utcnow()
    with db.reading() as session:
        camera = session.get(Camera, cmd.camera_id)
        if camera is None:
            raise not_found("카메라", "camera", cmd.camera_id, field="camera_id")
        retention_days = camera.retention_days
        if cmd.kind == ClipKind.playback.code:
            cached = session.scalar(
                select(VideoClip)
                .where(
                    VideoClip.camera_id == cmd.camera_id,
                    VideoClip.kind == ClipKind.playback.code,
                    VideoClip.start_at == cmd.start,
                    VideoClip.end_at == cmd.end,
                    VideoClip.destroyed_at.is_(None),
                    VideoClip.expires_at > now,
                )
                .order_by(VideoClip.id.desc())
                .limit(1)
            )
            if cached is not None and (var_dir / cached.path).exists():
                return cached
        plan = clips.plan_cut(
            [_span(var_dir, s) for s in segments_between(session, cmd.camera_id, cmd.start, cmd.end)],
            cmd.start,
            cmd.end,
        )
    if plan is None:
        raise NotFound(
            "그 시간에 녹화된 영상이 없습니다",
            "nothing was recorded in that time range",
            field="start",
            details={"camera_id": cmd.camera_id},
        )
    rel = Path(CLIP_DIR) / str(cmd.camera_id) / f"{cmd.kind}-{uuid.uuid4().hex}.mp4"
    out = var_dir / rel
    try:
        clips.cut(plan, out)
    except FileNotFoundError as exc:
        raise NotFound(
            "녹화 파일이 없습니다 (파기되었거나 옮겨짐)",
            "recording files are missing (destroyed or moved)",
            field="start",
            details={"problem": str(exc)},
        ) from None
    seconds = clips.mp4_duration(out) or plan.seconds
    keep = PLAYBACK_CACHE if cmd.kind == ClipKind.playback.code else timedelta(days=retention_days or 30)
    actor = actor_of(user, request_id)
    try:
        with db.uow() as uow:
            clip = VideoClip(
                kind=cmd.kind,
                camera_id=cmd.camera_id,
                start_at=plan.covered_from,
                end_at=plan.covered_to,
                path=str(rel),
                bytes=out.stat().st_size,
                sha256=file_sha256(out),
                duration_s=seconds,
                segment_ids="," + ",".join(str(s.id) for s in plan.spans) + ",",
                purpose=cmd.purpose,
                incident_id=cmd.incident_id,
                created_by_id=user.id,
                created_by_name=user.username,
                created_at=now,
                expires_at=now + keep,
            )
            if cmd.kind == ClipKind.playback.code:  # the cache is found again by the range that was asked for
                clip.start_at, clip.end_at = cmd.start, cmd.end
            uow.session.add(clip)
            uow.session.flush()
            AuditLog(uow.session).append(
                actor,
                Change(
                    f"video.clip.{cmd.kind}",
                    "camera",
                    cmd.camera_id,
                    None,
                    {
                        "clip_id": clip.id,
                        "start": plan.covered_from,
                        "end": plan.covered_to,
                        "seconds": round(seconds, 3),
                        "gaps_s": plan.gaps_s,
                        "sha256": clip.sha256,
                        "incident_id": cmd.incident_id,
                    },
                    purpose=cmd.purpose,
                ),
            )
            uow.commit()
            return clip
    except Exception:
        out.unlink(missing_ok=True)  # no row, no file: never an unrecorded copy of personal video
        raise


async def open_clip(
    db: Database,
    policy: Policy,
    var_dir: Path,
    user: User,
    grant: AccessGrant,
    start: datetime,
    end: datetime,
    kind: str,
    *,
    request_id: str | None = None,
    range_start: int | None = None,
) -> VideoClip:
    """The granted playback or export of ``[start, end)``: the clip cut (or the cached one), then its
    ledger row; a clip that cannot be made is an audited failure and no ledger row.

    ``range_start``: the first byte a range request asks for. A later range of a playback already on
    the ledger is the same viewing and writes nothing; a range past the end delivers nothing.
    """
    cmd = MakeClip(grant.camera_id, start, end, grant.purpose, kind, grant.incident_id)
    try:
        clip = await to_thread.run_sync(partial(make_clip, db, var_dir, user, cmd, request_id=request_id))
    except DomainError as exc:
        await _failed(db, grant, exc, request_id)
        raise
    if range_start is not None and range_start >= clip.bytes:
        return clip  # answered 416: no video delivered
    await _delivered(
        db, policy, grant, period_start=clip.start_at, period_end=clip.end_at, continuation=bool(range_start)
    )
    return clip


def get_clip(session: Session, clip_id: int) -> VideoClip:
    clip = session.get(VideoClip, clip_id)
    if clip is None:
        raise not_found("영상 사본", "clip", clip_id, field="clip_id")
    return clip


def read_clip(db: Database, clip_id: int) -> VideoClip:
    with db.reading() as session:
        return get_clip(session, clip_id)


def clip_file(db: Database, var_dir: Path, clip_id: int) -> tuple[VideoClip, Path]:
    """An export or playback clip and its file; a destroyed one is gone (404)."""
    clip = read_clip(db, clip_id)
    path = Path(var_dir) / clip.path
    if clip.destroyed_at is not None or not path.exists():
        raise NotFound("파기된 영상 사본입니다", "the clip was destroyed", field="clip_id")
    return clip, path
