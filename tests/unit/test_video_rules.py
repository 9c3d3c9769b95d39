"""Video's pure parts: cut planning, JPEG splitting, the recorder's time anchor, ONVIF digests."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gwanje.video import clips, live, onvif, recorder

T0 = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)


def span(i: int, start_s: float, end_s: float) -> clips.Span:
    return clips.Span(i, Path(f"/r/{i}.mp4"), T0 + timedelta(seconds=start_s), T0 + timedelta(seconds=end_s))


def test_cut_plan_picks_overlapping_segments_and_offsets_into_their_concatenation():
    segs = [span(1, 0, 10), span(2, 10, 20), span(3, 20, 30), span(4, 30, 40)]
    plan = clips.plan_cut(segs, T0 + timedelta(seconds=15), T0 + timedelta(seconds=27))
    assert [s.id for s in plan.spans] == [2, 3]
    assert (plan.ss, plan.to, plan.seconds, plan.gaps_s) == (5.0, 17.0, 12.0, 0.0)


def test_cut_plan_skips_gaps_and_reports_them():
    segs = [span(1, 0, 10), span(2, 20, 30)]  # ten seconds not recorded
    plan = clips.plan_cut(segs, T0 + timedelta(seconds=5), T0 + timedelta(seconds=25))
    assert (plan.ss, plan.to, plan.gaps_s) == (5.0, 15.0, 10.0)
    assert plan.covered_from == T0 + timedelta(seconds=5) and plan.covered_to == T0 + timedelta(seconds=25)


def test_cut_plan_clamps_to_what_was_recorded_and_drops_overlapping_rerecordings():
    segs = [span(1, 0, 10), span(9, 2, 8), span(2, 10, 20)]
    plan = clips.plan_cut(segs, T0 - timedelta(seconds=30), T0 + timedelta(seconds=12))
    assert [s.id for s in plan.spans] == [1, 2]
    assert (plan.ss, plan.to, plan.gaps_s) == (0.0, 12.0, 30.0)


def test_cut_plan_is_none_when_nothing_was_recorded_and_refuses_inverted_ranges():
    assert clips.plan_cut([span(1, 0, 10)], T0 + timedelta(seconds=60), T0 + timedelta(seconds=70)) is None
    with pytest.raises(ValueError):
        clips.plan_cut([], T0, T0)


def test_cut_command_is_stream_copy_from_the_concat_demuxer():
    cmd = clips.cut_command(Path("/tmp/l.txt"), 1.5, 4.25, Path("/tmp/o.mp4"))
    assert cmd[cmd.index("-c") + 1] == "copy" and cmd[cmd.index("-f") + 1] == "concat"
    assert cmd[cmd.index("-ss") + 1] == "1.500" and cmd[cmd.index("-to") + 1] == "4.250"
    assert "file '/tmp/it'\\''s.mp4'" in clips.concat_list([Path("/tmp/it's.mp4")])


def test_recording_command_copies_video_and_never_takes_audio():
    cmd = recorder.segment_command("rtsp://cam/1", "/r/%06d.mp4", 60)
    assert cmd[cmd.index("-c") + 1] == "copy" and "-an" in cmd
    assert cmd[cmd.index("-rtsp_transport") + 1] == "tcp" and cmd[cmd.index("-segment_time") + 1] == "60"


def test_segment_list_lines_parse_and_the_anchor_takes_the_earliest_estimate():
    first = recorder.parse_list_line("a-000000.mp4,0.000000,2.000000\n", T0 + timedelta(seconds=3.5))
    second = recorder.parse_list_line("a-000001.mp4,2.000000,5.000000", T0 + timedelta(seconds=5.2))
    assert recorder.parse_list_line("garbage", T0) is None and recorder.parse_list_line("", T0) is None
    anchor = recorder.Anchor()
    anchor.observe(first)
    assert anchor.at == T0 + timedelta(seconds=1.5)  # printed late: probing held the first segment back
    anchor.observe(second)
    assert anchor.at == T0 + timedelta(seconds=0.2)
    assert anchor.span(first) == (T0 + timedelta(seconds=0.2), T0 + timedelta(seconds=2.2))


def test_jpeg_splitter_finds_frames_across_chunk_boundaries():
    a = b"\xff\xd8" + b"A" * 50 + b"\xff\xd9"
    b = b"\xff\xd8" + b"B" * 70 + b"\xff\xd9"
    stream = b"junk" + a + b
    splitter = live.JpegSplitter()
    frames = []
    for i in range(0, len(stream), 7):
        frames += splitter.feed(stream[i : i + 7])
    assert frames == [a, b]
    chunk = live.multipart_chunk(a)
    assert chunk.startswith(f"--{live.BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(a)}".encode())


def test_ws_username_token_digest_is_sha1_of_nonce_created_password():
    nonce, created = b"0123456789abcdef", "2026-11-26T03:00:00.000Z"
    expected = base64.b64encode(hashlib.sha1(nonce + created.encode() + b"pw").digest()).decode()
    assert onvif.password_digest(nonce, created, "pw") == expected
    header = onvif._security_header("admin", "pw", nonce=nonce, created=created)
    assert expected in header and base64.b64encode(nonce).decode() in header


def test_onvif_addresses_and_credentials():
    t = onvif.parse_onvif_url("onvif://admin:p%40ss@10.0.0.5:8080")
    assert (t.device_url, t.username, t.password) == ("http://10.0.0.5:8080/onvif/device_service", "admin", "p@ss")
    assert onvif.is_onvif_url("http://10.0.0.5/onvif/device_service")
    assert not onvif.is_onvif_url("http://10.0.0.5/video.mjpg") and not onvif.is_onvif_url("rtsp://x/1")
    assert onvif.with_credentials("rtsp://10.0.0.5/s", "admin", "p@ss") == "rtsp://admin:p%40ss@10.0.0.5/s"
    assert onvif.redact("rtsp://admin:secret@10.0.0.5/s") == "rtsp://***@10.0.0.5/s"
    assert onvif.redact("rtsp://10.0.0.5/s") == "rtsp://10.0.0.5/s"
    ffmpeg_says = (
        "[rtsp @ 0x5] method DESCRIBE failed: 401 Unauthorized\nrtsp://admin:Secr3t@10.0.0.5/s: Server returned"
    )
    assert "Secr3t" not in onvif.scrub(ffmpeg_says) and "rtsp://***@10.0.0.5/s" in onvif.scrub(ffmpeg_says)
