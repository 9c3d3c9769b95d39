"""Video benchmark: exporting a 60 s clip of 1080p H.264 recording by stream copy.

    .venv/bin/python bench/video_export.py [--repeat 5] [--fresh]

Makes a 90 s 1080p H.264 source once (the sample clip scaled and looped, libx264 veryfast, 15 fps,
keyframe every 2 s like a typical camera) in a temporary folder, cut into 10 s recorded segments
exactly as the recorder stores them (stream copy, fragmented MP4) and indexed in a fresh SQLite
database. Then, ``--repeat`` times each, alternating:

* ours: ``gwanje.video.service.make_clip`` for 60 s from the middle of the recording — the whole
  use case: segment lookup, concat + ``-ss/-to -c copy`` cut, ffprobe, SHA-256, row and audit entry;
* anchor: ffmpeg's own stream-copy cut of the same 60 s from the unsegmented source file
  (``ffmpeg -ss 15 -to 75 -i src.mp4 -map 0:v:0 -c copy -movflags +faststart out.mp4``).

Prints a table, then one JSON object per figure per line.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SAMPLE = ROOT.parent / "shared" / "data" / "video" / "intel_one-by-one-person-detection.mp4"
WORK = Path(tempfile.gettempdir()) / "gwanje-bench-video"
SOURCE_SECONDS = 90
CLIP_FROM, CLIP_TO = 15.0, 75.0
SEGMENT_SECONDS = 10
T0 = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def make_source(fresh: bool) -> Path:
    src = WORK / "src_1080p.mp4"
    if src.exists() and not fresh:
        return src
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"encoding {SOURCE_SECONDS} s of 1080p H.264 once into {src} …", file=sys.stderr)
    run(
        [
            "ffmpeg",
            "-y",
            "-hide_banner",
            "-loglevel",
            "error",
            "-stream_loop",
            "-1",
            "-i",
            str(SAMPLE),
            "-t",
            str(SOURCE_SECONDS),
            "-map",
            "0:v:0",
            "-an",
            "-vf",
            "scale=1920:1080,fps=15",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-g",
            "30",
            "-pix_fmt",
            "yuv420p",
            str(src) + ".part.mp4",
        ]
    )
    Path(str(src) + ".part.mp4").replace(src)
    return src


def make_recording(src: Path, var_dir: Path):  # noqa: ANN201
    """Segments as the recorder writes them, indexed in a fresh database; returns (db, user, camera id)."""
    from gwanje.accounts import service as accounts
    from gwanje.core.audit import Actor
    from gwanje.core.db import Database
    from gwanje.core.migrate import upgrade
    from gwanje.policy import load_default
    from gwanje.registry import service as registry
    from gwanje.registry.schemas import CameraCreate
    from gwanje.video import models  # noqa: F401
    from gwanje.video.recorder import MP4_FLAGS, index_segment, recordings_dir

    policy = load_default()
    db = Database(f"sqlite:///{var_dir / 'bench.db'}")
    upgrade(db.engine)
    with db.uow() as uow:
        cam = registry.create_camera(
            uow,
            Actor.system("bench"),
            policy,
            CameraCreate(
                management_number="BENCH-1080P",
                department="autonomous_admin",
                primary_purpose="crime_prevention",
                latitude=37.56,
                longitude=127.04,
                site={"road_address": "서울특별시 성동구 벤치"},
                stream_url="rtsp://127.0.0.1/bench",
                installed_by="district",
            ),
        )
        uow.commit()
        camera_id = cam.id
    with db.uow() as uow:
        user, _ = accounts.add_user(
            uow,
            Actor.system("bench"),
            policy,
            accounts.NewUser(
                username="bench", display_name="bench", role="monitoring_agent", password="correct-horse-battery"
            ),
        )
        uow.commit()
    folder = recordings_dir(var_dir, camera_id)
    folder.mkdir(parents=True)
    listing = var_dir / "list.csv"
    run(
        [
            "ffmpeg",
            "-y",
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            str(src),
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-f",
            "segment",
            "-segment_time",
            str(SEGMENT_SECONDS),
            "-reset_timestamps",
            "1",
            "-segment_format",
            "mp4",
            "-segment_format_options",
            MP4_FLAGS,
            "-segment_list",
            str(listing),
            "-segment_list_type",
            "csv",
            str(folder / "bench-%06d.mp4"),
        ]
    )
    with listing.open() as fh:
        for name, start, end in csv.reader(fh):
            index_segment(
                db,
                var_dir,
                camera_id,
                folder / name,
                T0 + timedelta(seconds=float(start)),
                T0 + timedelta(seconds=float(end)),
                "h264",
            )
    return db, user, camera_id


def duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip())


def ours(db, user, camera_id: int, var_dir: Path) -> tuple[float, float]:  # noqa: ANN001
    from gwanje.video import service

    cmd = service.MakeClip(
        camera_id, T0 + timedelta(seconds=CLIP_FROM), T0 + timedelta(seconds=CLIP_TO), "crime_prevention", "export"
    )
    started = time.perf_counter()
    clip = service.make_clip(db, var_dir, user, cmd)
    elapsed = time.perf_counter() - started
    return elapsed, duration(var_dir / clip.path)


def anchor(src: Path, out: Path) -> tuple[float, float]:
    started = time.perf_counter()
    run(
        [
            "ffmpeg",
            "-y",
            "-hide_banner",
            "-loglevel",
            "error",
            "-ss",
            str(CLIP_FROM),
            "-to",
            str(CLIP_TO),
            "-i",
            str(src),
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            str(out),
        ]
    )
    elapsed = time.perf_counter() - started
    return elapsed, duration(out)


def figure(
    name: str, value: float, unit: str, better: str, anchor_name: str, anchor_value: float, target: float | None
) -> dict:
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "better": better,
        "anchor": anchor_name,
        "anchor_value": round(anchor_value, 3),
        "target": target,
    }


def export_figure(repeat: int = 5, fresh: bool = False) -> dict:
    """The ``export s 60s-1080p`` figure (median of ``repeat`` runs), with its anchor."""
    src = make_source(fresh)
    with tempfile.TemporaryDirectory(prefix="gwanje-bench-") as tmp:
        var_dir = Path(tmp)
        db, user, camera_id = make_recording(src, var_dir)
        mine, theirs = [], []
        for i in range(repeat):
            order = (0, 1) if i % 2 == 0 else (1, 0)
            for which in order:
                if which == 0:
                    mine.append(ours(db, user, camera_id, var_dir))
                else:
                    theirs.append(anchor(src, var_dir / f"anchor-{i}.mp4"))
        db.dispose()
    for label, runs in (("ours", mine), ("anchor", theirs)):
        bad = [d for _, d in runs if abs(d - (CLIP_TO - CLIP_FROM)) > 1.0]
        if bad:
            raise SystemExit(f"{label}: clip durations off by more than 1 s: {bad}")
    result = figure(
        "export s 60s-1080p",
        statistics.median(t for t, _ in mine),
        "s",
        "lower",
        "ffmpeg -ss 15 -to 75 -c copy on the unsegmented 1080p file (same machine, same run)",
        statistics.median(t for t, _ in theirs),
        2.0,
    )
    result["clip_s"] = round(statistics.median(d for _, d in mine), 3)
    result["anchor_clip_s"] = round(statistics.median(d for _, d in theirs), 3)
    result["source_mib"] = round(src.stat().st_size / 1048576, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="re-encode the 1080p source")
    args = parser.parse_args()
    fig = export_figure(args.repeat, args.fresh)
    print(f"{'figure':<24}{'ours':>10}{'anchor':>10}{'ours/anchor':>13}{'clip s':>9}")
    print(
        f"{fig['name']:<24}{fig['value']:>10.3f}{fig['anchor_value']:>10.3f}"
        f"{fig['value'] / fig['anchor_value']:>13.2f}{fig['clip_s']:>9.2f}"
    )
    print(
        json.dumps(
            {k: fig[k] for k in ("name", "value", "unit", "better", "anchor", "anchor_value", "target")},
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
