"""Video: live view (MJPEG), snapshots, recording by stream copy, playback and clips, retention.

Everything here drives Debian's ``ffmpeg``/``ffprobe`` as subprocesses; nothing starts at import.
Audio is never taken from a camera: PIPA Art. 25(5) forbids recording sound with CCTV, so every
ffmpeg command here maps video only.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

FFMPEG_TIMEOUT_S = 20.0


def ffmpeg_bin() -> str:
    return shutil.which("ffmpeg") or "ffmpeg"


def ffprobe_bin() -> str:
    return shutil.which("ffprobe") or "ffprobe"


def input_args(url: str) -> list[str]:
    """ffmpeg options that go before ``-i`` for a camera address (TCP for RTSP: no lost packets)."""
    if url.lower().startswith(("rtsp://", "rtsps://")):
        return ["-rtsp_transport", "tcp", "-timeout", "10000000"]
    return []


def probe(target: str | Path, timeout: float = FFMPEG_TIMEOUT_S) -> dict:
    """``ffprobe`` streams and format of a file or URL, as JSON."""
    cmd = [
        ffprobe_bin(),
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_streams",
        "-show_format",
        *input_args(str(target)),
        str(target),
    ]
    out = subprocess.run(cmd, capture_output=True, timeout=timeout, check=True)
    return json.loads(out.stdout or b"{}")


def video_codec_of(info: dict) -> str | None:
    for stream in info.get("streams", ()):
        if stream.get("codec_type") == "video":
            return stream.get("codec_name")
    return None
