"""The video service opens a camera that asks for credentials, with the ones sealed in the registry.

The RTSP test server runs with ``--auth`` (RTSP Basic), like a real camera: without the user name
and password it answers 401. The camera is registered over the API with them in its address; the
registry then shows no trace of them, and the snapshot still arrives (issue 8, finding 1). SQLite
only, like the other heavy video tests.
"""

from __future__ import annotations

import subprocess

import httpx
import pytest

from gwanje.video import recorder
from gwanje.video import service as video_service
from tests.conftest import IN_CI, Harness
from tests.integration.test_video import PERSON, SERVER_SCRIPT, SQLITE_ONLY, SYSTEM_PYTHON, _is_jpeg, _missing_tools

USER, PASSWORD = "viewer", "Cam#Pa55:w@rd"
ENCODED = "viewer:Cam%23Pa55%3Aw%40rd"


@pytest.fixture(scope="module")
def locked_rtsp():
    """An RTSP server whose ``/person`` asks for USER / PASSWORD; yields the port."""
    problem = _missing_tools()
    if problem:
        if IN_CI:
            pytest.fail(f"video tests need ffmpeg and GStreamer under CI: {problem}")
        pytest.skip(problem)
    proc = subprocess.Popen(
        [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--port", "0", "--auth", f"{USER}:{PASSWORD}", f"person={PERSON}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        if not line.startswith("READY "):
            proc.kill()
            pytest.fail(f"RTSP test server did not start: {line!r} {proc.stderr.read()[-500:]}")
        yield int(line.split()[1])
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _register(harness: Harness, number: str, body: dict) -> dict:
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
    return resp.json()


def _snapshot(harness: Harness, camera_id: int) -> httpx.Response:
    return harness.client.get(
        f"/api/cameras/{camera_id}/snapshot.jpg",
        params={"purpose": "crime_prevention"},
        headers=harness.token("monitoring_agent"),
    )


@SQLITE_ONLY
def test_snapshot_opens_a_password_protected_camera_whose_password_no_reader_sees(harness, locked_rtsp):
    cam = _register(harness, "SD-V-AUTH", {"stream_url": f"rtsp://{ENCODED}@127.0.0.1:{locked_rtsp}/person"})
    read = harness.client.get(f"/api/cameras/{cam['id']}", headers=harness.token("police_officer"))
    assert read.status_code == 200 and PASSWORD not in read.text and "Pa55" not in read.text and USER not in read.text
    assert read.json()["stream_configured"] and read.json()["stream_credentials_set"]

    resp = _snapshot(harness, cam["id"])
    assert resp.status_code == 200, resp.text
    assert _is_jpeg(resp.content)
    # What ffmpeg receives: the stored address with the sealed credentials put back in.
    opened = video_service.stream_source(harness.db, cam["id"], harness.app.state.credentials)
    assert opened == f"rtsp://{ENCODED}@127.0.0.1:{locked_rtsp}/person"
    # The recorder opens the same address.
    set_recording = harness.client.put(
        f"/api/video/cameras/{cam['id']}/recording", json={"enabled": True}, headers=harness.token("district_manager")
    )
    assert set_recording.status_code == 200, set_recording.text
    targets = recorder.enabled_targets(harness.db, harness.app.state.credentials)
    assert [t.stream_url for t in targets] == [opened]
    assert PASSWORD not in repr(targets)


@SQLITE_ONLY
def test_without_the_credentials_the_camera_refuses_and_the_error_names_no_password(harness, locked_rtsp):
    bare = _register(harness, "SD-V-NOAUTH", {"stream_url": f"rtsp://127.0.0.1:{locked_rtsp}/person"})
    refused = _snapshot(harness, bare["id"])
    assert refused.status_code == 503, refused.text
    wrong = _register(
        harness,
        "SD-V-WRONG",
        {"stream_url": f"rtsp://127.0.0.1:{locked_rtsp}/person", "stream_username": USER, "stream_password": "nope"},
    )
    failed = _snapshot(harness, wrong["id"])
    assert failed.status_code == 503 and "nope" not in failed.text and USER not in failed.text
