"""The ledger records video actually delivered, once per viewing act (issue 9 §1).

A live view, a snapshot and a playback each write exactly one ledger row, when the first frame, the
snapshot's bytes or the clip are in hand; an opening that delivers nothing (no stream address, no
recording) writes no ledger row and one ``video.access.failed`` row on the audit chain, with its
reason. Against the real RTSP test server and real recorded segments.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from gwanje.access.models import LedgerEntry
from gwanje.core.audit import AuditEntry
from gwanje.core.clock import utcnow
from gwanje.video import live
from tests.e2e.test_video_console import _record
from tests.integration.test_video import SQLITE_ONLY, _camera, _is_jpeg, _read_parts, _Server, rtsp  # noqa: F401

PURPOSE = {"purpose": "crime_prevention"}


def _ledger(h):
    with h.db.reading() as s:
        return list(s.scalars(sa.select(LedgerEntry).order_by(LedgerEntry.id)))


def _audit(h, action):
    with h.db.reading() as s:
        return list(s.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


@pytest.fixture
def h(harness):
    return harness


@SQLITE_ONLY
def test_a_snapshot_is_one_ledger_row_written_with_its_bytes(h, rtsp):  # noqa: F811 - the RTSP fixture
    cam = _camera(h, "SD-L-SNAP", rtsp("person"))
    resp = h.client.get(f"/api/cameras/{cam}/snapshot.jpg", params=PURPOSE, headers=h.token("monitoring_agent"))
    assert resp.status_code == 200 and _is_jpeg(resp.content)
    [row] = _ledger(h)
    assert (row.kind, row.method, row.camera_ids) == ("use", "snapshot", f",{cam},")
    assert row.items == "CCTV SD-L-SNAP"  # the camera has no name: no empty parentheses
    [allowed] = _audit(h, "video.access.allowed")
    assert row.audit_seq == allowed.seq
    assert _audit(h, "video.access.failed") == []


@SQLITE_ONLY
def test_a_live_view_is_one_ledger_row_written_with_its_first_frame(h, rtsp):  # noqa: F811 - the RTSP fixture
    cam = _camera(h, "SD-L-LIVE", rtsp("person"))
    h.app.state.video_hub = live.LiveHub(linger_s=0.5)
    with (
        _Server(h.app) as base,
        httpx.Client(base_url=base, timeout=30) as client,
        client.stream(
            "GET", f"/api/cameras/{cam}/live.mjpeg", params=PURPOSE, headers=h.token("monitoring_agent")
        ) as resp,
    ):
        assert resp.status_code == 200
        frames = _read_parts(resp.iter_bytes(), 5)
        assert len(frames) == 5 and all(_is_jpeg(f) for f in frames)
        rows = _ledger(h)
    assert [(r.method, r.camera_ids) for r in rows] == [("live_view", f",{cam},")]  # one, for five frames
    time.sleep(1.0)  # the stream has ended: still one row, and no failure recorded
    assert len(_ledger(h)) == 1 and _audit(h, "video.access.failed") == []


@SQLITE_ONLY
def test_a_live_view_that_never_shows_a_frame_is_a_failure_not_a_viewing(h, rtsp):  # noqa: F811 - the RTSP fixture
    cam = _camera(h, "SD-L-DEAD", rtsp("no-such-path"))  # the server answers, the camera sends nothing
    h.app.state.video_hub = live.LiveHub(linger_s=0.5, frame_timeout_s=3.0)
    with (
        _Server(h.app) as base,
        httpx.Client(base_url=base, timeout=30) as client,
        client.stream(
            "GET", f"/api/cameras/{cam}/live.mjpeg", params=PURPOSE, headers=h.token("monitoring_agent")
        ) as resp,
    ):
        assert resp.status_code == 200  # the stream starts; no frame ever comes
        assert b"".join(resp.iter_bytes()) == b""
    assert _ledger(h) == []
    [failed] = _audit(h, "video.access.failed")
    after = json.loads(failed.after)
    assert after["code"] == "no_video" and "no picture from the camera" in after["reason"]


def test_an_opening_that_delivers_nothing_is_an_audited_failure_and_no_ledger_row(h):
    cam = _camera(h, "SD-L-NOURL", None)  # no stream address: 409
    agent = h.token("monitoring_agent")
    for resource in ("snapshot.jpg", "live.mjpeg"):
        resp = h.client.get(f"/api/cameras/{cam}/{resource}", params=PURPOSE, headers=agent)
        assert resp.status_code == 409 and resp.json()["field"] == "stream_url"
    assert _ledger(h) == []
    failed = _audit(h, "video.access.failed")
    assert len(failed) == 2
    allowed = _audit(h, "video.access.allowed")
    for entry, decided in zip(failed, allowed):
        after = json.loads(entry.after)
        assert (entry.object_id, entry.purpose) == (str(cam), "crime_prevention")
        assert (after["status"], after["code"], after["allowed_seq"]) == (409, "conflict", decided.seq)
        assert after["reason"] == "the camera has no stream address" and after["reason_ko"]
    # Nothing recorded then: a 404 playback is a failure too, not a viewing.
    never = {**PURPOSE, "start": "2020-01-01T00:00:00+09:00", "end": "2020-01-01T00:01:00+09:00"}
    assert h.client.get(f"/api/cameras/{cam}/playback", params=never, headers=agent).status_code == 404
    assert _ledger(h) == [] and len(_audit(h, "video.access.failed")) == 3


def test_a_playback_is_one_ledger_row_for_all_its_byte_ranges(h):
    cam = _camera(h, "SD-L-PLAY", None)
    start = (utcnow() - timedelta(minutes=5)).replace(microsecond=0)
    _record(h, cam, start, seconds=4)
    agent = h.token("monitoring_agent")
    window = {
        **PURPOSE,
        "start": (start + timedelta(seconds=1)).isoformat(),
        "end": (start + timedelta(seconds=3)).isoformat(),
    }
    path = f"/api/cameras/{cam}/playback"
    first = h.client.get(path, params=window, headers={**agent, "Range": "bytes=0-"})
    assert first.status_code == 206 and first.content[4:8] == b"ftyp"
    size = len(first.content)
    # The player's later ranges of the same clip are the same viewing: no new row.
    for rng in (f"bytes={size // 2}-", "bytes=-100", f"bytes={size - 10}-{size - 1}"):
        part = h.client.get(path, params=window, headers={**agent, "Range": rng})
        assert part.status_code == 206, rng
    [row] = _ledger(h)
    assert (row.method, row.kind) == ("playback", "use")
    assert (row.period_start, row.period_end) == (start + timedelta(seconds=1), start + timedelta(seconds=3))
    assert len(_audit(h, "video.access.allowed")) == 4  # each request was authorised and audited
    # Watching it again from the start is a second viewing act.
    assert h.client.get(path, params=window, headers=agent).status_code == 200
    assert len(_ledger(h)) == 2
    # A later range nobody started from the beginning is still on the ledger (no way around it).
    other = {**window, "end": (start + timedelta(seconds=4)).isoformat()}
    assert h.client.get(path, params=other, headers={**agent, "Range": "bytes=100-"}).status_code == 206
    assert len(_ledger(h)) == 3


@SQLITE_ONLY
def test_a_viewer_who_leaves_before_the_first_frame_is_a_failure_not_a_viewing(h, rtsp):  # noqa: F811 - the RTSP fixture
    cam = _camera(h, "SD-L-GONE", rtsp("no-such-path"))
    h.app.state.video_hub = live.LiveHub(linger_s=0.5, frame_timeout_s=30.0)
    with _Server(h.app) as base, httpx.Client(base_url=base, timeout=30) as client:
        with client.stream(
            "GET", f"/api/cameras/{cam}/live.mjpeg", params=PURPOSE, headers=h.token("monitoring_agent")
        ) as resp:
            assert resp.status_code == 200  # and the viewer closes it before any frame
        deadline = time.monotonic() + 15
        while not _audit(h, "video.access.failed") and time.monotonic() < deadline:
            time.sleep(0.2)
    assert _ledger(h) == []
    [failed] = _audit(h, "video.access.failed")
    assert json.loads(failed.after)["reason"] == "the viewer left before the first frame"
