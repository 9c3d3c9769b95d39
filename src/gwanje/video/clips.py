"""Clips: a time range cut from a camera's recorded segments into one MP4, by stream copy.

The overlapping segments are joined with ffmpeg's concat demuxer and the range is cut with
``-ss``/``-to`` and ``-c copy``: no re-encode, so an export is the camera's own pictures and takes
seconds, not minutes. Without re-encoding a cut can only begin on a keyframe; the MP4 edit list
hides the frames before ``-ss``, so players start at the requested moment.

Wall-clock times map to the concat timeline by the segments' own durations; where the recording
has a gap, the gap is skipped (the clip is shorter than asked, and :class:`CutPlan` says so).
"""

from __future__ import annotations

import struct
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from gwanje.video import FFMPEG_TIMEOUT_S, ffmpeg_bin

MIN_CLIP_SECONDS = 1.0
GAP_TOLERANCE_S = 1.0  # closer segments count as contiguous (the recorder's anchor is not exact)


@dataclass(frozen=True)
class Span:
    """What a cut needs to know of a segment (a ``RecordingSegment`` or any look-alike)."""

    id: int
    path: Path
    started_at: datetime
    ended_at: datetime

    @property
    def seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class CutPlan:
    spans: tuple[Span, ...]
    ss: float  # seconds into the joined segments
    to: float
    gaps_s: float  # recording missing inside the range
    covered_from: datetime
    covered_to: datetime

    @property
    def seconds(self) -> float:
        return self.to - self.ss


def plan_cut(segments: Sequence[Span], start: datetime, end: datetime) -> CutPlan | None:
    """Which segments, and where to cut in their concatenation; ``None`` if nothing was recorded then."""
    if end <= start:
        raise ValueError("end must be after start")
    spans = sorted(
        (s for s in segments if s.ended_at > start and s.started_at < end and s.seconds > 0), key=lambda s: s.started_at
    )
    # Overlapping rows (a restart re-recording the same seconds) would play twice: keep the first.
    kept: list[Span] = []
    for span in spans:
        if kept and span.started_at < kept[-1].ended_at - timedelta(seconds=GAP_TOLERANCE_S):
            continue
        kept.append(span)
    if not kept:
        return None
    first, last = kept[0], kept[-1]
    covered_from = max(start, first.started_at)
    covered_to = min(end, last.ended_at)
    ss = (covered_from - first.started_at).total_seconds()
    offset = 0.0
    to = 0.0
    gaps = max(0.0, (first.started_at - start).total_seconds()) + max(0.0, (end - last.ended_at).total_seconds())
    for i, span in enumerate(kept):
        if i:
            gap = (span.started_at - kept[i - 1].ended_at).total_seconds()
            if gap > GAP_TOLERANCE_S:
                gaps += gap
        if span is last:
            to = offset + (covered_to - span.started_at).total_seconds()
        offset += span.seconds
    if to - ss < MIN_CLIP_SECONDS / 2:
        return None
    return CutPlan(tuple(kept), round(ss, 3), round(to, 3), round(gaps, 3), covered_from, covered_to)


def concat_list(paths: Sequence[Path]) -> str:
    lines = []
    for path in paths:
        quoted = str(Path(path).resolve()).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
    return "\n".join(lines) + "\n"


def cut_command(list_file: Path, ss: float, to: float, out: Path) -> list[str]:
    return [
        ffmpeg_bin(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-y",
        "-ss",
        f"{ss:.3f}",
        "-to",
        f"{to:.3f}",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        str(list_file),
        "-map",
        "0:v:0",
        "-an",
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        str(out),
    ]


def cut(plan: CutPlan, out: Path, *, timeout_s: float | None = None) -> Path:
    """Write the planned range to ``out`` (MP4) by stream copy."""
    out.parent.mkdir(parents=True, exist_ok=True)
    missing = [str(s.path) for s in plan.spans if not Path(s.path).exists()]
    if missing:
        raise FileNotFoundError("segment files missing: " + ", ".join(missing[:3]))
    partial = out.with_name(out.name + ".part.mp4")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", dir=out.parent, delete=False) as fh:
        fh.write(concat_list([s.path for s in plan.spans]))
        list_file = Path(fh.name)
    try:
        timeout = timeout_s or max(FFMPEG_TIMEOUT_S, 5 * len(plan.spans))
        result = subprocess.run(cut_command(list_file, plan.ss, plan.to, partial), capture_output=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError("ffmpeg cut failed: " + result.stderr[-400:].decode(errors="replace").strip())
        partial.replace(out)  # readers never see half a file
        return out
    finally:
        list_file.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)


def mp4_duration(path: Path) -> float | None:
    """Presentation length from the MP4's ``moov/mvhd`` (edit lists included), without starting ffprobe."""
    try:
        with Path(path).open("rb") as fh:
            end = Path(path).stat().st_size
            return _find_mvhd(fh, 0, end)
    except (OSError, struct.error):
        return None


def _find_mvhd(fh, start: int, end: int) -> float | None:  # noqa: ANN001
    pos = start
    while pos + 8 <= end:
        fh.seek(pos)
        size, kind = struct.unpack(">I4s", fh.read(8))
        header = 8
        if size == 1:
            size = struct.unpack(">Q", fh.read(8))[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            return None
        if kind == b"moov":
            return _find_mvhd(fh, pos + header, pos + size)
        if kind == b"mvhd":
            version = fh.read(1)[0]
            fh.read(3)
            if version == 1:
                _, _, timescale, duration = struct.unpack(">QQIQ", fh.read(28))
            else:
                _, _, timescale, duration = struct.unpack(">IIII", fh.read(16))
            return duration / timescale if timescale else None
        pos += size
    return None
