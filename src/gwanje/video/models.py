"""Video tables: which cameras record, the stored segments, and cut clips (playback and export).

Files live under ``settings.var_dir / "recordings" / <camera id>`` and ``… / "clips"``; the
rows keep the path relative to ``var_dir`` so that the folder can move. Destroyed rows stay, with
when and why, so that every destruction remains on record (the files are gone).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gwanje.core.db import Base, UTCDateTime

DEFAULT_SEGMENT_SECONDS = 60


class RecordingSetting(Base):
    """Whether a camera is recorded centrally, and how long each stored segment is."""

    __tablename__ = "video_recording_settings"

    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    segment_seconds: Mapped[int] = mapped_column(Integer, nullable=False, default=DEFAULT_SEGMENT_SECONDS)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_by: Mapped[str | None] = mapped_column(String(200))


class RecordingSegment(Base):
    """One stored file of a camera's recording, written by stream copy (no re-encode)."""

    __tablename__ = "video_segments"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="RESTRICT"), nullable=False)
    path: Mapped[str] = mapped_column(String(500), nullable=False, unique=True)  # relative to var_dir
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str | None] = mapped_column(String(64))
    video_codec: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destroyed_reason: Mapped[str | None] = mapped_column(String(300))

    # Playback asks "this camera, overlapping [start, end]"; retention asks "oldest not destroyed".
    __table_args__ = (
        Index("ix_video_segments_camera_started", "camera_id", "started_at"),
        Index("ix_video_segments_destroyed_ended", "destroyed_at", "ended_at"),
    )

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


class VideoClip(Base):
    """A time range cut from the segments into one MP4: a playback cache or an export copy."""

    __tablename__ = "video_clips"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # playback | export
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id", ondelete="RESTRICT"), nullable=False)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    path: Mapped[str] = mapped_column(String(500), nullable=False, unique=True)  # relative to var_dir
    bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    duration_s: Mapped[float] = mapped_column(Float, nullable=False)
    segment_ids: Mapped[str] = mapped_column(Text, nullable=False)  # ",1,2,3,"
    purpose: Mapped[str] = mapped_column(String(40), nullable=False)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_by_name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destroyed_reason: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (Index("ix_video_clips_lookup", "camera_id", "kind", "start_at", "end_at"),)
