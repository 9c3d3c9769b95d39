"""The recorder: for each camera set to record, ffmpeg stores its stream in segments by stream copy.

Per camera one ffmpeg reads RTSP and writes fragmented MP4 segments with ``-c copy`` (no
re-encode: the stored bytes are the camera's own H.264/H.265, and a 2-core host can record many
cameras). Fragmented MP4 stays readable when ffmpeg is killed mid-segment.

ffmpeg prints each finished segment (name, start, end in stream seconds) on stdout
(``-segment_list pipe:1``). Stream seconds become UTC by an anchor: the wall-clock moment of stream
time 0. A segment's list line is printed when the next segment begins, i.e. no earlier than the
live moment of its end, so ``printed_at - end`` is never earlier than the true anchor; the smallest
value seen is the best estimate. A segment is indexed when the line after it arrives (or when
ffmpeg exits), so even the first one gets the refined anchor.

ffmpeg that exits or fails is restarted with exponential backoff (1 s … 60 s); the set of cameras
is re-read from the database every :attr:`Recorder.poll_s` seconds. Files that a crash left
unindexed are adopted on the next start (end time = file modification time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from gwanje.core.clock import utcnow
from gwanje.core.crypto import SecretBox
from gwanje.core.db import Database
from gwanje.core.errors import DomainError
from gwanje.core.files import file_sha256
from gwanje.policy.model import Policy
from gwanje.registry import service as registry
from gwanje.registry.choices import CameraStatus
from gwanje.registry.models import Camera
from gwanje.video import ffmpeg_bin, input_args, probe, video_codec_of
from gwanje.video.models import RecordingSegment, RecordingSetting
from gwanje.video.onvif import redact, resolve_stream_url, scrub
from gwanje.video.retention import run_retention

log = logging.getLogger(__name__)

SEGMENT_EXT = ".mp4"
MP4_FLAGS = "movflags=+frag_keyframe+empty_moov+default_base_moof"
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 60.0
HEALTHY_AFTER_S = 60.0  # a run that lasted this long resets the backoff


def recordings_dir(var_dir: Path, camera_id: int) -> Path:
    return Path(var_dir) / "recordings" / str(int(camera_id))


def segment_command(url: str, out_pattern: str | Path, segment_seconds: int) -> list[str]:
    """ffmpeg arguments: RTSP in, video stream-copied into fragmented-MP4 segments, list on stdout."""
    return [
        ffmpeg_bin(),
        "-hide_banner",
        "-loglevel",
        "warning",
        "-nostdin",
        *input_args(url),
        "-i",
        url,
        "-map",
        "0:v:0",
        "-an",
        "-c",
        "copy",
        "-f",
        "segment",
        "-segment_time",
        str(int(segment_seconds)),
        "-reset_timestamps",
        "1",
        "-segment_format",
        "mp4",
        "-segment_format_options",
        MP4_FLAGS,
        "-segment_list",
        "pipe:1",
        "-segment_list_type",
        "csv",
        str(out_pattern),
    ]


@dataclass(frozen=True)
class ListEntry:
    name: str
    start_s: float
    end_s: float
    printed_at: datetime


def parse_list_line(line: str, printed_at: datetime) -> ListEntry | None:
    """One CSV line of ffmpeg's segment list: ``name,start,end`` (a name may be quoted)."""
    line = line.strip()
    if not line:
        return None
    name, _, rest = line.rpartition(",")
    name, _, start = name.rpartition(",")
    try:
        return ListEntry(name.strip('"'), float(start), float(rest), printed_at)
    except ValueError:
        return None


class Anchor:
    """Wall-clock time of stream time 0 for one ffmpeg run (see the module docstring)."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def observe(self, entry: ListEntry) -> None:
        candidate = entry.printed_at - timedelta(seconds=entry.end_s)
        if self.at is None or candidate < self.at:
            self.at = candidate

    def span(self, entry: ListEntry) -> tuple[datetime, datetime]:
        assert self.at is not None
        return self.at + timedelta(seconds=entry.start_s), self.at + timedelta(seconds=entry.end_s)


def index_segment(
    db: Database,
    var_dir: Path,
    camera_id: int,
    path: Path,
    started_at: datetime,
    ended_at: datetime,
    video_codec: str | None = None,
) -> RecordingSegment | None:
    """Store one finished segment's row (size, SHA-256, times). Empty files are removed instead."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0 or ended_at <= started_at:
        path.unlink(missing_ok=True)
        return None
    if video_codec is None:
        with contextlib.suppress(Exception):
            video_codec = video_codec_of(probe(path))
    row = RecordingSegment(
        camera_id=camera_id,
        path=str(path.relative_to(var_dir)),
        started_at=started_at,
        ended_at=ended_at,
        bytes=size,
        sha256=file_sha256(path),
        video_codec=video_codec,
        created_at=utcnow(),
    )
    with db.uow() as uow:
        uow.session.add(row)
        uow.commit()
    return row


def adopt_orphans(db: Database, var_dir: Path, camera_id: int) -> int:
    """Index segment files a crash left without a row (their end = modification time)."""
    folder = recordings_dir(var_dir, camera_id)
    if not folder.is_dir():
        return 0
    with db.reading() as session:
        known = set(session.scalars(select(RecordingSegment.path).where(RecordingSegment.camera_id == camera_id)))
    adopted = 0
    for path in sorted(folder.glob(f"*{SEGMENT_EXT}")):
        if str(path.relative_to(var_dir)) in known:
            continue
        try:
            info = probe(path)
            duration = float(info.get("format", {}).get("duration") or 0)
        except Exception:  # noqa: BLE001 - unreadable: leave it for an operator, do not loop on it
            log.warning("cannot read unindexed segment %s", path)
            continue
        ended = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
        if index_segment(
            db, var_dir, camera_id, path, ended - timedelta(seconds=duration), ended, video_codec_of(info)
        ):
            adopted += 1
    return adopted


@dataclass(frozen=True)
class RecordTarget:
    camera_id: int
    stream_url: str = field(repr=False)  # with the camera's credentials: never logged
    segment_seconds: int


def enabled_targets(db: Database, credentials: SecretBox | None = None) -> list[RecordTarget]:
    """The cameras to record, each with the address to open (its sealed credentials opened)."""
    targets = []
    with db.reading() as session:
        rows = session.execute(
            select(Camera, RecordingSetting.segment_seconds)
            .join(RecordingSetting, Camera.id == RecordingSetting.camera_id)
            .where(
                RecordingSetting.enabled.is_(True),
                Camera.status != CameraStatus.retired.code,
                Camera.stream_url.is_not(None),
            )
            .order_by(RecordingSetting.camera_id)
        ).all()
        for camera, seconds in rows:
            try:
                url = registry.stream_address(credentials, camera)
            except (DomainError, RuntimeError) as exc:  # its credentials do not open: the others still record
                log.error("recorder: camera %s not recorded: %s", camera.id, exc)
                continue
            targets.append(RecordTarget(camera.id, url, seconds))
    return targets


class CameraRecorder:
    """Keeps one camera's ffmpeg running and indexes what it writes."""

    def __init__(self, db: Database, var_dir: Path, target: RecordTarget):
        self.db = db
        self.var_dir = Path(var_dir)
        self.target = target
        self.process: asyncio.subprocess.Process | None = None
        self.command: list[str] | None = None
        self.runs = 0
        self.indexed = 0
        self.last_error: str | None = None

    async def run(self) -> None:
        backoff = BACKOFF_START_S
        folder = recordings_dir(self.var_dir, self.target.camera_id)
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(adopt_orphans, self.db, self.var_dir, self.target.camera_id)
        while True:
            started = time.monotonic()
            try:
                await self._run_once(folder)
            except (OSError, RuntimeError) as exc:  # cannot start ffmpeg, ONVIF refused, …
                self.last_error = scrub(str(exc))
                log.error("recorder for camera %s: %s", self.target.camera_id, self.last_error)
            if time.monotonic() - started >= HEALTHY_AFTER_S:
                backoff = BACKOFF_START_S
            log.info("recorder for camera %s restarts in %.0f s", self.target.camera_id, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    async def _run_once(self, folder: Path) -> None:
        url = await asyncio.to_thread(resolve_stream_url, self.target.stream_url)
        run_id = utcnow().strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
        self.command = segment_command(url, folder / f"{run_id}-%06d{SEGMENT_EXT}", self.target.segment_seconds)
        proc = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self.process = proc
        self.runs += 1
        log.info("recorder for camera %s started (pid %s, %s)", self.target.camera_id, proc.pid, redact(url))
        anchor = Anchor()
        pending: ListEntry | None = None
        codec: list[str | None] = [None]
        stderr_task = asyncio.create_task(_tail(proc.stderr))
        try:
            while True:
                line = await proc.stdout.readline()  # type: ignore[union-attr]
                if not line:
                    break
                entry = parse_list_line(line.decode(errors="replace"), utcnow())
                if entry is None:
                    continue
                anchor.observe(entry)
                if pending is not None:
                    # Taken before the await: a stop arriving while its row is written must not write it again.
                    done, pending = pending, None
                    await self._index(folder, anchor, done, codec)
                pending = entry
        finally:
            # Cancelled (stop) or ffmpeg ended: let ffmpeg close the open segment and list it.
            await _stop_process(proc)
            rest = await proc.stdout.read()  # type: ignore[union-attr]
            for raw in rest.decode(errors="replace").splitlines():
                entry = parse_list_line(raw, utcnow())
                if entry is None:
                    continue
                anchor.observe(entry)
                if pending is not None:
                    await self._index(folder, anchor, pending, codec)
                pending = entry
            if pending is not None:
                await self._index(folder, anchor, pending, codec)
            tail = await stderr_task
            self.process = None
            if proc.returncode not in (0, 255, -15):
                self.last_error = scrub(tail[-300:].decode(errors="replace").strip())
                log.warning(
                    "recorder for camera %s: ffmpeg exited %s: %s",
                    self.target.camera_id,
                    proc.returncode,
                    self.last_error,
                )

    async def _index(self, folder: Path, anchor: Anchor, entry: ListEntry, codec: list[str | None]) -> None:
        started_at, ended_at = anchor.span(entry)
        path = folder / Path(entry.name).name
        try:
            row = await asyncio.to_thread(
                index_segment, self.db, self.var_dir, self.target.camera_id, path, started_at, ended_at, codec[0]
            )
        except Exception:  # the file stays; adopt_orphans indexes it on the next start
            log.exception("cannot index segment %s", path)
            return
        if row is not None:
            codec[0] = row.video_codec
            self.indexed += 1


async def _tail(stream: asyncio.StreamReader | None) -> bytes:
    tail = b""
    while stream is not None:
        chunk = await stream.read(4096)
        if not chunk:
            break
        tail = (tail + chunk)[-4096:]
    return tail


async def _stop_process(proc: asyncio.subprocess.Process, grace_s: float = 5.0) -> None:
    """SIGTERM makes ffmpeg finish the open segment and print its list line; SIGKILL if it hangs."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
    try:
        await asyncio.shield(asyncio.wait_for(proc.wait(), grace_s))
    except asyncio.TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


class Recorder:
    """All recording cameras: starts, stops and restarts their :class:`CameraRecorder` to match the DB."""

    def __init__(self, db: Database, var_dir: Path, *, poll_s: float = 30.0, credentials: SecretBox | None = None):
        self.db = db
        self.var_dir = Path(var_dir)
        self.poll_s = poll_s
        self.credentials = credentials
        self.cameras: dict[int, tuple[CameraRecorder, asyncio.Task]] = {}

    async def sync(self) -> None:
        targets = {t.camera_id: t for t in await asyncio.to_thread(enabled_targets, self.db, self.credentials)}
        for camera_id, (rec, task) in list(self.cameras.items()):
            if targets.get(camera_id) != rec.target:
                await self._cancel(camera_id)
        for camera_id, target in targets.items():
            if camera_id not in self.cameras:
                rec = CameraRecorder(self.db, self.var_dir, target)
                self.cameras[camera_id] = (rec, asyncio.create_task(rec.run(), name=f"record-{camera_id}"))

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.sync()
                except Exception:  # database briefly away: keep recording what runs
                    log.exception("recorder: cannot read the recording settings")
                await asyncio.sleep(self.poll_s)
        finally:
            await self.stop()

    async def stop(self) -> None:
        for camera_id in list(self.cameras):
            await self._cancel(camera_id)

    async def _cancel(self, camera_id: int) -> None:
        _rec, task = self.cameras.pop(camera_id)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def record_forever(
    db: Database,
    policy: Policy,
    var_dir: Path,
    *,
    poll_s: float = 30.0,
    retention_every_s: float = 3600.0,
    credentials: SecretBox | None = None,
) -> None:
    """The ``gwanje record`` loop: the recorder, plus a retention pass every ``retention_every_s``.

    Wired by ``gwanje record`` (``gwanje.cli.video``), which builds the database and policy.
    """
    recorder = Recorder(db, var_dir, poll_s=poll_s, credentials=credentials)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    async def retention_loop() -> None:
        while True:
            try:
                report = await asyncio.to_thread(run_retention, db, policy, var_dir)
                if report.errors:
                    log.error("retention: %d problems: %s", len(report.errors), "; ".join(report.errors[:5]))
            except Exception:  # try again next time
                log.exception("retention pass failed")
            await asyncio.sleep(retention_every_s)

    tasks = [asyncio.create_task(recorder.run())]
    if retention_every_s > 0:
        tasks.append(asyncio.create_task(retention_loop()))
    await stop.wait()
    log.info("recorder stopping: closing the open segments")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
