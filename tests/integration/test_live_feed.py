"""The live feed (WS /api/live), the nearby-camera API and the board pages, on both engines."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import ClassVar

import pytest
import sqlalchemy as sa
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from gwanje.access import service as access
from gwanje.accounts.models import User
from gwanje.core.audit import Actor
from gwanje.core.errors import Forbidden
from gwanje.core.events import DomainEvent
from gwanje.registry import service as registry
from gwanje.registry.schemas import CameraCreate
from gwanje.situations import live
from gwanje.situations.events import CameraFaulted
from tests.conftest import PASSWORD, Harness

HTML = {"accept": "text/html,application/xhtml+xml"}
NIGHT = "2026-11-20T23:30:00+09:00"  # a bell at night is the monitoring agent's to acknowledge


@pytest.fixture
def h(harness, monkeypatch):
    # A short heartbeat keeps every receive below from blocking for long: pings arrive meanwhile.
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.2)
    return harness


def _camera(h: Harness, number: str, department: str, purpose: str, lat: float, lon: float) -> int:
    with h.db.uow() as uow:
        camera = registry.create_camera(
            uow,
            Actor.system("test"),
            h.policy,
            CameraCreate(
                management_number=number,
                department=department,
                primary_purpose=purpose,
                latitude=lat,
                longitude=lon,
                site={"road_address": f"서울특별시 성동구 {number}"},
                installed_by="police" if department == "police_station" else "district",
            ),
        )
        uow.commit()
        return camera.id


def _event(h: Harness, type_: str, payload: dict, at: str = NIGHT) -> int:
    body = {"message_id": f"{type_}-{uuid.uuid4().hex[:10]}", "type": type_, "occurred_at": at, "payload": payload}
    resp = h.client.post("/api/events", json=body, headers=h.token("device"))
    assert resp.status_code == 202, resp.text
    return resp.json()["incident_id"]


def _bell(h: Harness, camera: str | None = None, lat: float = 37.5636, lon: float = 127.0369) -> int:
    payload = {"bell_id": f"B-{uuid.uuid4().hex[:6]}", "latitude": lat, "longitude": lon}
    if camera:
        payload["camera"] = camera
    return _event(h, "emergency_bell", payload)


def _useoul(h: Harness) -> int:
    return _event(
        h,
        "u_seoul_safety",
        {"person_id": "P-9", "category": "child", "latitude": 37.55, "longitude": 127.04, "accuracy_m": 15},
    )


def _ws_url(h: Harness, role: str, department: str | None = None) -> str:
    token = h.token(role, department)["Authorization"].split(" ", 1)[1]
    return f"{live.PATH}?token={token}"


def _next(ws: WebSocketTestSession, timeout: float = 10.0) -> dict:
    """The next message that is not a ping."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = ws.receive_json()
        if msg["kind"] != "ping":
            return msg
    raise AssertionError("no message within %.0f s" % timeout)


def _closed_with(ws: WebSocketTestSession) -> int:
    with pytest.raises(WebSocketDisconnect) as caught:
        ws.receive_json()
    return caught.value.code


# ---- who may connect -------------------------------------------------------------------------


def test_anonymous_connections_are_refused_with_4401(h):
    with h.client.websocket_connect(live.PATH) as ws:
        assert _closed_with(ws) == live.CLOSE_UNAUTHENTICATED


def test_a_bad_token_is_refused_with_4401_in_the_query_and_in_the_header(h):
    with h.client.websocket_connect(f"{live.PATH}?token=gwj_not-a-token") as ws:
        assert _closed_with(ws) == 4401
    with h.client.websocket_connect(live.PATH, headers={"authorization": "Bearer gwj_nope"}) as ws:
        assert _closed_with(ws) == 4401


def test_a_role_without_situations_read_is_refused_with_4403(h):
    with h.client.websocket_connect(_ws_url(h, "police_investigator")) as ws:
        assert _closed_with(ws) == live.CLOSE_FORBIDDEN


def test_the_bearer_header_works_like_the_query_token(h):
    with h.client.websocket_connect(live.PATH, headers=h.token("monitoring_agent")) as ws:
        assert _next(ws)["kind"] == "snapshot"


def _login(h: Harness, username: str, role: str) -> None:
    h.user(username, role)
    page = h.client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    resp = h.client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "login_csrf": token, "next": "/board"},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text


def test_the_console_cookie_works_from_our_origin_but_not_from_another(h):
    _login(h, "board.kim", "monitoring_agent")
    with h.client.websocket_connect(live.PATH, headers={"origin": "http://testserver"}) as ws:
        assert _next(ws)["kind"] == "snapshot"
    with h.client.websocket_connect(live.PATH, headers={"origin": "https://evil.example"}) as ws:
        assert _closed_with(ws) == live.CLOSE_FORBIDDEN


def test_signing_out_ends_the_feed(h, monkeypatch):
    monkeypatch.setattr(live, "REVALIDATE_SECONDS", 0.1)
    _login(h, "board.lee", "monitoring_agent")
    page = h.client.get("/board")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    with h.client.websocket_connect(live.PATH) as ws:
        assert _next(ws)["kind"] == "snapshot"
        h.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        codes = []
        with pytest.raises(WebSocketDisconnect) as caught:
            for _ in range(100):
                codes.append(ws.receive_json()["kind"])
        assert caught.value.code == live.CLOSE_UNAUTHENTICATED


# ---- what each one sees ------------------------------------------------------------------------


def test_a_console_receives_an_incident_created_by_post_api_events(h):
    with h.client.websocket_connect(_ws_url(h, "monitoring_agent")) as ws:
        snap = _next(ws)
        assert snap["kind"] == "snapshot" and snap["incidents"] == []
        assert snap["user"]["role"] == "monitoring_agent"
        incident_id = _bell(h)
        msg = _next(ws)
    assert msg["kind"] == "incident" and msg["change"] == "created"
    assert msg["incident"]["id"] == incident_id
    assert msg["incident"]["type"] == "emergency_bell" and msg["incident"]["status"] == "new"


def test_the_snapshot_holds_the_open_incidents_the_user_may_see(h):
    bell, useoul = _bell(h), _useoul(h)
    with h.client.websocket_connect(_ws_url(h, "monitoring_agent")) as ws:
        assert {i["id"] for i in _next(ws)["incidents"]} == {bell, useoul}
    with h.client.websocket_connect(_ws_url(h, "police_112")) as ws:
        assert [i["id"] for i in _next(ws)["incidents"]] == [bell]


def test_an_action_reaches_the_console_as_a_status_change(h):
    incident_id = _bell(h)
    with h.client.websocket_connect(_ws_url(h, "district_manager")) as ws:
        _next(ws)
        resp = h.client.post(
            f"/api/incidents/{incident_id}/actions/acknowledge", json={}, headers=h.token("monitoring_agent")
        )
        assert resp.status_code == 200, resp.text
        msg = _next(ws)
    assert msg["kind"] == "incident" and msg["incident"]["id"] == incident_id
    assert msg["incident"]["status"] == "acknowledged"


def test_a_department_officer_does_not_receive_an_unrelated_bell(h):
    _camera(h, "SD-SAN-1", "sanitation", "illegal_dumping", 37.5524, 127.0193)
    _camera(h, "SD-AD-1", "autonomous_admin", "crime_prevention", 37.5633, 127.0371)
    with h.client.websocket_connect(_ws_url(h, "department_officer", "sanitation")) as ws:
        assert _next(ws)["incidents"] == []
        unrelated = _bell(h, camera="SD-AD-1")
        own = _event(
            h,
            "video_analytics",
            {
                "camera": "SD-SAN-1",
                "rule": "dumping",
                "object_class": "person",
                "box": [0.1, 0.1, 0.2, 0.2],
                "confidence": 0.9,
            },
        )
        # The feed keeps order, so the first incident to arrive shows the bell was held back.
        msg = _next(ws)
    assert msg["incident"]["id"] == own != unrelated
    assert msg["incident"]["details"]["camera_purposes"] == ["illegal_dumping"]


def test_police_112_receives_police_routed_incidents_but_not_u_seoul(h):
    with (
        h.client.websocket_connect(_ws_url(h, "police_112")) as police,
        h.client.websocket_connect(_ws_url(h, "monitoring_agent")) as agent,
    ):
        _next(police), _next(agent)
        useoul = _useoul(h)
        bell = _bell(h)
        got = _next(police)
        assert got["incident"]["id"] == bell and got["incident"]["responsible_org"] == "police"
        assert [_next(agent)["incident"]["id"], _next(agent)["incident"]["id"]] == [useoul, bell]


def test_alerts_go_only_to_their_roles(h):
    incident_id = _bell(h)
    with (
        h.client.websocket_connect(_ws_url(h, "district_manager")) as boss,
        h.client.websocket_connect(_ws_url(h, "monitoring_agent")) as agent,
    ):
        _next(boss), _next(agent)
        resp = h.client.post(
            f"/api/incidents/{incident_id}/sop/talk_to_caller",
            json={"skip_reason": "통화 불가"},
            headers=h.token("monitoring_agent"),
        )
        assert resp.status_code == 200, resp.text
        assert [m["kind"] for m in (_next(boss), _next(boss))] == ["incident", "alert"]
        assert _next(agent)["kind"] == "incident"
        h.client.post(f"/api/incidents/{incident_id}/actions/acknowledge", json={}, headers=h.token("monitoring_agent"))
        after = _next(agent)  # the next thing the agent gets is the acknowledgement, not the alert
    assert after["kind"] == "incident" and after["incident"]["status"] == "acknowledged"


def test_rejected_messages_go_to_those_who_may_see_their_incidents(h):
    """Finding 7: a rejected u-Seoul message (a district incident) reaches the district's agent, not
    the 112 room; a rejected bell (routed to the police) reaches both; unreadable ones the operator."""
    with (
        h.client.websocket_connect(_ws_url(h, "monitoring_agent")) as agent,
        h.client.websocket_connect(_ws_url(h, "police_112")) as police,
    ):
        _next(agent), _next(police)
        person = {"message_id": "bad-1", "type": "u_seoul_safety", "payload": {"person_id": "P-1", "phone": "010"}}
        assert h.client.post("/api/events", json=person, headers=h.token("device")).status_code == 422
        assert h.client.post("/api/events", content=b"{nope", headers=h.token("device")).status_code == 422
        bad_bell = {"message_id": "bad-2", "type": "emergency_bell", "payload": {"bell_id": "B-1"}}
        assert h.client.post("/api/events", json=bad_bell, headers=h.token("device")).status_code == 422
        bell = _bell(h)
        assert [_next(agent)["kind"] for _ in range(3)] == ["inbox.rejected"] * 3
        got = _next(police)
        assert got["kind"] == "inbox.rejected" and got["type"] == "emergency_bell"
        assert _next(police)["incident"]["id"] == bell


@dataclass(frozen=True)
class DebugNoted(DomainEvent):
    kind: ClassVar[str] = "test.debug_noted"
    secret: int


def test_may_receive_refuses_unknown_event_kinds(policy):
    viewer = live.Viewer(1, "x", "district_manager", None, "token", "t")
    assert not live.may_receive(policy, viewer, DebugNoted(secret=1))
    assert not live.may_receive(policy, viewer, {"kind": "debug", "secret": 1})
    assert live.may_receive(policy, viewer, CameraFaulted(camera_id=1, management_number="SD-1"))


def test_a_console_that_stops_reading_is_dropped_not_waited_for(h, monkeypatch):
    monkeypatch.setattr(live, "QUEUE_SIZE", 2)
    with h.client.websocket_connect(_ws_url(h, "monitoring_agent")) as ws:
        _next(ws)
        # Fill the console's queue faster than its sender drains it, straight from another thread.
        bus = h.app.state.bus
        for n in range(200):
            bus.publish(CameraFaulted(camera_id=n, management_number=f"SD-{n}"))
        with pytest.raises(WebSocketDisconnect) as caught:
            for _ in range(500):
                ws.receive_json()
        assert caught.value.code == live.CLOSE_SLOW
    assert bus.subscriber_count == 0


# ---- nearby cameras ------------------------------------------------------------------------------


def test_nearby_cameras_are_sorted_with_bearing_and_who_may_open_them(h):
    near = _camera(h, "SD-N-1", "autonomous_admin", "crime_prevention", 37.5640, 127.0369)  # ~45 m north
    _camera(h, "SD-N-2", "parks_green", "facility_management", 37.5636, 127.0400)  # ~270 m east
    _camera(h, "SD-N-3", "autonomous_admin", "crime_prevention", 37.5800, 127.0369)  # ~1.8 km north
    incident_id = _bell(h)
    resp = h.client.get(f"/api/incidents/{incident_id}/cameras?k=2", headers=h.token("monitoring_agent"))
    assert resp.status_code == 200, resp.text
    rows = resp.json()
    assert [r["management_number"] for r in rows] == ["SD-N-1", "SD-N-2"]
    first, second = rows
    assert first["id"] == near and 40 < first["distance_m"] < 50
    assert first["compass"] == {"ko": "북", "en": "N"} and second["compass"]["en"] == "E"
    # A bell's video serves crime prevention: the facility-management camera is not approved for it.
    assert first["may_open"] is True and second["may_open"] is False
    assert second["clause"] and second["reason"]["en"]

    police = h.client.get(f"/api/incidents/{incident_id}/cameras?k=1", headers=h.token("police_112")).json()
    # Police open only cameras attached to the incident they respond to (Art. 9 ⑤).
    assert police[0]["attached"] is False and police[0]["may_open"] is False
    assert police[0]["clause"] == "art-9-5"
    attach = h.client.post(
        f"/api/incidents/{incident_id}/attached-cameras", json={"camera_id": near}, headers=h.token("monitoring_agent")
    )
    assert attach.status_code == 201, attach.text
    police = h.client.get(f"/api/incidents/{incident_id}/cameras?k=1", headers=h.token("police_112")).json()
    assert police[0]["attached"] is True and police[0]["may_open"] is False  # still new: nobody judges it yet
    took = h.client.post(f"/api/incidents/{incident_id}/actions/acknowledge", json={}, headers=h.token("police_112"))
    assert took.status_code == 200, took.text
    police = h.client.get(f"/api/incidents/{incident_id}/cameras?k=1", headers=h.token("police_112")).json()
    assert police[0]["attached"] is True and police[0]["may_open"] is True  # responding to an incident it took
    other = h.client.get(f"/api/incidents/{incident_id}/cameras?k=1", headers=h.token("police_officer")).json()
    assert other[0]["may_open"] is False  # another officer's incident (Art. 9 ⑤)
    assert (
        h.client.post(
            f"/api/incidents/{incident_id}/actions/false_alarm", json={}, headers=h.token("monitoring_agent")
        ).status_code
        == 200
    )
    after = h.client.get(f"/api/incidents/{incident_id}/cameras?k=1", headers=h.token("police_112")).json()
    assert after[0]["may_open"] is False  # no longer responding: Art. 9 ⑤


@pytest.mark.parametrize(
    "role, department",
    [
        ("monitoring_agent", None),
        ("police_112", None),
        ("police_officer", None),
        ("department_officer", "autonomous_admin"),
    ],
)
def test_may_open_on_the_nearby_list_is_what_the_video_access_check_decides(h, role, department):
    own = _camera(h, "SD-M-1", "autonomous_admin", "crime_prevention", 37.5640, 127.0369)
    attached = _camera(h, "SD-M-2", "autonomous_admin", "crime_prevention", 37.5636, 127.0400)
    _camera(h, "SD-M-3", "autonomous_admin", "crime_prevention", 37.5620, 127.0369)  # nearby, not attached
    _camera(h, "SD-M-4", "parks_green", "facility_management", 37.5650, 127.0350)  # not approved for a bell
    incident_id = _bell(h, camera="SD-M-1")
    resp = h.client.post(
        f"/api/incidents/{incident_id}/attached-cameras",
        json={"camera_id": attached},
        headers=h.token("monitoring_agent"),
    )
    assert resp.status_code == 201, resp.text
    if role.startswith("police"):  # the officer takes the incident: it now grants them a view
        took = h.client.post(
            f"/api/incidents/{incident_id}/actions/acknowledge", json={}, headers=h.token(role, department)
        )
        assert took.status_code == 200, took.text
    rows = h.client.get(f"/api/incidents/{incident_id}/cameras?k=4", headers=h.token(role, department)).json()
    assert {r["id"] for r in rows} >= {own, attached}
    with h.db.reading() as session:  # the same user the token stands for
        user = session.scalar(
            sa.select(User).where(User.role == role, User.username.like("u%")).order_by(User.id.desc())
        )
    for row in rows:
        try:
            grant = access.authorize_video(
                h.db, h.policy, user, row["id"], row["purpose"], "live", incident_id=incident_id
            )
            decided = (True, grant.clause)
        except Forbidden as refused:
            decided = (False, refused.clause)
            assert row["reason"] == {"ko": refused.message_ko, "en": refused.message_en}, row
        assert (row["may_open"], row["clause"]) == decided, row


def test_nearby_cameras_refuse_an_incident_the_user_may_not_see(h):
    incident_id = _useoul(h)
    resp = h.client.get(f"/api/incidents/{incident_id}/cameras", headers=h.token("police_112"))
    assert resp.status_code == 403


def test_nearest_and_within_a_point(h):
    _camera(h, "SD-P-1", "autonomous_admin", "crime_prevention", 37.5640, 127.0369)
    _camera(h, "SD-P-2", "autonomous_admin", "crime_prevention", 37.5800, 127.0369)
    reader = h.token("monitoring_agent")
    nearest = h.client.get("/api/cameras/nearest?lat=37.5636&lon=127.0369&k=1", headers=reader)
    assert nearest.status_code == 200, nearest.text
    assert [r["management_number"] for r in nearest.json()] == ["SD-P-1"]
    within = h.client.get("/api/cameras/within?lat=37.5636&lon=127.0369&radius_m=500", headers=reader).json()
    assert [r["management_number"] for r in within] == ["SD-P-1"]
    assert h.client.get("/api/cameras/nearest?lat=95&lon=127", headers=reader).status_code == 422
    assert h.client.get("/api/cameras/nearest?lat=37.5&lon=127").status_code == 401


# ---- the pages ---------------------------------------------------------------------------------


def test_the_board_pages_need_a_sign_in_and_allow_the_live_socket(h):
    resp = h.client.get("/board", headers=HTML, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login?next=/board"
    _login(h, "board.park", "monitoring_agent")
    for path, heading in (("/board", "상황판"), ("/board/112", "112 상황실")):
        page = h.client.get(path, headers=HTML)
        assert page.status_code == 200 and heading in page.text
        csp = page.headers["content-security-policy"]
        assert "connect-src 'self' ws://testserver wss://testserver" in csp and "script-src 'self'" in csp
        assert 'id="board-config"' in page.text and "/static/js/board.js" in page.text
        assert '<a href="/board"' in page.text  # the nav link
    english = h.client.get("/board?lang=en", headers=HTML)
    assert '<html lang="en">' in english.text and "Situation board" in english.text


def test_the_board_is_refused_to_a_role_that_cannot_read_situations(h):
    page = h.client.get("/board", headers={**HTML, **h.token("police_investigator")})
    assert page.status_code == 403
    assert '<a href="/board"' not in page.text
