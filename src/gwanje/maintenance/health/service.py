"""Probing cameras: is the stream reachable, are frames arriving, and what the sampled pictures say.

One probe is one ffmpeg subprocess that joins the stream (TCP for RTSP, as the video service does),
decodes a few frames at a low rate, scaled down to the checks' small size in grey, and writes the raw
pixels to stdout; :func:`gwanje.maintenance.health.rules.check_pictures` judges them. A sweep runs
many probes at once with a bound on how many ffmpeg run together (asyncio subprocesses and a
semaphore). Nothing is written to the database here yet (tickets come later).

The address with its credentials comes from the video service (:func:`gwanje.video.service.camera_source`)
and goes to ffmpeg only: results and logs carry the camera's id, never the address.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from gwanje.core.crypto import SecretBox
from gwanje.core.db import Database
from gwanje.core.errors import DomainError
from gwanje.maintenance.health import rules
from gwanje.maintenance.health.rules import DEFAULT_THRESHOLDS, PictureThresholds, Verdict
from gwanje.registry.choices import CameraStatus
from gwanje.registry.models import Camera
from gwanje.video import service as video_service

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeSettings:
    """How one probe samples a stream: ``frames`` frames at ``fps`` (stream time), all within
    ``time_limit_s`` of starting ffmpeg; the connection (and each read) gives up after
    ``connect_timeout_s``."""

    frames: int = 4
    fps: float = 2.0
    connect_timeout_s: float = 5.0
    time_limit_s: float = 8.0


DEFAULT_PROBE = ProbeSettings()


@dataclass
class Probe:
    """What one probe found: ``verdicts`` are the stream's (unreachable, no frames) or the picture's."""

    camera_id: int | None
    reachable: bool
    frames: int
    verdicts: list[Verdict] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def healthy(self) -> bool:
        return all(v.healthy for v in self.verdicts)

    @property
    def kinds(self) -> list[str]:
        return [v.kind.value for v in self.verdicts]


def probe_command(url: str, settings: ProbeSettings = DEFAULT_PROBE) -> list[str]:
    """The ffmpeg command that samples a stream to raw grey frames of :data:`rules.SIZE` on stdout."""
    head = video_service.ffmpeg_input(url)
    if "-timeout" in head:  # the video service's read timeout, shortened to the probe's
        i = head.index("-timeout")
        head[i + 1] = str(int(settings.connect_timeout_s * 1_000_000))
    width, height = rules.SIZE
    return [
        head[0],
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-probesize",
        "200000",
        "-analyzeduration",
        "1000000",
        "-threads",  # one decoding thread: a sweep runs many probes side by side, each one small
        "1",
        *head[1:],
        "-i",
        url,
        "-an",
        "-sn",
        "-filter_threads",
        "1",
        "-vf",
        f"fps={settings.fps},scale={width}:{height}:flags=area,format=gray",
        "-frames:v",
        str(settings.frames),
        "-f",
        "rawvideo",
        "-pix_fmt",
        "gray",
        "pipe:1",
    ]


async def sample_frames(url: str, settings: ProbeSettings = DEFAULT_PROBE) -> tuple[bool, list[np.ndarray], str]:
    """(reachable, frames, problem) of one stream. Reachable is false when ffmpeg gave up before any
    frame (refused, no such path, wrong credentials, connection timed out); a stream that connects but
    sends nothing within the time limit is reachable with too few frames."""
    width, height = rules.SIZE
    size = width * height
    proc = await asyncio.create_subprocess_exec(
        *probe_command(url, settings),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    frames: list[np.ndarray] = []
    timed_out = False

    async def read_all() -> None:
        assert proc.stdout is not None
        while len(frames) < settings.frames:
            try:
                chunk = await proc.stdout.readexactly(size)
            except asyncio.IncompleteReadError:
                return
            frames.append(np.frombuffer(chunk, np.uint8).reshape(height, width))

    err_task = asyncio.ensure_future(proc.stderr.read() if proc.stderr else asyncio.sleep(0, b""))
    try:
        await asyncio.wait_for(read_all(), settings.time_limit_s)
    except asyncio.TimeoutError:
        timed_out = True
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await proc.wait()
    err = await err_task
    problem = video_service.log_safe(err[-300:].decode(errors="replace").strip())
    reachable = bool(frames) or timed_out
    if timed_out and not frames:
        problem = problem or f"no frame within {settings.time_limit_s:.0f} s"
    return reachable, frames, problem


async def probe_stream(
    url: str,
    *,
    camera_id: int | None = None,
    reference: np.ndarray | None = None,
    settings: ProbeSettings = DEFAULT_PROBE,
    thresholds: PictureThresholds = DEFAULT_THRESHOLDS,
) -> Probe:
    """Probe one stream: reachable, frames arriving, and the verdicts on the sampled pictures."""
    started = time.perf_counter()
    reachable, frames, problem = await sample_frames(url, settings)
    verdict = rules.stream_verdict(reachable, len(frames), settings.frames, problem or None)
    if verdict is not None:
        verdicts = [verdict]
    else:
        times = [i / settings.fps for i in range(len(frames))]
        verdicts = await asyncio.to_thread(
            rules.check_pictures, frames, times=times, reference=reference, thresholds=thresholds
        )
    return Probe(camera_id, reachable, len(frames), verdicts, time.perf_counter() - started)


async def sweep(
    targets: Iterable[tuple[int | None, str]],
    *,
    concurrency: int = 32,
    references: dict[int, np.ndarray] | None = None,
    settings: ProbeSettings = DEFAULT_PROBE,
    thresholds: PictureThresholds = DEFAULT_THRESHOLDS,
) -> list[Probe]:
    """Probe every (camera id, address), at most ``concurrency`` at once; results in the given order."""
    gate = asyncio.Semaphore(max(1, concurrency))
    refs = references or {}

    async def one(camera_id: int | None, url: str) -> Probe:
        async with gate:
            return await probe_stream(
                url,
                camera_id=camera_id,
                reference=refs.get(camera_id) if camera_id is not None else None,
                settings=settings,
                thresholds=thresholds,
            )

    return list(await asyncio.gather(*(one(cid, url) for cid, url in targets)))


def cameras_with_streams(db: Database) -> list[int]:
    """Ids of the cameras a sweep looks at: a stream address registered, not retired."""
    with db.reading() as session:
        return list(
            session.scalars(
                select(Camera.id)
                .where(Camera.stream_url.is_not(None), Camera.status != CameraStatus.retired.code)
                .order_by(Camera.id)
            )
        )


async def sweep_cameras(
    db: Database,
    credentials: SecretBox | None = None,
    *,
    camera_ids: Sequence[int] | None = None,
    concurrency: int = 32,
    references: dict[int, np.ndarray] | None = None,
    settings: ProbeSettings = DEFAULT_PROBE,
    thresholds: PictureThresholds = DEFAULT_THRESHOLDS,
) -> list[Probe]:
    """One sweep over the registered cameras with streams (or the given ones)."""
    ids = list(camera_ids) if camera_ids is not None else cameras_with_streams(db)
    targets: list[tuple[int | None, str]] = []
    unresolved: list[Probe] = []
    for camera_id in ids:
        try:
            targets.append((camera_id, await video_service.camera_source(db, camera_id, credentials)))
        except DomainError as exc:
            problem = exc.message_en
            unresolved.append(Probe(camera_id, False, 0, [rules.stream_verdict(False, 0, settings.frames, problem)]))
            log.info("health check: camera %s has no usable address (%s)", camera_id, problem)
    probes = await sweep(
        targets, concurrency=concurrency, references=references, settings=settings, thresholds=thresholds
    )
    by_id = {p.camera_id: p for p in [*probes, *unresolved]}
    return [by_id[i] for i in ids]
