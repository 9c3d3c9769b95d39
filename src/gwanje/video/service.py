"""Video use cases: who may see which camera (through ``gwanje.access``), recording settings,
segment listings, playback and export clips.

Every use case that hands out pictures first calls :func:`authorize` — purpose-bound, audited by
the access module, refused with the clause that forbids it. Only these functions commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gwanje.accounts.models import User
from gwanje.accounts.service import actor_of
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database, UnitOfWork
from gwanje.core.errors import Conflict, Forbidden, NotFound, ValidationFailed, not_found
from gwanje.policy.model import Policy
from gwanje.registry.models import Camera
from gwanje.video import clips
from gwanje.video.models import DEFAULT_SEGMENT_SECONDS, RecordingSegment, RecordingSetting, VideoClip
from gwanje.core.files import file_sha256

MIN_SEGMENT_SECONDS = 2
MAX_SEGMENT_SECONDS = 3600
MAX_CLIP_HOURS = 6
PLAYBACK_CACHE = timedelta(hours=1)  # a playback clip is a cache; the recording stays the original
CLIP_DIR = "clips"


# ---- access ------------------------------------------------------------------------------------


def authorize(db: Database, policy: Policy, user: User, camera_id: int, purpose: str, action: str, *,
              incident_id: int | None = None, provision_id: int | None = None, request_id: str | None = None):  # noqa: ANN201
    """``gwanje.access.service.authorize_video``; refuses (fails closed) where that module is absent."""
    try:
        from gwanje.access import service as access
    except ImportError:
        raise Forbidden("영상 접근 통제 모듈이 설치되지 않아 영상을 열 수 없습니다",
                        "video access control is not installed; video cannot be opened") from None
    kwargs: dict[str, Any] = {"incident_id": incident_id, "request_id": request_id}
    if provision_id is not None:
        kwargs["provision_id"] = provision_id
    return access.authorize_video(db, policy, user, camera_id, purpose, action, **kwargs)


def grant_still_valid(db: Database, policy: Policy, grant) -> bool:  # noqa: ANN001
    from gwanje.access import service as access

    return access.grant_still_valid(db, policy, grant)


def stream_source(db: Database, camera_id: int) -> str:
    """The camera's registered address (RTSP, or an ONVIF device service resolved later)."""
    with db.reading() as session:
        camera = session.get(Camera, camera_id)
        if camera is None:
            raise not_found("카메라", "camera", camera_id, field="camera_id")
        if camera.status == "retired":
            raise Conflict("철거된 카메라입니다", "the camera is retired", field="camera_id")
        if not camera.stream_url:
            raise Conflict("영상 주소가 등록되지 않은 카메라입니다", "the camera has no stream address",
                           field="stream_url")
        return camera.stream_url


# ---- recording settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class SetRecording:
    camera_id: int
    enabled: bool
    segment_seconds: int = DEFAULT_SEGMENT_SECONDS


def recording_dict(row: RecordingSetting | None, camera_id: int) -> dict[str, Any]:
    if row is None:
        return {"camera_id": camera_id, "enabled": False, "segment_seconds": DEFAULT_SEGMENT_SECONDS,
                "updated_at": None, "updated_by": None}
    return {"camera_id": row.camera_id, "enabled": row.enabled, "segment_seconds": row.segment_seconds,
            "updated_at": row.updated_at, "updated_by": row.updated_by}


def get_recording(session: Session, camera_id: int) -> dict[str, Any]:
    if session.get(Camera, camera_id) is None:
        raise not_found("카메라", "camera", camera_id, field="camera_id")
    return recording_dict(session.get(RecordingSetting, camera_id), camera_id)


def set_recording(uow: UnitOfWork, actor: Actor, cmd: SetRecording) -> dict[str, Any]:
    if not MIN_SEGMENT_SECONDS <= cmd.segment_seconds <= MAX_SEGMENT_SECONDS:
        raise ValidationFailed(f"세그먼트 길이는 {MIN_SEGMENT_SECONDS}~{MAX_SEGMENT_SECONDS}초입니다",
                               f"segment length must be {MIN_SEGMENT_SECONDS}–{MAX_SEGMENT_SECONDS} s",
                               field="segment_seconds")
    session = uow.session
    camera = session.get(Camera, cmd.camera_id)
    if camera is None:
        raise not_found("카메라", "camera", cmd.camera_id, field="camera_id")
    if cmd.enabled and not camera.stream_url:
        raise Conflict("영상 주소가 없는 카메라는 녹화할 수 없습니다", "a camera without a stream address cannot record",
                       field="stream_url")
    row = session.get(RecordingSetting, cmd.camera_id)
    before = recording_dict(row, cmd.camera_id)
    if row is None:
        row = RecordingSetting(camera_id=cmd.camera_id)
        session.add(row)
    row.enabled, row.segment_seconds = cmd.enabled, cmd.segment_seconds
    row.updated_at, row.updated_by = utcnow(), actor.name
    session.flush()
    after = recording_dict(row, cmd.camera_id)
    AuditLog(session).append(actor, Change("video.recording.set", "camera", cmd.camera_id,
                                           {k: before[k] for k in ("enabled", "segment_seconds")},
                                           {k: after[k] for k in ("enabled", "segment_seconds")}))
    uow.commit()
    return after


# ---- segments ----------------------------------------------------------------------------------


def check_range(start: datetime, end: datetime, max_hours: float = MAX_CLIP_HOURS) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationFailed("시간대가 있는 시각을 주세요 (예: +09:00)", "give times with a UTC offset (e.g. +09:00)",
                               field="start")
    if end <= start:
        raise ValidationFailed("끝 시각이 시작 시각보다 뒤여야 합니다", "end must be after start", field="end")
    if end - start > timedelta(hours=max_hours):
        raise ValidationFailed(f"한 번에 {max_hours:g}시간까지입니다", f"at most {max_hours:g} hours at a time",
                               field="end")


def segments_between(session: Session, camera_id: int, start: datetime, end: datetime) -> list[RecordingSegment]:
    # The longest segment bounds how far before ``start`` an overlapping one can begin.
    earliest = start - timedelta(seconds=MAX_SEGMENT_SECONDS * 2)
    return list(session.scalars(
        select(RecordingSegment)
        .where(RecordingSegment.camera_id == camera_id, RecordingSegment.destroyed_at.is_(None),
               RecordingSegment.started_at >= earliest, RecordingSegment.started_at < end,
               RecordingSegment.ended_at > start)
        .order_by(RecordingSegment.started_at)))


def segment_dict(s: RecordingSegment) -> dict[str, Any]:
    return {"id": s.id, "camera_id": s.camera_id, "started_at": s.started_at, "ended_at": s.ended_at,
            "seconds": round(s.duration_s, 3), "bytes": s.bytes, "sha256": s.sha256, "video_codec": s.video_codec}


def list_segments(session: Session, camera_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """When the camera was recorded (times, sizes, digests): metadata only, no pictures."""
    check_range(start, end, max_hours=24 * 31)
    if session.get(Camera, camera_id) is None:
        raise not_found("카메라", "camera", camera_id, field="camera_id")
    return [segment_dict(s) for s in segments_between(session, camera_id, start, end)]


# ---- clips -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MakeClip:
    camera_id: int
    start: datetime
    end: datetime
    purpose: str
    kind: str  # playback | export
    incident_id: int | None = None


def clip_dict(c: VideoClip) -> dict[str, Any]:
    return {"id": c.id, "kind": c.kind, "camera_id": c.camera_id, "start_at": c.start_at, "end_at": c.end_at,
            "seconds": round(c.duration_s, 3), "bytes": c.bytes, "sha256": c.sha256, "purpose": c.purpose,
            "incident_id": c.incident_id, "created_by": c.created_by_name, "created_at": c.created_at,
            "expires_at": c.expires_at, "destroyed_at": c.destroyed_at}


def _span(var_dir: Path, s: RecordingSegment) -> clips.Span:
    return clips.Span(s.id, var_dir / s.path, s.started_at, s.ended_at)


def make_clip(db: Database, var_dir: Path, user: User, cmd: MakeClip, *, request_id: str | None = None) -> VideoClip:
    """Cut ``[start, end)`` into one MP4 by stream copy; a playback clip is reused while it lasts.

    Call :func:`authorize` first: this records the clip, not the permission to see it.
    """
    if cmd.kind not in ("playback", "export"):
        raise ValueError(f"unknown clip kind: {cmd.kind}")
    check_range(cmd.start, cmd.end)
    var_dir = Path(var_dir)
    now = utcnow()
    with db.reading() as session:
        camera = session.get(Camera, cmd.camera_id)
        if camera is None:
            raise not_found("카메라", "camera", cmd.camera_id, field="camera_id")
        retention_days = camera.retention_days
        if cmd.kind == "playback":
            cached = session.scalar(select(VideoClip).where(
                VideoClip.camera_id == cmd.camera_id, VideoClip.kind == "playback", VideoClip.start_at == cmd.start,
                VideoClip.end_at == cmd.end, VideoClip.destroyed_at.is_(None), VideoClip.expires_at > now)
                .order_by(VideoClip.id.desc()).limit(1))
            if cached is not None and (var_dir / cached.path).exists():
                return cached
        plan = clips.plan_cut([_span(var_dir, s) for s in segments_between(session, cmd.camera_id, cmd.start, cmd.end)],
                              cmd.start, cmd.end)
    if plan is None:
        raise NotFound("그 시간에 녹화된 영상이 없습니다", "nothing was recorded in that time range", field="start",
                       details={"camera_id": cmd.camera_id})
    rel = Path(CLIP_DIR) / str(cmd.camera_id) / f"{cmd.kind}-{uuid.uuid4().hex}.mp4"
    out = var_dir / rel
    try:
        clips.cut(plan, out)
    except FileNotFoundError as exc:
        raise NotFound("녹화 파일이 없습니다 (파기되었거나 옮겨짐)", "recording files are missing (destroyed or moved)",
                       field="start", details={"problem": str(exc)}) from None
    seconds = clips.mp4_duration(out) or plan.seconds
    keep = PLAYBACK_CACHE if cmd.kind == "playback" else timedelta(days=retention_days or 30)
    actor = actor_of(user, request_id)
    try:
        with db.uow() as uow:
            clip = VideoClip(kind=cmd.kind, camera_id=cmd.camera_id, start_at=plan.covered_from,
                             end_at=plan.covered_to, path=str(rel), bytes=out.stat().st_size, sha256=file_sha256(out),
                             duration_s=seconds, segment_ids="," + ",".join(str(s.id) for s in plan.spans) + ",",
                             purpose=cmd.purpose, incident_id=cmd.incident_id, created_by_id=user.id,
                             created_by_name=user.username, created_at=now, expires_at=now + keep)
            if cmd.kind == "playback":  # the cache is found again by the range that was asked for
                clip.start_at, clip.end_at = cmd.start, cmd.end
            uow.session.add(clip)
            uow.session.flush()
            AuditLog(uow.session).append(actor, Change(
                f"video.clip.{cmd.kind}", "camera", cmd.camera_id, None,
                {"clip_id": clip.id, "start": plan.covered_from, "end": plan.covered_to, "seconds": round(seconds, 3),
                 "gaps_s": plan.gaps_s, "sha256": clip.sha256, "incident_id": cmd.incident_id},
                purpose=cmd.purpose))
            uow.commit()
            return clip
    except Exception:
        out.unlink(missing_ok=True)  # no row, no file: never an unrecorded copy of personal video
        raise


def get_clip(session: Session, clip_id: int) -> VideoClip:
    clip = session.get(VideoClip, clip_id)
    if clip is None:
        raise not_found("영상 사본", "clip", clip_id, field="clip_id")
    return clip


def clip_file(db: Database, var_dir: Path, clip_id: int) -> tuple[VideoClip, Path]:
    with db.reading() as session:
        clip = get_clip(session, clip_id)
    path = Path(var_dir) / clip.path
    if clip.destroyed_at is not None or not path.exists():
        raise NotFound("파기된 영상 사본입니다", "the clip was destroyed", field="clip_id")
    return clip, path
