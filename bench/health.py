"""Health-check benchmark (issue 11): one sweep over many camera streams, and the picture checks' rate.

    .venv/bin/python bench/health.py [--cameras 1069] [--concurrency 128] [--frames 2000]

* ``health sweep s @N``: the RTSP test server (``gwanje/video/rtsp_test_server.py --repeat N``) serves
  one generated source (320x180 H.264, 10 frames/s, a keyframe every second, like a small camera
  substream) at N mount points ``/cam0001`` …; ``gwanje.maintenance.health.service.sweep`` probes them
  all (4 frames at 2 frames/s each, ffmpeg to raw grey), at most ``--concurrency`` at once. Target ≤ 60 s
  at 1,069. Anchor, same run: one probe's time × N / concurrency — the sweep if it were perfectly
  parallel at that bound and the machine never the limit.
* ``picture checks frames/s``: ``rules.check_pictures`` on groups of 4 frames of the sample clip
  decoded at its full 768x432 (BGR, as OpenCV gives them; the downscale is part of the check), with a
  reference frame. Target ≥ 200. Anchor, same run: a bare numpy mean over the same frames.

Prints a table, then one JSON object per figure per line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from gwanje.maintenance.health import rules, service  # noqa: E402

SAMPLE = ROOT.parent / "shared" / "data" / "video" / "intel_one-by-one-person-detection.mp4"
SERVER = ROOT / "src" / "gwanje" / "video" / "rtsp_test_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"
WORK = Path(tempfile.gettempdir()) / "gwanje-bench-health"


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


def source() -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    out = WORK / "cam-320x180.mp4"
    if not out.exists():
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=10:d=20", "-an"]
            + ["-c:v", "libx264", "-preset", "veryfast", "-g", "10", "-pix_fmt", "yuv420p", str(out)],
            check=True,
            timeout=120,
        )
    return out


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sweep_figure(cameras: int, concurrency: int) -> tuple[dict, dict]:
    server = subprocess.Popen(
        [SYSTEM_PYTHON, str(SERVER), "--port", "0", "--repeat", str(cameras), f"cam={source()}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = server.stdout.readline()
        if not line.startswith("READY "):
            raise SystemExit(f"RTSP test server did not start: {line!r}")
        port = int(line.split()[1])
        urls = [(i, f"rtsp://127.0.0.1:{port}/cam{i:04d}") for i in range(1, cameras + 1)]
        one = asyncio.run(service.probe_stream(urls[0][1], camera_id=1))
        server_cpu0 = _cpu_s(server.pid)
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        own0 = time.process_time()
        started = time.perf_counter()
        probes = asyncio.run(service.sweep(urls, concurrency=concurrency))
        elapsed = time.perf_counter() - started
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = {
            "ffmpeg_cpu_s": round(children.ru_utime + children.ru_stime - children0.ru_utime - children0.ru_stime, 1),
            "server_cpu_s": round(_cpu_s(server.pid) - server_cpu0, 1),
            "sweep_process_cpu_s": round(time.process_time() - own0, 1),
        }
    finally:
        server.terminate()
        server.wait(10)
    kinds: dict[str, int] = {}
    for p in probes:
        for k in p.kinds:
            kinds[k] = kinds.get(k, 0) + 1
    durations = sorted(p.duration_s for p in probes)
    info = {
        "one_probe_s": round(one.duration_s, 3),
        "probe_p50_s": round(durations[len(durations) // 2], 3),
        "probe_max_s": round(durations[-1], 3),
        "verdicts": kinds,
        **cpu,
        "load_average_after": os.getloadavg()[0],
    }
    ideal = one.duration_s * cameras / concurrency
    return figure(f"health sweep s @{cameras}", elapsed, "s", "lower", "one probe x N / concurrency", ideal, 60), info


def picture_figure(count: int) -> dict:
    cap = cv2.VideoCapture(str(SAMPLE))
    frames: list[np.ndarray] = []
    while len(frames) < count:
        ok, frame = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        frames.append(frame)
    cap.release()
    reference = frames[0]
    groups = [frames[i : i + 4] for i in range(0, len(frames), 4)]
    times = [0.0, 0.5, 1.0, 1.5]
    started = time.perf_counter()
    for g in groups:
        rules.check_pictures(g, times=times[: len(g)], reference=reference)
    ours = len(frames) / (time.perf_counter() - started)
    started = time.perf_counter()
    for f in frames:
        float(f.mean())
    bare = len(frames) / (time.perf_counter() - started)
    return figure("picture checks frames/s", ours, "frames/s", "higher", "numpy mean of the same frames", bare, 200)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=1069)
    parser.add_argument("--concurrency", type=int, default=192)
    parser.add_argument("--frames", type=int, default=2000)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    pictures = picture_figure(args.frames)
    sweep, info = sweep_figure(args.cameras, args.concurrency)
    print(f"{'figure':32} {'value':>10} {'anchor':>10}  target")
    for f in (sweep, pictures):
        print(f"{f['name']:32} {f['value']:>10} {f['anchor_value']:>10}  {f['target']}  ({f['anchor']})")
    print(f"sweep: concurrency {args.concurrency}, load average before {load:.1f}, {json.dumps(info)}")
    for f in (sweep, pictures):
        print(json.dumps(f))
    return 0


if __name__ == "__main__":
    sys.exit(main())
