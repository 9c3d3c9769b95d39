"""Evidence masking benchmark: face-masking throughput at 720p and 1080p beside plain ffmpeg.

    .venv/bin/python bench/video_masking.py [--seconds 8] [--repeat 3] [--detector haar]

The clip is the shared CCTV sample (intel one-by-one-person-detection, 768×432, 10 fps) sped up
to 30 fps (every output frame a distinct source frame, so the encoder gets no free duplicates)
and scaled to 1280×720 and 1920×1080 once, untimed. On each clip, in the same run and
interleaved round by round so that machine load hits both alike:

* anchor: plain ffmpeg decode + libx264 encode of the same clip to MP4 (same preset and CRF);
* ours: the export path — ffmpeg decode → raw yuv420p → face detection (~6 per second of video,
  downscaled to 640 px) and mosaic in Python → ffmpeg encode with the watermark burned in.

Frames/s is frames of the clip divided by wall time, median of ``--repeat`` rounds.
Prints a table, then one JSON object per figure per line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gwanje.evidence import masking  # noqa: E402
from gwanje.evidence.watermark import Watermark  # noqa: E402

SOURCE = ROOT.parent / "shared" / "data" / "video" / "intel_one-by-one-person-detection.mp4"
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
ANCHOR = "plain ffmpeg decode + libx264 {preset} encode of the same clip (one process)"
MARK = Watermark("성동서-2026-117", "김수사 (성동경찰서)", "EV-20261126-BENCH1")


def prepare(source: Path, out: Path, size: tuple[int, int], seconds: float) -> Path:
    w, h = size
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-t",
            str(seconds * 3),
            "-i",
            str(source),
            "-vf",
            f"setpts=PTS/3,scale={w}:{h}",
            "-r",
            "30",
            "-an",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "20",
            "-pix_fmt",
            "yuv420p",
            str(out),
        ],
        check=True,
    )
    return out


def measure(clip: Path, work: Path, repeat: int, detector: str, preset: str) -> dict:
    frames = masking.probe(clip).frames or 0
    anchor, ours, detect_share = [], [], []
    report = None
    for _ in range(repeat):
        seconds = masking.transcode(clip, work / "anchor.mp4", preset=preset)
        anchor.append(frames / seconds)
        report = masking.mask_video(
            clip, work / "masked.mp4", detector=masking.make_detector(detector), watermark=MARK, preset=preset
        )
        ours.append(report.fps)
        detect_share.append(report.detect_seconds / report.seconds)
    assert report is not None
    return {
        "frames": frames,
        "anchor_fps": statistics.median(anchor),
        "fps": statistics.median(ours),
        "anchor_runs": anchor,
        "runs": ours,
        "detect_share": statistics.median(detect_share),
        "stride": report.stride,
        "keyframes": report.keyframes,
        "faces": report.faces_detected,
        "detector": report.detector,
    }


def run(
    seconds: float = 8.0, repeat: int = 3, detector: str = "haar", preset: str = "veryfast", source: Path = SOURCE
) -> dict[str, dict]:
    results = {}
    with tempfile.TemporaryDirectory(prefix="gwanje-bench-mask-") as tmp:
        work = Path(tmp)
        for label, size in SIZES.items():
            clip = prepare(source, work / f"clip-{label}.mp4", size, seconds)
            results[label] = measure(clip, work, repeat, detector, preset)
    return results


def figures(results: dict[str, dict], preset: str = "veryfast") -> list[dict]:
    out = []
    for label, target in (("720p", 30), ("1080p", None)):
        r = results[label]
        out.append(
            {
                "name": f"masking fps @{label}",
                "value": round(r["fps"], 1),
                "unit": "frames/s",
                "better": "higher",
                "anchor": ANCHOR.format(preset=preset),
                "anchor_value": round(r["anchor_fps"], 1),
                "target": target,
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="clip length at 30 fps")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--detector", default="haar", choices=masking.DETECTORS)
    parser.add_argument("--preset", default="veryfast", help="libx264 preset, for both anchor and ours")
    args = parser.parse_args()
    load = os.getloadavg()
    print(
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
        f"ffmpeg {masking.ffmpeg_version()}"
    )
    results = run(args.seconds, args.repeat, args.detector, args.preset)
    print()
    print(f"{'figure':<24}{'ours':>10}{'anchor':>10}{'ours/anchor':>13}   detector share, stride, keyframes")
    for label, r in results.items():
        print(
            f"{'masking fps @' + label:<24}{r['fps']:>10.1f}{r['anchor_fps']:>10.1f}"
            f"{r['fps'] / r['anchor_fps']:>13.2f}   {r['detect_share']:.0%}, every {r['stride']}, "
            f"{r['keyframes']} of {r['frames']} frames"
        )
    print(
        "runs: "
        + "; ".join(
            f"{k} ours {[round(x, 1) for x in r['runs']]} anchor {[round(x, 1) for x in r['anchor_runs']]}"
            for k, r in results.items()
        )
    )
    print(f"detector: {results['720p']['detector']}")
    print()
    for f in figures(results, args.preset):
        print(json.dumps(f, ensure_ascii=False))


if __name__ == "__main__":
    main()
