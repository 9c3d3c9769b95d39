"""The console's ingest health page (/ingest) on both engines: real sequence gaps fed through the
ingest use case, shown per device with the message-loss incident; the readers of
``GET /api/ingest/health`` may see it, others get 403; Korean by default, English on the switch."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from gwanje.registry.seed import seed_seongdong
from gwanje.situations import service
from gwanje.situations.mqtt import ConsumerConfig, MqttConsumer
from tests.support import plate_read

T0 = datetime(2026, 12, 1, 3, 0, 5, tzinfo=timezone.utc)  # 12:00:05 KST
CAMERA = "SD-AD-001-1"
HTML = {"accept": "text/html,application/xhtml+xml"}


def _read(n: int, seq: int, device: str) -> service.RawMessage:
    return plate_read(n, seq, device, CAMERA)


def _feed_with_a_gap(h) -> None:  # noqa: ANN001
    seed_seongdong(h.db, h.policy)
    service.ingest_batch(h.db, h.policy, [_read(1, 1, "lpr-7"), _read(2, 2, "lpr-7"), _read(1, 1, "lpr-8")], now=T0)
    # lpr-7 skips 3..6 (4 lost); lpr-8 goes on without a gap; a re-delivery of seq 2 is no loss
    later = T0 + timedelta(seconds=7)
    service.ingest_batch(h.db, h.policy, [_read(2, 2, "lpr-7"), _read(7, 7, "lpr-7"), _read(2, 2, "lpr-8")], now=later)


def _row(html: str, device: str) -> str:
    match = re.search(rf'<tr data-source="mqtt:lpr" data-device="{device}".*?</tr>', html, re.S)
    assert match, f"no row for {device}"
    return match.group(0)


def _cell(row: str, col: str) -> str:
    return re.search(rf'data-col="{col}">([^<]*)<', row).group(1)


def test_the_page_shows_per_device_gaps_and_the_loss_incident_in_korean(harness):
    _feed_with_a_gap(harness)
    resp = harness.client.get("/ingest", headers={**HTML, **harness.token("district_it_officer")})
    assert resp.status_code == 200, resp.text
    html = resp.text
    assert '<html lang="ko">' in html and "장치 메시지 수신 상태" in html
    assert 'data-status="loss"' in html and "유실 있음" in html
    assert re.search(r'data-total="missing">4<', html) and re.search(r'data-total="devices_with_loss">1<', html)
    lossy = _row(html, "lpr-7")
    assert 'data-missing="4"' in lossy and _cell(lossy, "last_seq") == "7"
    assert _cell(lossy, "last_seen") == "2026-12-01 12:00:12 KST"  # the second batch, in KST
    clean = _row(html, "lpr-8")
    assert 'data-missing="0"' in clean and _cell(clean, "last_seq") == "2"
    assert html.index('data-device="lpr-7"') < html.index('data-device="lpr-8"')  # loss first
    # the message-loss incident raised for the gap, with the count and its assignee
    incident = re.search(r'<tr data-incident="(\d+)" data-status="new" class="open">(.*?)</tr>', html, re.S)
    assert incident, "no open message-loss incident listed"
    assert f'<td class="num mono">{incident.group(1)}</td>' in lossy  # the device row links it
    assert "메시지 유실 mqtt:lpr" in incident.group(2) and "신규" in incident.group(2)
    assert '<td class="num">4</td>' in incident.group(2)
    # linked from the console navigation for this reader; no consumer runs in this app process
    assert 'id="nav-ingest" aria-current="page"' in html
    assert 'data-connected="unknown"' in html


def test_the_page_in_english_after_the_language_switch(harness):
    _feed_with_a_gap(harness)
    harness.client.get("/lang/en", follow_redirects=False)
    html = harness.client.get("/ingest", headers={**HTML, **harness.token("district_manager")}).text
    assert '<html lang="en">' in html and "Device message ingest health" in html
    assert "Messages lost" in html and "Sequence numbers per device" in html and "Last message" in html
    assert "장치 메시지 수신 상태" not in html
    assert 'data-missing="4"' in _row(html, "lpr-7")
    # the message-loss incident's title is built in English too (issue 9, §5)
    incident = re.search(r'<tr data-incident="(\d+)" data-status="new" class="open">(.*?)</tr>', html, re.S)
    assert "Message loss mqtt:lpr: 4 lost from 1 device(s)" in incident.group(2)
    assert "메시지 유실" not in incident.group(2)


def test_a_role_without_the_api_permission_gets_403_and_no_nav_link(harness):
    _feed_with_a_gap(harness)
    investigator = harness.token("police_investigator")
    assert harness.client.get("/api/ingest/health", headers=investigator).status_code == 403
    resp = harness.client.get("/ingest", headers={**HTML, **investigator})
    assert resp.status_code == 403
    assert "lpr-7" not in resp.text
    assert harness.client.get("/ingest", headers=HTML, follow_redirects=False).status_code in (302, 303)
    cameras = harness.client.get("/cameras", headers={**HTML, **investigator}).text
    assert 'href="/ingest"' not in cameras


def test_no_gaps_reads_ok_and_an_htmx_refresh_gets_the_panel_alone(harness):
    seed_seongdong(harness.db, harness.policy)
    service.ingest_batch(harness.db, harness.policy, [_read(1, 1, "lpr-9"), _read(2, 2, "lpr-9")], now=T0)
    agent = harness.token("monitoring_agent")
    html = harness.client.get("/ingest", headers={**HTML, **agent}).text
    assert 'data-status="ok"' in html and "정상: 유실 없음" in html and "메시지 유실 상황이 없습니다" in html
    partial = harness.client.get("/ingest", headers={**HTML, **agent, "HX-Request": "true"}).text
    assert 'data-device="lpr-9"' in partial and "<html" not in partial


def test_an_in_process_consumer_shows_its_state_and_duplicate_count(harness):
    consumer = MqttConsumer(
        harness.db,
        harness.policy,
        ConsumerConfig(url="mqtt://127.0.0.1:1", client_id="page-test"),
        hotlist=lambda plate: None,
    )  # never started: not connected, nothing counted
    consumer.stats.duplicate = 3
    harness.app.state.mqtt_consumer = consumer
    try:
        html = harness.client.get("/ingest", headers={**HTML, **harness.token("district_it_officer")}).text
    finally:
        del harness.app.state.mqtt_consumer
    assert 'data-connected="no"' in html and "연결 끊김" in html and "127.0.0.1:1 (page-test)" in html
    assert 'data-consumer="duplicate">3<' in html
