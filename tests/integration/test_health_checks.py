"""Camera health checks against the RTSP test server: a stopped stream, a black, a frozen and a covered
one (generated with ffmpeg), a healthy clip, and recovery. Each probe samples 4 frames at 2 frames/s,
so it takes a few seconds; the probes of one test run together (one sweep). Needs ffmpeg and
GStreamer's RTSP server like the video tests (skipped without them, a failure under CI).
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path

import pytest

from gwanje.maintenance.health import service as health
from gwanje.maintenance.health.service import ProbeSettings
from tests.conftest import IN_CI
from tests.integration.test_video import PERSON, SERVER_SCRIPT, SQLITE_ONLY, SYSTEM_PYTHON, _missing_tools

SETTINGS = ProbeSettings(frames=4, fps=2.0, connect_timeout_s=3.0, time_limit_s=10.0)
USER, PASSWORD = "health", "S3cret:p@ss"

# Generated sources, 320x180 at 10 frames/s with a keyframe every second (like a camera's GOP).
SOURCES = {
    "black": ["-f", "lavfi", "-i", "color=c=black:s=320x180:r=10:d=4"],
    # one picture repeated: the encoder fed the same frame again and again
    "frozen": ["-f", "lavfi", "-i", "testsrc2=s=320x180:r=10:d=4,trim=end_frame=1,loop=loop=-1:size=1,trim=end=4"],
    # a hand over the lens: a dark, even grey with the sensor's noise on it
    "covered": ["-f", "lavfi", "-i", "color=c=0x303030:s=320x180:r=10:d=4,noise=alls=6:allf=t"],
    "moving": ["-f", "lavfi", "-i", "testsrc2=s=320x180:r=10:d=4"],
}


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    problem = _missing_tools()
    if problem:
        if IN_CI:
            pytest.fail(f"health checks need ffmpeg and GStreamer under CI: {problem}")
        pytest.skip(problem)
    folder = tmp_path_factory.mktemp("health-clips")
    out = {"healthy": PERSON}
    for name, source in SOURCES.items():
        target = folder / f"{name}.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", *source, "-an", "-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p"]
            + ["-t", "4", str(target)],
            check=True,
            timeout=60,
        )
        out[name] = target
    return out


class Server:
    """One RTSP test server process on a chosen port (so a restart serves the same addresses)."""

    def __init__(self, port: int, streams: dict[str, Path], auth: str | None = None):
        args = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", str(port)]
        if auth:
            args += ["--auth", auth]
        args += [f"{name}={path}" for name, path in streams.items()]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.proc.kill()
            pytest.fail(f"RTSP test server did not start: {line!r} {self.proc.stderr.read()[-500:]}")
        self.port = int(line.split()[1])

    def url(self, path: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sweep(targets: list[tuple[int | None, str]]) -> list[health.Probe]:
    return asyncio.run(health.sweep(targets, concurrency=8, settings=SETTINGS))


def test_each_fault_is_named_and_a_healthy_clip_is_healthy(clips):
    server = Server(0, {name: clips[name] for name in ("black", "frozen", "covered", "moving", "healthy")})
    try:
        names = ["black", "frozen", "covered", "moving", "healthy", "no-such-camera"]
        probes = _sweep([(i, server.url(n)) for i, n in enumerate(names)])
    finally:
        server.stop()
    found = {n: p for n, p in zip(names, probes, strict=True)}
    assert found["black"].kinds == ["black"]
    assert found["frozen"].kinds == ["frozen"]
    assert found["covered"].kinds == ["covered"]
    assert found["moving"].kinds == ["healthy"] and found["moving"].frames == 4
    assert found["healthy"].kinds == ["healthy"] and found["healthy"].reachable
    missing = found["no-such-camera"]
    assert missing.kinds == ["unreachable"] and not missing.reachable and missing.frames == 0
    assert "404" in missing.verdicts[0].en
    assert all(p.duration_s < SETTINGS.time_limit_s + 2 for p in probes)
    assert [p.camera_id for p in probes] == list(range(len(names)))


def test_a_stopped_stream_is_unreachable_and_recovery_is_healthy_again(clips):
    port = _free_port()
    server = Server(port, {"cam": clips["black"]})
    try:
        (black,) = _sweep([(1, server.url("cam"))])
    finally:
        server.stop()
    assert black.kinds == ["black"]
    (stopped,) = _sweep([(1, f"rtsp://127.0.0.1:{port}/cam")])
    assert stopped.kinds == ["unreachable"] and not stopped.reachable
    assert stopped.duration_s < SETTINGS.connect_timeout_s + 2
    server = Server(port, {"cam": clips["healthy"]})  # the camera repaired: same address, a good picture
    try:
        (recovered,) = _sweep([(1, server.url("cam"))])
    finally:
        server.stop()
    assert recovered.kinds == ["healthy"] and recovered.healthy


@SQLITE_ONLY
def test_a_sweep_of_the_registry_opens_sealed_credentials_and_never_shows_them(harness, clips):
    server = Server(0, {"good": clips["healthy"], "frozen": clips["frozen"]}, auth=f"{USER}:{PASSWORD}")
    try:
        ids = {}
        for number, body in {
            "H-1": {"stream_url": server.url("good"), "stream_username": USER, "stream_password": PASSWORD},
            "H-2": {"stream_url": server.url("frozen"), "stream_username": USER, "stream_password": PASSWORD},
            "H-3": {"stream_url": server.url("good"), "stream_username": USER, "stream_password": "wrong"},
            "H-4": {},  # no stream: not swept
        }.items():
            resp = harness.client.post(
                "/api/cameras",
                json={
                    "management_number": number,
                    "department": "autonomous_admin",
                    "primary_purpose": "crime_prevention",
                    "latitude": 37.5636,
                    "longitude": 127.0369,
                    "site": {"road_address": f"서울특별시 성동구 {number}"},
                    **body,
                },
                headers=harness.token("district_manager"),
            )
            assert resp.status_code == 201, resp.text
            ids[number] = resp.json()["id"]
        assert health.cameras_with_streams(harness.db) == [ids["H-1"], ids["H-2"], ids["H-3"]]
        probes = asyncio.run(
            health.sweep_cameras(harness.db, harness.app.state.credentials, concurrency=4, settings=SETTINGS)
        )
    finally:
        server.stop()
    by_id = {p.camera_id: p for p in probes}
    assert by_id[ids["H-1"]].kinds == ["healthy"]
    assert by_id[ids["H-2"]].kinds == ["frozen"]
    refused = by_id[ids["H-3"]]
    assert refused.kinds == ["unreachable"] and "401" in refused.verdicts[0].en
    # a camera asked for by id that has no stream address: unreachable, saying why, and no ffmpeg started
    (bare,) = asyncio.run(health.sweep_cameras(harness.db, harness.app.state.credentials, camera_ids=[ids["H-4"]]))
    assert bare.kinds == ["unreachable"] and "no stream address" in bare.verdicts[0].en and bare.camera_id == ids["H-4"]
    for p in probes:
        for v in p.verdicts:
            assert PASSWORD not in v.en + v.ko and "wrong" not in v.en + v.ko
