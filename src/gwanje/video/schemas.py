"""Request and response models of the video API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from gwanje.core.schemas import Instant, StrictModel, Timestamp
from gwanje.video import rules

if TYPE_CHECKING:
    from gwanje.video.models import RecordingSegment, VideoClip


# ---- requests ------------------------------------------------------------------------------------


class RecordingUpdate(StrictModel):
    enabled: bool
    segment_seconds: int = Field(default=60, ge=rules.MIN_SEGMENT_SECONDS, le=rules.MAX_SEGMENT_SECONDS)


class ClipCreate(StrictModel):
    start: Instant
    end: Instant


# ---- responses -----------------------------------------------------------------------------------


class RecordingRead(BaseModel):
    """Whether a camera is recorded centrally (a camera never set is ``enabled: false``)."""

    camera_id: int
    enabled: bool
    segment_seconds: int
    updated_at: Timestamp | None
    updated_by: str | None

    @classmethod
    def of(cls, recording: Any) -> RecordingRead:  # a video.service.Recording (schemas do not import services)
        return cls(
            camera_id=recording.camera_id,
            enabled=recording.enabled,
            segment_seconds=recording.segment_seconds,
            updated_at=recording.updated_at,
            updated_by=recording.updated_by,
        )


class SegmentRead(BaseModel):
    """One stored segment: when, how long, how big and its SHA-256 (no pictures)."""

    id: int
    camera_id: int
    started_at: Timestamp
    ended_at: Timestamp
    seconds: float
    bytes: int
    sha256: str | None
    video_codec: str | None

    @classmethod
    def of(cls, s: RecordingSegment) -> SegmentRead:
        return cls(
            id=s.id,
            camera_id=s.camera_id,
            started_at=s.started_at,
            ended_at=s.ended_at,
            seconds=round(s.duration_s, 3),
            bytes=s.bytes,
            sha256=s.sha256,
            video_codec=s.video_codec,
        )


class SegmentList(BaseModel):
    items: list[SegmentRead]


class ClipRead(BaseModel):
    """A clip cut from the recording: a playback cache or an export copy."""

    id: int
    kind: str = Field(description="playback | export")
    camera_id: int
    start_at: Timestamp
    end_at: Timestamp
    seconds: float
    bytes: int
    sha256: str
    purpose: str
    incident_id: int | None
    created_by: str
    created_at: Timestamp
    expires_at: Timestamp
    destroyed_at: Timestamp | None

    @classmethod
    def fields_of(cls, c: VideoClip) -> dict:
        return {
            "id": c.id,
            "kind": c.kind,
            "camera_id": c.camera_id,
            "start_at": c.start_at,
            "end_at": c.end_at,
            "seconds": round(c.duration_s, 3),
            "bytes": c.bytes,
            "sha256": c.sha256,
            "purpose": c.purpose,
            "incident_id": c.incident_id,
            "created_by": c.created_by_name,
            "created_at": c.created_at,
            "expires_at": c.expires_at,
            "destroyed_at": c.destroyed_at,
        }

    @classmethod
    def of(cls, c: VideoClip) -> ClipRead:
        return cls(**cls.fields_of(c))


class ClipExported(ClipRead):
    download: str = Field(description="Where to download the copy (authorised and audited like the export)")

    @classmethod
    def of_export(cls, c: VideoClip, purpose: str) -> ClipExported:
        return cls(**cls.fields_of(c), download=f"/api/video/clips/{c.id}/file?purpose={purpose}")


class TranscoderRead(BaseModel):
    camera_id: int
    viewers: int


class LiveStatusRead(BaseModel):
    """Which cameras have a running live transcoder, and how many viewers each."""

    transcoders: list[TranscoderRead]

    @classmethod
    def of(cls, transcoders: list[Any]) -> LiveStatusRead:  # video.service.Transcoder rows
        return cls(transcoders=[TranscoderRead(camera_id=t.camera_id, viewers=t.viewers) for t in transcoders])
