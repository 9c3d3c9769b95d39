"""What ``gwanje demo`` starts beside the web app, so that a fresh machine shows the product's main work.

- **Video**: a loopback RTSP server (``video/rtsp_test_server.py``, run by Debian's ``/usr/bin/python3``
  because GStreamer's bindings load only there) loops the packaged sample clips (``gwanje/data/video``)
  as live cameras. ``GWANJE_DEMO_CAMERAS`` registry cameras (the first camera of each site, in registry
  order) get its address, with credentials that the registry seals like any camera's, and are set to
  record; a recorder in this process stores them under the demo's var dir, so live view, snapshots,
  playback and evidence export all work.
- **Device events**: an MQTT consumer runs when a broker answers at ``GWANJE_MQTT_URL`` or, unset, at
  the default address; what is live (the MQTT topic root, ``POST /api/events``) is printed.
- **A demo hot list** (only when none is loaded) of plates the simulator reads now and then, so
  wanted-vehicle hits happen.
- **How to raise each Annex 2 situation by hand**: a copy-paste ``mosquitto_pub`` line per type, with
  real device ids of the demo's registry.

Whatever cannot start (no ffmpeg, no GStreamer, no broker) is said plainly and the demo serves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import random
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from gwanje.core.audit import Actor
from gwanje.core.crypto import SecretBox
from gwanje.core.db import Database
from gwanje.core.settings import Settings
from gwanje.policy.model import Policy
from gwanje.registry import service as registry
from gwanje.registry.models import Camera
from gwanje.registry.schemas import CameraUpdate
from gwanje.situations.hotlist import service as hotlist_service
from gwanje.situations.mqtt import DEFAULT_CLIENT_ID, DEFAULT_URL, TOPIC_ROOT, parse_broker_url, topic_for
from gwanje.situations.simulator import SOURCE_OF, random_plate
from gwanje.video import service as video_service

log = logging.getLogger(__name__)
try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # no C library to load: no parent-death signal
    _LIBC = None

SYSTEM_PYTHON = "/usr/bin/python3"
RTSP_PORT = 8554  # the usual RTSP port; a free one is taken when it is busy
RTSP_USER = "demo"
DEMO_SEGMENT_SECONDS = 10
DEMO_HOTLIST_SIZE = 12
DEMO_HOTLIST_SEED = 20260  # the same demo plates on every machine, so the printed example hits
ACTOR = Actor.system("demo")
DEBIAN_PACKAGES = (
    "ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base "
    "gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"
)


def sample_clips() -> list[Path]:
    """The packaged sample clips (MP4, H.264), in name order."""
    folder = Path(str(resources.files("gwanje.data"))) / "video"
    return sorted(folder.glob("*.mp4"))


def video_problem() -> str | None:
    """Why the demo cannot play video here, or ``None``."""
    problem = video_tools_problem()
    if problem is None and not sample_clips():
        return "샘플 영상 없음 / the packaged sample clips are missing (gwanje/data/video)"
    return problem


def video_tools_problem() -> str | None:
    """Which tool the live sample video needs is missing here (ffmpeg, Debian's Python with GStreamer's
    RTSP server), or ``None``. The video tests ask the same before they start their RTSP server."""
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            return f"{tool} 없음 / {tool} not installed (apt-get install {DEBIAN_PACKAGES})"
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} 없음 / {SYSTEM_PYTHON} not found"
    check = subprocess.run(
        [
            SYSTEM_PYTHON,
            "-c",
            "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer",
        ],
        capture_output=True,
        timeout=30,
    )
    if check.returncode != 0:
        return (
            f"GStreamer RTSP 서버 없음 / GStreamer's RTSP server bindings missing (apt-get install {DEBIAN_PACKAGES})"
        )
    return None


class RtspServer:
    """The loopback RTSP server as a child process: ``/cam1`` … ``/camN`` loop the sample clips."""

    def __init__(self, var_dir: Path, paths: list[str], clips: list[Path]):
        self.var_dir = Path(var_dir)
        self.paths = paths
        self.clips = clips
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self.password = _demo_password(self.var_dir)

    def start(self, port: int = RTSP_PORT, timeout: float = 20.0) -> int:
        for attempt in (port, 0):
            ready = self._start_on(attempt, timeout)
            if ready is not None:
                self.port = ready
                return ready
        raise RuntimeError("RTSP 서버가 시작되지 않았습니다 / the demo RTSP server did not start: " + self._log_tail())

    def _start_on(self, port: int, timeout: float) -> int | None:
        script = Path(__file__).resolve().parents[1] / "video" / "rtsp_test_server.py"
        streams = [f"{p}={self.clips[i % len(self.clips)]}" for i, p in enumerate(self.paths)]
        log_file = (self.var_dir / "demo-rtsp.log").open("ab")
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(script), "--port", str(port), "--auth", f"{RTSP_USER}:{self.password}", *streams],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log_file,
            preexec_fn=_die_with_parent,
        )
        log_file.close()
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        line = b""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line or line.startswith(b"READY"):
                break
        if line.startswith(b"READY"):
            return int(line.split()[1])
        self.stop()
        return None

    def _log_tail(self) -> str:
        try:
            return (self.var_dir / "demo-rtsp.log").read_text(errors="replace")[-300:].strip()
        except OSError:
            return ""

    def url(self, path: str) -> str:
        return f"rtsp://{RTSP_USER}:{self.password}@127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM when the demo dies, however it dies."""
    with contextlib.suppress(AttributeError):  # not Linux: the demo's own stop() still ends it
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _demo_password(var_dir: Path) -> str:
    """The demo cameras' stream password: made once, kept in the var dir (0600), never printed."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "demo-rtsp-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(18))
        path.chmod(0o600)
    return path.read_text().strip()


def demo_cameras(db: Database, count: int) -> list[Camera]:
    """The cameras that get demo video: the first camera of each site, in registry order, ``count`` of them."""
    if count <= 0:
        return []
    with db.reading() as session:
        first = (
            select(func.min(Camera.id))
            .where(Camera.status != "retired")
            .group_by(Camera.site_id)
            .order_by(func.min(Camera.id))
            .limit(count)
        )
        return list(session.scalars(select(Camera).where(Camera.id.in_(first)).order_by(Camera.id)))


def attach_streams(
    db: Database, policy: Policy, box: SecretBox, server: RtspServer, cameras: list[Camera]
) -> list[str]:
    """Give each demo camera its stream (credentials sealed by the registry) and turn recording on.

    A camera whose stored address already opens to the same stream is left as it is, so a second
    start changes (and audits) nothing.
    """
    numbers = []
    for i, camera in enumerate(cameras):
        url = server.url(f"cam{i + 1}")
        with db.uow() as uow:
            current = uow.session.get(Camera, camera.id)
            if current is None:
                continue
            try:
                same = registry.stream_address(box, current) == url
            except Exception:  # noqa: BLE001 - credentials sealed under another key: set them again
                same = False
            if not same:
                registry.update_camera(uow, ACTOR, policy, camera.id, CameraUpdate(stream_url=url), credentials=box)
        setting = video_service.get_recording(db, camera.id)
        if not setting.enabled or setting.segment_seconds != DEMO_SEGMENT_SECONDS:
            video_service.set_recording(db, ACTOR, video_service.SetRecording(camera.id, True, DEMO_SEGMENT_SECONDS))
        numbers.append(camera.management_number)
    return numbers


class BackgroundRecorder:
    """The recorder (``gwanje record``'s loop) on an event loop of its own, in a daemon thread."""

    def __init__(self, db: Database, var_dir: Path, box: SecretBox, poll_s: float = 15.0):
        from gwanje.video.recorder import Recorder

        self.recorder = Recorder(db, Path(var_dir), poll_s=poll_s, credentials=box)
        self.loop = asyncio.new_event_loop()
        self._task: Any = None
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="demo-recorder", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._stopping = asyncio.Event()
        self._task = asyncio.run_coroutine_threadsafe(self._run(), self.loop)

    async def _run(self) -> None:
        task = asyncio.create_task(self.recorder.run())
        await self._stopping.wait()  # type: ignore[union-attr]
        task.cancel()  # each ffmpeg closes its open segment, which is indexed
        await asyncio.gather(task, return_exceptions=True)

    def stop(self, timeout: float = 20.0) -> None:
        if self._task is None:
            return
        self.loop.call_soon_threadsafe(self._stopping.set)  # type: ignore[union-attr]
        try:
            self._task.result(timeout)
        except Exception:  # noqa: BLE001 - not finished in time: the next start adopts what is unindexed
            log.warning("the demo recorder did not stop within %.0f s", timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._task = None


def broker_answers(url: str, timeout: float = 0.5) -> bool:
    """Whether something listens at the broker's address (a TCP connect; the consumer does the rest)."""
    try:
        address = parse_broker_url(url)
    except ValueError:
        return False
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout):
            return True
    except OSError:
        return False


def load_demo_hotlist(db: Database) -> list[str]:
    """The demo's hot list, only when none is loaded (a real list is never replaced); its plates."""
    if hotlist_service.hotlist_status(db).count:
        return hotlist_service.hot_plates(db)
    rnd = random.Random(DEMO_HOTLIST_SEED)
    plates: list[str] = []
    while len(plates) < DEMO_HOTLIST_SIZE:
        plate = random_plate(rnd)
        if plate not in plates:
            plates.append(plate)
    entries = [
        (p, "stolen" if i % 3 == 2 else "wanted", f"DEMO-{i + 1:03d}", "데모용 / demo only")
        for i, p in enumerate(plates)
    ]
    hotlist_service.replace_hotlist(db, ACTOR, entries)
    return hotlist_service.hot_plates(db)


@dataclass
class DemoServices:
    """What the demo started beside the web app, and what it says about each."""

    broker_url: str | None = None  # where the consumer runs; None: no broker answered at tried_url
    tried_url: str = DEFAULT_URL
    consumer: Any = None
    rtsp: RtspServer | None = None
    recorder: BackgroundRecorder | None = None
    video_cameras: list[str] = field(default_factory=list)
    video_problem: str | None = None
    hot_plates: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.consumer is not None:
            self.consumer.stop()
            self.consumer = None
        if self.recorder is not None:
            self.recorder.stop()
            self.recorder = None
        if self.rtsp is not None:
            self.rtsp.stop()
            self.rtsp = None


def start_demo_services(
    db: Database,
    policy: Policy,
    settings: Settings,
    *,
    hotlist: Any = None,
    client_id: str = DEFAULT_CLIENT_ID,
) -> DemoServices:
    """Start the demo's video, MQTT consumer and hot list; every part that cannot start says why."""
    from gwanje.situations.mqtt import ConsumerConfig, MqttConsumer

    out = DemoServices()
    out.hot_plates = load_demo_hotlist(db)
    url = out.tried_url = settings.mqtt_url or DEFAULT_URL
    if broker_answers(url):
        out.broker_url = url
        out.consumer = MqttConsumer(db, policy, ConsumerConfig(url=url, client_id=client_id), hotlist=hotlist)
        out.consumer.start()
    if settings.demo_cameras:
        out.video_problem = video_problem()
        if out.video_problem is None:
            try:
                _start_video(out, db, policy, settings)
            except Exception as exc:  # the demo serves on without video
                log.exception("demo video did not start")
                out.video_problem = str(exc)
                if out.rtsp is not None:
                    out.rtsp.stop()
                    out.rtsp = None
    return out


def _start_video(out: DemoServices, db: Database, policy: Policy, settings: Settings) -> None:
    cameras = demo_cameras(db, settings.demo_cameras)
    if not cameras:
        out.video_problem = "등록된 카메라 없음 / no cameras in the registry"
        return
    box = SecretBox(settings.resolved_credentials_key())
    var_dir = Path(settings.var_dir)
    out.rtsp = RtspServer(var_dir, [f"cam{i + 1}" for i in range(len(cameras))], sample_clips())
    out.rtsp.start()
    out.video_cameras = attach_streams(db, policy, box, out.rtsp, cameras)
    out.recorder = BackgroundRecorder(db, var_dir, box)
    out.recorder.start()


# ---- what the demo prints ------------------------------------------------------------------------


def _street_camera(db: Database, policy: Policy) -> Camera | None:
    """A camera whose purpose raises street situations (the first purpose the policy lists)."""
    with db.reading() as session:
        purpose = policy.purposes[0].code if policy.purposes else None
        query = select(Camera).where(Camera.status != "retired").order_by(Camera.id).limit(1)
        if purpose:
            found = session.scalars(query.where(Camera.primary_purpose == purpose)).first()
            if found is not None:
                return found
        return session.scalars(query).first()


def _pub(host: str, port: int, source: str, device: str, body: dict) -> str:
    topic = topic_for(source, device)
    message = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return f"mosquitto_pub -h {host} -p {port} -q 1 -t {topic} -m '{message}'"


def howto_lines(db: Database, policy: Policy, broker_url: str | None, hot_plates: list[str]) -> list[str]:
    """One copy-paste ``mosquitto_pub`` line per Annex 2 situation, with real device ids of the registry."""
    camera = _street_camera(db, policy)
    if camera is None:
        return []
    address = parse_broker_url(broker_url or DEFAULT_URL)
    host, port = address.host, address.port
    number = camera.management_number
    bell = "BELL-" + number.rsplit("-", 1)[0]
    lat, lon = round(camera.latitude, 5), round(camera.longitude, 5)
    stamp = int(time.time())
    plate = hot_plates[0] if hot_plates else "12가3456"
    examples = [
        (
            "emergency_bell",
            "비상벨 / emergency bell",
            bell,
            {"bell_id": bell, "latitude": lat, "longitude": lon, "camera": number},
        ),
        (
            "u_seoul_safety",
            "u-서울안전 신호 / u-Seoul safety signal",
            "useoul-gw-1",
            {"person_id": "US-100001", "category": "child", "latitude": lat, "longitude": lon, "accuracy_m": 20},
        ),
        (
            "video_analytics",
            "영상분석 / video analytics",
            number,
            {
                "camera": number,
                "rule": "loitering",
                "object_class": "person",
                "box": [0.4, 0.3, 0.1, 0.3],
                "confidence": 0.9,
            },
        ),
        (
            "plate_read",
            "수배차량 번호판 인식 / plate read of a hot-list plate",
            number,
            {"camera": number, "plate": plate, "confidence": 0.95},
        ),
        ("camera_fault", "카메라 고장 / camera fault", "nms-1", {"camera": number, "fault": "offline"}),
    ]
    lines = []
    for kind, label, device, payload in examples:
        body = {"message_id": f"demo-{kind}-{stamp}", "type": kind, "payload": payload}
        lines.append(f"  # {label}")
        lines.append("  " + _pub(host, port, SOURCE_OF[kind], device, body))
    return lines


def report_lines(services: DemoServices, host: str, port: int) -> list[str]:
    """What is live, in the order a newcomer needs it."""
    lines = ["장치 이벤트 경로 / device-event paths:"]
    if services.broker_url:
        lines.append(
            f"  MQTT  {services.broker_url}  topic {TOPIC_ROOT}/{{source}}/{{device_id}}  (수신 중 / consuming)"
        )
    else:
        lines.append(
            f"  MQTT  꺼짐: {services.tried_url}에 브로커가 없습니다 / off: no broker answers at {services.tried_url} "
            "(start Mosquitto or set GWANJE_MQTT_URL, then restart the demo)"
        )
    lines.append(f"  HTTP  POST http://{host}:{port}/api/events  (장치 토큰 / a device account's bearer token)")
    if services.video_cameras:
        lines.append(
            f"데모 영상 / demo video: {len(services.video_cameras)} cameras play the sample clips and are recorded "
            f"({', '.join(services.video_cameras)})"
        )
        lines.append(f"  e.g. http://{host}:{port}/cameras?q={services.video_cameras[0]}")
    elif services.video_problem:
        lines.append(f"데모 영상 꺼짐 / demo video off: {services.video_problem}")
    if services.hot_plates:
        lines.append(f"수배차량 목록 / hot list: {len(services.hot_plates)} plates (e.g. {services.hot_plates[0]})")
    return lines
