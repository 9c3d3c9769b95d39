"""Video against a real RTSP server on loopback: live MJPEG, snapshots, recording, clips, retention, ONVIF.

The RTSP server is GStreamer's (``gwanje/video/rtsp_test_server.py`` run by Debian's
``/usr/bin/python3``) looping the sample clips in ``shared/data/video``. Under ``CI=true`` a
missing ffmpeg or GStreamer fails the run; elsewhere these tests are skipped with the reason.

The heavy tests run on SQLite only (``database_url`` parametrised indirectly): the database does
nothing there that the PostgreSQL runs of the other tests do not already cover. Retention and the
routes' refusals run on both engines.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

import gwanje.video.models  # noqa: F401 - the video tables in the metadata, until gwanje.models imports them
from gwanje.cli.demo_wiring import SYSTEM_PYTHON, video_tools_problem
from gwanje.core.audit import Actor
from gwanje.registry import service as registry
from gwanje.registry.schemas import CameraCreate
from gwanje.video import live, onvif, probe, recorder, video_codec_of
from gwanje.video import service as video_service
from gwanje.video.models import RecordingSegment, VideoClip
from tests.conftest import IN_CI, SHARED_DATA, Harness

SERVER_SCRIPT = Path(__file__).resolve().parents[2] / "src" / "gwanje" / "video" / "rtsp_test_server.py"
PERSON = SHARED_DATA / "video" / "intel_one-by-one-person-detection.mp4"  # 768x432 H.264, keyframe every 1 s
CAR = SHARED_DATA / "video" / "intel_car-detection.mp4"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _missing_tools() -> str | None:
    problem = video_tools_problem()
    if problem:
        return problem
    if not PERSON.exists() or not CAR.exists():
        return f"sample clips not found in {PERSON.parent}"
    return None


@pytest.fixture(scope="module")
def rtsp():
    """The RTSP server: ``rtsp(path)`` is the URL of ``/person`` or ``/car``."""
    problem = _missing_tools()
    if problem:
        if IN_CI:
            pytest.fail(f"video tests need ffmpeg and GStreamer under CI: {problem}")
        pytest.skip(problem)
    proc = subprocess.Popen(
        [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", "0", f"person={PERSON}", f"car={CAR}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        if not line.startswith("READY "):
            proc.kill()
            pytest.fail(f"RTSP test server did not start: {line!r} {proc.stderr.read()[-500:]}")
        port = int(line.split()[1])
        yield lambda path: f"rtsp://127.0.0.1:{port}/{path}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _camera(h: Harness, number: str, stream_url: str | None) -> int:
    with h.db.uow() as uow:
        camera = registry.create_camera(
            uow,
            Actor.system("test"),
            h.policy,
            CameraCreate(
                management_number=number,
                department="autonomous_admin",
                primary_purpose="crime_prevention",
                latitude=37.5636,
                longitude=127.0369,
                site={"road_address": f"서울특별시 성동구 {number}"},
                stream_url=stream_url,
                installed_by="district",
            ),
        )
        uow.commit()
        return camera.id


@pytest.fixture
def h(harness):
    from gwanje.web.app import iter_api_routes

    assert any(r.path == "/api/cameras/{camera_id}/live.mjpeg" for r in iter_api_routes(harness.app.routes))
    return harness


def _is_jpeg(data: bytes) -> bool:
    return data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9" and len(data) > 1000


# ---- the test server itself ----------------------------------------------------------------------


def test_rtsp_test_server_streams_the_sample_clip_as_h264(rtsp):
    info = probe(rtsp("person"))
    video = [s for s in info["streams"] if s["codec_type"] == "video"][0]
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 768, 432)


# ---- live view -----------------------------------------------------------------------------------


def test_two_viewers_share_one_transcoder_that_stops_after_they_leave(rtsp):
    async def scenario():
        hub = live.LiveHub(linger_s=1.0)
        url = rtsp("person")
        counts = []

        async def viewer(n: int) -> list[bytes]:
            got = []
            async for frame in hub.frames(1, url):
                got.append(frame)
                counts.append(hub.process_count())
                if len(got) >= n:
                    break
            return got

        first, second = await asyncio.gather(viewer(6), viewer(3))
        snap = await hub.snapshot(1, url)  # from the running stream: no second ffmpeg
        lingering = hub.process_count()
        await asyncio.sleep(2.0)
        return first, second, counts, hub.starts, snap, lingering, hub.process_count()

    first, second, counts, starts, snap, lingering, after = asyncio.run(scenario())
    assert all(_is_jpeg(f) for f in first + second)
    assert set(counts) == {1} and starts == 1
    assert _is_jpeg(snap)
    assert lingering == 1 and after == 0


class _Server:
    """The harness app served by uvicorn on loopback: streaming needs a real HTTP server."""

    def __init__(self, app):
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.should_exit = True
        self.thread.join(10)


def _read_parts(chunks, n: int) -> list[bytes]:  # noqa: ANN001
    """The next ``n`` JPEGs of a multipart/x-mixed-replace body (an iterator over its bytes)."""
    frames = []
    splitter = live.JpegSplitter()
    for chunk in chunks:
        frames += splitter.feed(chunk)
        if len(frames) >= n:
            break
    return frames[:n]


@SQLITE_ONLY
def test_live_mjpeg_is_shared_by_viewers_and_ends_when_the_grant_does(h, rtsp, monkeypatch):
    from gwanje.accounts import service as accounts

    monkeypatch.setattr(video_service, "GRANT_RECHECK_SECONDS", 0.5)
    cam = _camera(h, "SD-V-LIVE", rtsp("person"))
    h.app.state.video_hub = live.LiveHub(linger_s=1.0)
    hub = h.app.state.video_hub
    agent = h.token("monitoring_agent")
    path = f"/api/cameras/{cam}/live.mjpeg"
    with (
        _Server(h.app) as base,
        httpx.Client(base_url=base, timeout=30) as c1,
        httpx.Client(base_url=base, timeout=30) as c2,
    ):
        with (
            c1.stream("GET", path, params={"purpose": "crime_prevention"}, headers=agent) as r1,
            c2.stream("GET", path, params={"purpose": "crime_prevention"}, headers=agent) as r2,
        ):
            assert r1.status_code == 200 and r2.status_code == 200
            assert r1.headers["content-type"].startswith("multipart/x-mixed-replace")
            # Keep each body iterator alive: dropping one closes its response.
            it1, it2 = r1.iter_bytes(), r2.iter_bytes()
            assert all(_is_jpeg(f) for f in _read_parts(it1, 3) + _read_parts(it2, 3))
            assert hub.process_count() == 1 and hub.viewers(cam) == 2
        deadline = time.monotonic() + 10
        while hub.process_count() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert hub.process_count() == 0, "the transcoder must stop after the last viewer leaves"

        # Locking the account voids the grant: the open stream ends by itself.
        with c1.stream("GET", path, params={"purpose": "crime_prevention"}, headers=agent) as r3:
            chunks = r3.iter_bytes()
            assert _read_parts(chunks, 1)
            username = next(u for u in _usernames(h) if "monitoring_agent" in u)
            with h.db.uow() as uow:
                accounts.set_locked(uow, Actor.system("test"), username, True)
                uow.commit()
            started = time.monotonic()
            for _ in chunks:
                assert time.monotonic() - started < 15, "stream kept going after the grant ended"
        # without a purpose nothing is opened
        assert c2.get(path, headers=h.token("district_manager")).status_code == 422


def _usernames(h: Harness) -> list[str]:
    from gwanje.accounts.models import User

    with h.db.reading() as s:
        return list(s.scalars(sa.select(User.username)))


@SQLITE_ONLY
def test_snapshot_is_a_jpeg_and_each_opening_is_authorised_and_audited(h, rtsp):
    from gwanje.core.audit import AuditEntry

    cam = _camera(h, "SD-V-SNAP", rtsp("person"))
    resp = h.client.get(
        f"/api/cameras/{cam}/snapshot.jpg", params={"purpose": "crime_prevention"}, headers=h.token("monitoring_agent")
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "image/jpeg" and _is_jpeg(resp.content)
    # A police officer without an incident is refused, with the clause (Art. 9 ⑤).
    refused = h.client.get(
        f"/api/cameras/{cam}/snapshot.jpg", params={"purpose": "crime_prevention"}, headers=h.token("police_officer")
    )
    assert refused.status_code == 403 and refused.json()["clause"]
    with h.db.reading() as s:
        actions = list(s.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("video.access.%"))))
    assert actions == ["video.access.allowed", "video.access.denied"]


def test_routes_refuse_without_purpose_and_for_unknown_cameras(h):
    agent = h.token("monitoring_agent")
    assert h.client.get("/api/cameras/1/snapshot.jpg", headers=agent).status_code == 422
    assert (
        h.client.get("/api/cameras/999/snapshot.jpg", params={"purpose": "crime_prevention"}, headers=agent).status_code
        == 404
    )
    assert h.client.get("/api/cameras/999/snapshot.jpg", params={"purpose": "crime_prevention"}).status_code == 401
    cam = _camera(h, "SD-V-NOURL", None)
    resp = h.client.get(f"/api/cameras/{cam}/snapshot.jpg", params={"purpose": "crime_prevention"}, headers=agent)
    assert resp.status_code == 409 and resp.json()["field"] == "stream_url"
    manager = h.token("district_manager")
    for body in ({"enabled": True, "segment_seconds": 1}, {"enabled": "yes please"}, {"enabled": True, "x": 1}, []):
        assert h.client.put(f"/api/video/cameras/{cam}/recording", json=body, headers=manager).status_code == 422
    assert (
        h.client.put(f"/api/video/cameras/{cam}/recording", json={"enabled": True}, headers=manager).json()["field"]
        == "stream_url"
    )  # nothing to record from
    clip = f"/api/cameras/{cam}/clips"
    audited = _video_access_entries(h)
    for body in (
        {"start": "2026-11-26T10:00:00", "end": "2026-11-26T10:01:00"},  # no UTC offset
        {"start": "2026-11-26T10:01:00+09:00", "end": "2026-11-26T10:00:00+09:00"},  # inverted
        {"start": "2026-11-26T00:00:00+09:00", "end": "2026-11-27T00:00:00+09:00"},
    ):  # too long
        resp = h.client.post(clip, json=body, params={"purpose": "crime_prevention"}, headers=agent)
        assert resp.status_code == 422, resp.text
    assert _video_access_entries(h) == audited  # refused before anything was opened or audited


def _video_access_entries(h: Harness) -> int:
    from gwanje.core.audit import AuditEntry

    with h.db.reading() as s:
        return s.scalar(
            sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action.like("video.access.%"))
        )


# ---- recording, playback and export ----------------------------------------------------------------


@SQLITE_ONLY
def test_recorder_stores_segments_by_stream_copy_and_clips_cut_by_time(h, rtsp):
    cam = _camera(h, "SD-V-REC", rtsp("person"))
    manager = h.token("district_manager")
    resp = h.client.put(
        f"/api/video/cameras/{cam}/recording", json={"enabled": True, "segment_seconds": 2}, headers=manager
    )
    assert resp.status_code == 200 and resp.json()["enabled"] is True
    assert (
        h.client.put(
            f"/api/video/cameras/{cam}/recording", json={"enabled": True}, headers=h.token("monitoring_agent")
        ).status_code
        == 403
    )

    var_dir = Path(h.settings.var_dir)

    async def record(seconds: float) -> recorder.Recorder:
        rec = recorder.Recorder(h.db, var_dir, poll_s=60)
        await rec.sync()
        cam_rec = rec.cameras[cam][0]
        await asyncio.sleep(seconds)
        command = list(cam_rec.command or [])
        await rec.stop()
        return cam_rec, command

    cam_rec, command = asyncio.run(record(9.0))
    # Stream copy: video copied, no encoder named, audio never taken.
    assert command[command.index("-c") + 1] == "copy" and "-an" in command
    assert not {"-c:v", "-vcodec", "-vf"} & set(command)

    with h.db.reading() as s:
        segs = list(
            s.scalars(
                sa.select(RecordingSegment)
                .where(RecordingSegment.camera_id == cam)
                .order_by(RecordingSegment.started_at)
            )
        )
    assert len(segs) >= 3 and cam_rec.indexed == len(segs)
    source = [st for st in probe(PERSON)["streams"] if st["codec_type"] == "video"][0]
    for seg in segs:
        path = var_dir / seg.path
        assert path.exists() and path.stat().st_size == seg.bytes
        assert hashlib.sha256(path.read_bytes()).hexdigest() == seg.sha256
        stored = [st for st in probe(path)["streams"] if st["codec_type"] == "video"]
        assert len(stored) == 1  # video only
        assert (stored[0]["codec_name"], stored[0]["width"], stored[0]["height"], stored[0]["profile"]) == (
            source["codec_name"],
            source["width"],
            source["height"],
            source["profile"],
        )
    # Consecutive segments follow each other in time (the anchor is within a second).
    for a, b in zip(segs, segs[1:]):
        assert abs((b.started_at - a.ended_at).total_seconds()) < 1.0

    listed = h.client.get(
        f"/api/video/cameras/{cam}/segments",
        headers=h.token("monitoring_agent"),
        params={"start": segs[0].started_at.isoformat(), "end": segs[-1].ended_at.isoformat()},
    )
    assert listed.status_code == 200 and len(listed.json()["items"]) == len(segs)

    # Playback of 4 s from inside the recording: one MP4 of 4 s (±1 s), range requests served.
    start = segs[0].started_at + timedelta(seconds=0.5)
    end = start + timedelta(seconds=4)
    params = {"purpose": "crime_prevention", "start": start.isoformat(), "end": end.isoformat()}
    agent = h.token("monitoring_agent")
    resp = h.client.get(f"/api/cameras/{cam}/playback", params=params, headers=agent)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "video/mp4"
    clip_path = var_dir / "clip-check.mp4"
    clip_path.write_bytes(resp.content)
    info = probe(clip_path)
    assert abs(float(info["format"]["duration"]) - 4.0) <= 1.0
    assert video_codec_of(info) == "h264"
    ranged = h.client.get(f"/api/cameras/{cam}/playback", params=params, headers={**agent, "Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.content) == 100
    assert ranged.headers["x-clip-id"] == resp.headers["x-clip-id"]  # the cut is cached, not redone

    # Export: a kept copy, downloadable with a purpose, refused without one.
    made = h.client.post(
        f"/api/cameras/{cam}/clips",
        params={"purpose": "crime_prevention"},
        headers=agent,
        json={"start": start.isoformat(), "end": (start + timedelta(seconds=3)).isoformat()},
    )
    assert made.status_code == 201, made.text
    clip = made.json()
    assert abs(clip["seconds"] - 3.0) <= 1.0
    dl = h.client.get(f"/api/video/clips/{clip['id']}/file", params={"purpose": "crime_prevention"}, headers=agent)
    assert dl.status_code == 200 and hashlib.sha256(dl.content).hexdigest() == clip["sha256"]
    assert h.client.get(f"/api/video/clips/{clip['id']}/file", headers=agent).status_code == 422

    # Nothing recorded then: 404.
    never = {"purpose": "crime_prevention", "start": "2020-01-01T00:00:00+09:00", "end": "2020-01-01T00:01:00+09:00"}
    assert h.client.get(f"/api/cameras/{cam}/playback", params=never, headers=agent).status_code == 404


# ---- retention --------------------------------------------------------------------------------------


def test_retention_destroys_old_unheld_recordings_and_records_each_destruction(h, tmp_path):
    from gwanje.access.retention import service as access  # holds and destruction records
    from gwanje.access.models import LedgerEntry
    from gwanje.core.audit import AuditEntry
    from gwanje.video.retention import run_retention

    cam = _camera(h, "SD-V-RET", "rtsp://127.0.0.1:1/none")  # retention_days defaults to 30
    var_dir = Path(h.settings.var_dir)
    now = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)
    folder = recorder.recordings_dir(var_dir, cam)
    folder.mkdir(parents=True)

    def segment(name: str, age_days: float) -> int:
        path = folder / f"{name}.mp4"
        path.write_bytes(b"\0" * 64)
        end = now - timedelta(days=age_days)
        row = recorder.index_segment(h.db, var_dir, cam, path, end - timedelta(seconds=60), end, "h264")
        return row.id

    old, held, recent = segment("old", 31), segment("held", 40), segment("recent", 29)
    it = h.user("it_officer", "district_it_officer")
    access.place_hold(
        h.db,
        h.policy,
        it,
        object_type="recording",
        object_id=str(held),
        legal_basis="수사기관 보존 요청 (형사소송법 제215조) / police preservation request",
    )

    report = run_retention(h.db, h.policy, var_dir, now=now)
    assert report.destroyed_segments == [old] and report.held_segments == [held] and not report.errors
    assert not (folder / "old.mp4").exists()
    assert (folder / "held.mp4").exists() and (folder / "recent.mp4").exists()
    with h.db.reading() as s:
        rows = {r.id: r for r in s.scalars(sa.select(RecordingSegment))}
        assert rows[old].destroyed_at == now and "30 days" in rows[old].destroyed_reason
        assert rows[held].destroyed_at is None and rows[recent].destroyed_at is None
        ledger = list(s.scalars(sa.select(LedgerEntry).where(LedgerEntry.kind == "destruction")))
        assert [(e.reference_type, e.reference_id, e.method) for e in ledger] == [
            ("recording", str(old), "auto_delete")
        ]
        audit = list(s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "retention.destroyed")))
        assert [a.object_id for a in audit] == [str(old)]

    # A second pass destroys nothing more; once the hold is released, the held one goes too.
    assert run_retention(h.db, h.policy, var_dir, now=now).destroyed_segments == []
    with h.db.reading() as s:
        hold_id = access.active_holds(s, "recording", [str(held)])[str(held)][0].id
    access.release_hold(h.db, h.policy, it, hold_id, reason="수사 종결 / investigation closed")
    assert run_retention(h.db, h.policy, var_dir, now=now).destroyed_segments == [held]


def test_expired_playback_cache_is_removed_and_audited(h):
    from gwanje.core.audit import AuditEntry
    from gwanje.video.retention import run_retention

    cam = _camera(h, "SD-V-CACHE", "rtsp://127.0.0.1:1/none")
    var_dir = Path(h.settings.var_dir)
    path = var_dir / "clips" / str(cam) / "playback-x.mp4"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\0" * 10)
    now = datetime.now(timezone.utc)
    with h.db.uow() as uow:
        clip = VideoClip(
            kind="playback",
            camera_id=cam,
            start_at=now,
            end_at=now,
            path=str(path.relative_to(var_dir)),
            bytes=10,
            sha256="0" * 64,
            duration_s=1.0,
            segment_ids=",",
            purpose="crime_prevention",
            created_by_name="t",
            created_at=now - timedelta(hours=2),
            expires_at=now - timedelta(hours=1),
        )
        uow.session.add(clip)
        uow.commit()
    report = run_retention(h.db, h.policy, var_dir, now=now)
    assert report.expired_playback == [clip.id] and not path.exists()
    with h.db.reading() as s:
        assert (
            s.scalar(
                sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "video.clip.expired")
            )
            == 1
        )


# ---- ONVIF ------------------------------------------------------------------------------------------


class _OnvifCamera(BaseHTTPRequestHandler):
    """Answers GetCapabilities, GetProfiles and GetStreamUri; checks the WS-UsernameToken digest."""

    password = "s3cret!"
    rtsp_url = "rtsp://10.0.0.5:554/Streaming/Channels/101"
    calls: list[str] = []

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass

    def do_POST(self) -> None:
        import re

        body = self.rfile.read(int(self.headers["content-length"])).decode()
        nonce = base64.b64decode(re.search(r"<wsse:Nonce[^>]*>([^<]+)<", body).group(1))
        created = re.search(r"<wsu:Created>([^<]+)<", body).group(1)
        digest = re.search(r"<wsse:Password[^>]*>([^<]+)<", body).group(1)
        if digest != onvif.password_digest(nonce, created, self.password):
            return self._answer(400, "<s:Fault><s:Reason><s:Text>Sender not authorized</s:Text></s:Reason></s:Fault>")
        op = re.search(r"<(?:tds|trt):(GetCapabilities|GetProfiles|GetStreamUri)", body).group(1)
        self.calls.append(f"{self.path} {op}")
        port = self.server.server_address[1]
        answers = {
            "GetCapabilities": f"<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Media>"
            f"<tt:XAddr>http://127.0.0.1:{port}/onvif/media_service</tt:XAddr>"
            f"</tt:Media></tds:Capabilities></tds:GetCapabilitiesResponse>",
            "GetProfiles": '<trt:GetProfilesResponse><trt:Profiles token="Profile_1" fixed="true"><tt:Name>main'
            '</tt:Name></trt:Profiles><trt:Profiles token="Profile_2"/></trt:GetProfilesResponse>',
            "GetStreamUri": f"<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>{self.rtsp_url}</tt:Uri>"
            f"</trt:MediaUri></trt:GetStreamUriResponse>",
        }
        self._answer(200, answers[op])

    def _answer(self, status: int, body: str) -> None:
        data = (
            f'<?xml version="1.0"?><s:Envelope xmlns:s="{onvif.NS["s"]}" xmlns:tds="{onvif.NS["tds"]}" '
            f'xmlns:trt="{onvif.NS["trt"]}" xmlns:tt="{onvif.NS["tt"]}"><s:Body>{body}</s:Body>'
            f"</s:Envelope>"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/soap+xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_onvif_get_stream_uri_with_username_token_digest():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OnvifCamera)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        _OnvifCamera.calls.clear()
        uri = onvif.get_stream_uri(f"http://admin:s3cret%21@127.0.0.1:{port}/onvif/device_service")
        assert uri == "rtsp://admin:s3cret%21@10.0.0.5:554/Streaming/Channels/101"
        assert _OnvifCamera.calls == [
            "/onvif/device_service GetCapabilities",
            "/onvif/media_service GetProfiles",
            "/onvif/media_service GetStreamUri",
        ]
        assert onvif.resolve_stream_url(f"onvif://admin:s3cret%21@127.0.0.1:{port}") == uri
        with pytest.raises(onvif.OnvifError, match="not authorized"):
            onvif.get_stream_uri(f"http://admin:wrong@127.0.0.1:{port}/onvif/device_service")
        assert onvif.resolve_stream_url("rtsp://cam/1") == "rtsp://cam/1"
    finally:
        server.shutdown()
        server.server_close()
