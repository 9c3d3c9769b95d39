"""Retention: recordings and exported clips past their period are destroyed, unless held.

The decision is the access module's pure ``retention.due_for_destruction`` (period from the
camera's ``retention_days``, or the policy default; an unreleased hold on a recorded legal basis
keeps the object). Holds that apply:

* a recorded segment — ``("recording", "<segment id>")`` and ``("camera", "<camera id>")``;
* an exported clip — ``("export", "<clip id>")`` and ``("camera", "<camera id>")``.

A segment's period runs from the end of its recording. Playback clips are only a cache of
recordings that still exist and go when their hour is up.

Order per object: delete the file, record the destruction (ledger row + audit, through
``access.retention.service.record_destruction``), then mark the row destroyed. A crash in between
leaves a row whose file is gone; the next pass records it again rather than leaving a destruction
unrecorded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from gwanje.access.retention import rules
from gwanje.access.retention import service as access
from gwanje.core.audit import Actor, AuditLog, Change
from gwanje.core.clock import utcnow
from gwanje.core.db import Database
from gwanje.policy.model import Policy
from gwanje.registry.models import Camera
from gwanje.video.choices import ClipKind
from gwanje.video.models import RecordingSegment, VideoClip

log = logging.getLogger(__name__)

BATCH = 500
ACTOR = Actor.system("system:retention")


@dataclass
class RetentionReport:
    destroyed_segments: list[int] = field(default_factory=list)
    destroyed_clips: list[int] = field(default_factory=list)
    held_segments: list[int] = field(default_factory=list)
    held_clips: list[int] = field(default_factory=list)
    expired_playback: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: list(v) for k, v in self.__dict__.items()}


def retention_days_of(camera_days: int | None, policy: Policy) -> int:
    return camera_days if camera_days and camera_days > 0 else policy.retention.default_days


def _delete(path: Path) -> None:
    path.unlink(missing_ok=True)


def run_retention(
    db: Database, policy: Policy, var_dir: Path, *, now: datetime | None = None, actor: Actor = ACTOR
) -> RetentionReport:
    """One pass over everything old enough to possibly be due; safe to run at any time, repeatedly.

    Run by ``gwanje retention`` and by the recorder's loop, which wire the database and the policy.
    """
    now = now or utcnow()
    var_dir = Path(var_dir)
    report = RetentionReport()
    min_days = 1  # due_for_destruction refuses periods under one day: nothing younger can be due

    # ---- recorded segments ---------------------------------------------------------------
    last_id = 0
    while True:
        with db.reading() as session:
            rows = session.execute(
                select(RecordingSegment, Camera.retention_days)
                .join(Camera, Camera.id == RecordingSegment.camera_id)
                .where(
                    RecordingSegment.destroyed_at.is_(None),
                    RecordingSegment.id > last_id,
                    RecordingSegment.ended_at < now - timedelta(days=min_days),
                )
                .order_by(RecordingSegment.id)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            last_id = rows[-1][0].id
            seg_holds = access.active_holds(session, "recording", [str(s.id) for s, _ in rows])
            cam_holds = access.active_holds(session, "camera", sorted({str(s.camera_id) for s, _ in rows}))
        for segment, camera_days in rows:
            days = retention_days_of(camera_days, policy)
            holds = seg_holds.get(str(segment.id), []) + cam_holds.get(str(segment.camera_id), [])
            decision = rules.due_for_destruction(segment.ended_at, days, holds, now)
            if not decision.due:
                if decision.held_by:
                    report.held_segments.append(segment.id)
                continue
            try:
                _delete(var_dir / segment.path)
                access.record_destruction(
                    db,
                    policy,
                    actor,
                    object_type="recording",
                    object_id=str(segment.id),
                    camera_ids=[segment.camera_id],
                    period_start=segment.started_at,
                    period_end=segment.ended_at,
                    created_at=segment.ended_at,
                    retention_days=days,
                    now=now,
                )
                _mark(db, RecordingSegment, segment.id, now, decision.reason_en)
                report.destroyed_segments.append(segment.id)
            except Exception as exc:  # logged and reported: one bad file must not stop the pass
                log.exception("cannot destroy segment %s", segment.id)
                report.errors.append(f"segment {segment.id}: {exc}")

    # ---- clips -------------------------------------------------------------------------------
    with db.reading() as session:
        rows = session.execute(
            select(VideoClip, Camera.retention_days)
            .join(Camera, Camera.id == VideoClip.camera_id)
            .where(VideoClip.destroyed_at.is_(None), VideoClip.expires_at <= now)
            .order_by(VideoClip.id)
        ).all()
        export_ids = [str(c.id) for c, _ in rows if c.kind == ClipKind.export.code]
        clip_holds = access.active_holds(session, "export", export_ids)
        cam_holds = access.active_holds(session, "camera", sorted({str(c.camera_id) for c, _ in rows}))
    for clip, camera_days in rows:
        try:
            if clip.kind == ClipKind.playback.code:
                _delete(var_dir / clip.path)
                _mark(db, VideoClip, clip.id, now, "playback cache expired", audit_actor=actor)
                report.expired_playback.append(clip.id)
                continue
            days = retention_days_of(camera_days, policy)
            holds = clip_holds.get(str(clip.id), []) + cam_holds.get(str(clip.camera_id), [])
            decision = rules.due_for_destruction(clip.created_at, days, holds, now)
            if not decision.due:
                if decision.held_by:
                    report.held_clips.append(clip.id)
                continue
            _delete(var_dir / clip.path)
            access.record_destruction(
                db,
                policy,
                actor,
                object_type="export",
                object_id=str(clip.id),
                camera_ids=[clip.camera_id],
                period_start=clip.start_at,
                period_end=clip.end_at,
                created_at=clip.created_at,
                retention_days=days,
                now=now,
            )
            _mark(db, VideoClip, clip.id, now, decision.reason_en)
            report.destroyed_clips.append(clip.id)
        except Exception as exc:  # logged and reported, as above
            log.exception("cannot destroy clip %s", clip.id)
            report.errors.append(f"clip {clip.id}: {exc}")

    if report.destroyed_segments or report.destroyed_clips:
        log.info(
            "retention: destroyed %d segments and %d clips; %d segments and %d clips held",
            len(report.destroyed_segments),
            len(report.destroyed_clips),
            len(report.held_segments),
            len(report.held_clips),
        )
    return report


def _mark(db: Database, model: type, row_id: int, now: datetime, reason: str, audit_actor: Actor | None = None) -> None:
    with db.uow() as uow:
        row = uow.session.get(model, row_id)
        row.destroyed_at, row.destroyed_reason = now, reason[:300]
        if audit_actor is not None:  # a playback cache is not in the ledger (its recording is); audit it still
            AuditLog(uow.session).append(
                audit_actor,
                Change("video.clip.expired", "clip", row_id, None, {"camera_id": row.camera_id, "reason": reason}),
            )
        uow.commit()
