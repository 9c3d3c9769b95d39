"""Live view: one ffmpeg per camera turns RTSP into JPEG frames that all its viewers share.

The first viewer of a camera starts its transcoder; every later viewer gets the same frames (the
newest one each time it is ready for more, so a slow browser skips frames instead of holding
anyone up). When the last viewer leaves, the transcoder lingers for :attr:`LiveHub.linger_s`
seconds — a console that switches layouts comes straight back — and is then stopped.

A snapshot is the newest frame of a running transcoder when there is a fresh one, else one frame
grabbed by a one-shot ffmpeg at the camera's full resolution.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from gwanje.video import ffmpeg_bin, input_args
from gwanje.video.onvif import redact, scrub

log = logging.getLogger(__name__)

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"
MAX_FRAME_BYTES = 8 * 1024 * 1024
BOUNDARY = "gwanjeframe"


class SourceUnavailable(RuntimeError):
    """The camera gave no picture in time."""


def transcode_command(url: str, *, fps: float, max_height: int, quality: int) -> list[str]:
    # Scale down only (never up) and keep the aspect; mjpeg at -q:v 2 (best) … 31 (worst).
    return [
        ffmpeg_bin(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        *input_args(url),
        "-i",
        url,
        "-map",
        "0:v:0",
        "-an",
        "-vf",
        f"fps={fps},scale=-2:'min({max_height},ih)'",
        "-c:v",
        "mjpeg",
        "-q:v",
        str(quality),
        "-f",
        "image2pipe",
        "pipe:1",
    ]


def snapshot_command(url: str) -> list[str]:
    return [
        ffmpeg_bin(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        *input_args(url),
        "-i",
        url,
        "-map",
        "0:v:0",
        "-an",
        "-frames:v",
        "1",
        "-c:v",
        "mjpeg",
        "-q:v",
        "3",
        "-f",
        "image2pipe",
        "pipe:1",
    ]


class JpegSplitter:
    """Cuts a byte stream of concatenated JPEGs into frames (SOI … EOI; ffmpeg's mjpeg has no thumbnails)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        self._buf += chunk
        frames = []
        while True:
            start = self._buf.find(SOI)
            if start < 0:
                del self._buf[:-1]  # keep a trailing 0xff: it may begin the next SOI
                break
            end = self._buf.find(EOI, start + 2)
            if end < 0:
                del self._buf[:start]
                if len(self._buf) > MAX_FRAME_BYTES:
                    self._buf.clear()
                break
            frames.append(bytes(self._buf[start : end + 2]))
            del self._buf[: end + 2]
        return frames


@dataclass(eq=False)
class _Channel:
    camera_id: int
    url: str
    viewers: int = 0
    frame: bytes | None = None
    frame_at: float = 0.0
    seq: int = 0
    closed: bool = False
    process: asyncio.subprocess.Process | None = None
    task: asyncio.Task | None = None
    stop_timer: asyncio.TimerHandle | None = None
    # Replaced by a fresh Event at each new frame after setting the old one: waiters wake once, no lock.
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def publish(self, frame: bytes | None) -> None:
        if frame is not None:
            self.frame, self.frame_at, self.seq = frame, time.monotonic(), self.seq + 1
        old, self.changed = self.changed, asyncio.Event()
        old.set()


class LiveHub:
    """Per camera, one transcoder shared by all viewers; started on demand, stopped when unwatched."""

    def __init__(
        self,
        *,
        fps: float = 5.0,
        max_height: int = 720,
        quality: int = 7,
        linger_s: float = 5.0,
        restart_s: float = 2.0,
        frame_timeout_s: float = 20.0,
    ):
        self.fps = fps
        self.max_height = max_height
        self.quality = quality
        self.linger_s = linger_s
        self.restart_s = restart_s
        self.frame_timeout_s = frame_timeout_s
        self._channels: dict[int, _Channel] = {}
        self.starts = 0  # transcoders started since creation (for tests and metrics)

    # --- what is running ------------------------------------------------------------------
    def pids(self) -> dict[int, int]:
        return {
            cid: ch.process.pid
            for cid, ch in self._channels.items()
            if ch.process is not None and ch.process.returncode is None
        }

    def process_count(self) -> int:
        return len(self.pids())

    def viewers(self, camera_id: int) -> int:
        ch = self._channels.get(camera_id)
        return ch.viewers if ch else 0

    # --- viewers ----------------------------------------------------------------------------
    async def frames(self, camera_id: int, url: str) -> AsyncIterator[bytes]:
        """Yield the camera's newest JPEG each time there is a new one, for as long as the caller reads."""
        ch = self._acquire(camera_id, url)
        try:
            seen = 0
            while True:
                deadline = time.monotonic() + self.frame_timeout_s
                while ch.seq == seen and not ch.closed:
                    try:
                        await asyncio.wait_for(ch.changed.wait(), max(0.0, deadline - time.monotonic()))
                    except asyncio.TimeoutError:
                        raise SourceUnavailable(
                            f"no picture from camera {camera_id} for {self.frame_timeout_s:.0f} s"
                        ) from None
                if ch.closed:
                    return
                seen = ch.seq
                yield ch.frame  # type: ignore[misc]
        finally:
            self._release(ch)

    async def snapshot(self, camera_id: int, url: str, *, max_age_s: float = 2.0, timeout_s: float = 20.0) -> bytes:
        ch = self._channels.get(camera_id)
        if ch is not None and ch.frame is not None and time.monotonic() - ch.frame_at <= max_age_s:
            return ch.frame
        return await grab_frame(url, timeout_s=timeout_s)

    async def close(self) -> None:
        for ch in list(self._channels.values()):
            await self._stop(ch, force=True)

    # --- internals --------------------------------------------------------------------------
    def _acquire(self, camera_id: int, url: str) -> _Channel:
        ch = self._channels.get(camera_id)
        if ch is not None and ch.url != url:  # the camera's address changed: start afresh
            del self._channels[camera_id]
            asyncio.ensure_future(self._stop(ch, force=True))
            ch = None
        if ch is None:
            ch = _Channel(camera_id, url)
            self._channels[camera_id] = ch
            ch.task = asyncio.create_task(self._run(ch), name=f"live-{camera_id}")
        if ch.stop_timer is not None:
            ch.stop_timer.cancel()
            ch.stop_timer = None
        ch.viewers += 1
        return ch

    def _release(self, ch: _Channel) -> None:
        ch.viewers -= 1
        if ch.viewers <= 0 and ch.stop_timer is None and not ch.closed:
            loop = asyncio.get_running_loop()
            ch.stop_timer = loop.call_later(self.linger_s, lambda: asyncio.ensure_future(self._stop(ch)))

    async def _stop(self, ch: _Channel, force: bool = False) -> None:
        if ch.viewers > 0 and not force:
            return
        ch.closed = True
        if self._channels.get(ch.camera_id) is ch:
            del self._channels[ch.camera_id]
        if ch.stop_timer is not None:
            ch.stop_timer.cancel()
        if ch.task is not None:
            ch.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await ch.task
        ch.publish(None)
        log.info("live transcoder for camera %s stopped", ch.camera_id)

    async def _run(self, ch: _Channel) -> None:
        """Keep a transcoder running while the channel is open; restart it after a failure."""
        while not ch.closed:
            cmd = transcode_command(ch.url, fps=self.fps, max_height=self.max_height, quality=self.quality)
            try:
                proc = await asyncio.create_subprocess_exec(
                    *cmd,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
            except OSError as exc:
                log.error("cannot start ffmpeg for camera %s: %s", ch.camera_id, exc)
                await asyncio.sleep(self.restart_s)
                continue
            ch.process = proc
            self.starts += 1
            log.info("live transcoder for camera %s started (pid %s, %s)", ch.camera_id, proc.pid, redact(ch.url))
            stderr_task = asyncio.create_task(_drain(proc.stderr))
            try:
                splitter = JpegSplitter()
                while True:
                    chunk = await proc.stdout.read(65536)  # type: ignore[union-attr]
                    if not chunk:
                        break
                    for frame in splitter.feed(chunk):
                        ch.publish(frame)
                await proc.wait()
                tail = await stderr_task
                log.warning(
                    "live transcoder for camera %s ended (rc %s): %s",
                    ch.camera_id,
                    proc.returncode,
                    scrub(tail[-300:].decode(errors="replace").strip()),
                )
            finally:
                await _terminate(proc)
                stderr_task.cancel()
                ch.process = None
            await asyncio.sleep(self.restart_s)


async def _drain(stream: asyncio.StreamReader | None) -> bytes:
    """Keep the last few KiB of ffmpeg's complaints (for the log) without letting the pipe fill."""
    tail = b""
    if stream is None:
        return tail
    while True:
        chunk = await stream.read(4096)
        if not chunk:
            return tail
        tail = (tail + chunk)[-4096:]


async def _terminate(proc: asyncio.subprocess.Process, grace_s: float = 3.0) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), grace_s)
    except asyncio.TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


async def grab_frame(url: str, *, timeout_s: float = 20.0) -> bytes:
    """One JPEG from the camera by a one-shot ffmpeg."""
    proc = await asyncio.create_subprocess_exec(
        *snapshot_command(url),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except asyncio.TimeoutError:
        raise SourceUnavailable(f"no picture within {timeout_s:.0f} s from {redact(url)}") from None
    finally:
        await _terminate(proc)
    frames = JpegSplitter().feed(out)
    if proc.returncode != 0 or not frames:
        raise SourceUnavailable(
            f"snapshot failed for {redact(url)}: {scrub(err[-300:].decode(errors='replace').strip()) or 'no frame'}"
        )
    return frames[0]


def multipart_chunk(frame: bytes) -> bytes:
    return (
        f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(frame)}\r\n\r\n".encode() + frame + b"\r\n"
    )
