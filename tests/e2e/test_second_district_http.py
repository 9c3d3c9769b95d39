"""The second district over HTTP: an app made with Hanbit's policy, given to the factory or configured with
``GWANJE_POLICY_FILE``, takes an emergency bell from a device token and shows the incident, on the API and on
the live feed, to the role its duty table names and not to the one it does not."""

from __future__ import annotations

import time
import uuid

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from gwanje.accounts import service as accounts
from gwanje.core.audit import Actor
from gwanje.core.errors import ValidationFailed
from gwanje.core.settings import Settings
from gwanje.policy import load_policy
from gwanje.situations import live
from gwanje.web.app import create_app
from tests.conftest import PASSWORD
from tests.fixtures.districts import (
    HANBIT_POLICY,
    HOTLIST_CSV,
    NIGHT,
    camera_body,
    device_message,
    payload,
)


class Console:
    """A Hanbit app on a fresh database, with accounts made under the app's own policy."""

    def __init__(self, app, client: TestClient) -> None:  # noqa: ANN001
        self.app, self.client = app, client
        self.policy = app.state.policy
        self._tokens: dict[tuple[str, str | None], str] = {}

    def bearer(self, role: str, department: str | None = None) -> str:
        if (role, department) not in self._tokens:
            with self.app.state.db.uow() as uow:
                user, _ = accounts.add_user(
                    uow,
                    Actor.system("test"),
                    self.policy,
                    accounts.NewUser(
                        username=f"{role}-{uuid.uuid4().hex[:6]}",
                        display_name=role,
                        role=role,
                        password=PASSWORD,
                        department=department,
                    ),
                )
                self._tokens[(role, department)] = accounts.issue_token(uow, Actor.system("test"), user, "test")
                uow.commit()
        return self._tokens[(role, department)]

    def auth(self, role: str, department: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer(role, department)}"}

    def post_event(self, type_: str, payload: dict, role: str = "sensor") -> int:
        resp = self.client.post("/api/events", json=device_message(type_, payload, NIGHT), headers=self.auth(role))
        assert resp.status_code == 202, resp.text
        return resp.json()["incident_id"]


@pytest.fixture(params=["given", "configured"])
def hanbit(request, db, tmp_path, monkeypatch):
    # A short heartbeat: a console that is (rightly) sent nothing still gets pings, so reads never hang.
    monkeypatch.setattr(live, "HEARTBEAT_SECONDS", 0.2)
    settings = Settings(
        database_url=db.url,
        var_dir=tmp_path / "var",
        escalation_seconds=0,
        policy_file=HANBIT_POLICY if request.param == "configured" else None,
    )
    given = load_policy(HANBIT_POLICY) if request.param == "given" else None
    app = create_app(settings, db=db, policy=given, migrate=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Console(app, client)


def _next_incident(ws: WebSocketTestSession, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = ws.receive_json()
        if msg["kind"] == "incident":
            return msg
    raise AssertionError("no incident on the feed within %.0f s" % timeout)


def _snapshot(ws: WebSocketTestSession) -> dict:
    msg = ws.receive_json()
    assert msg["kind"] == "snapshot", msg
    return msg


def test_the_app_runs_under_hanbits_policy(hanbit):
    assert hanbit.policy.agreement.id == "hanbit-2021"
    me = hanbit.client.get("/api/me", headers=hanbit.auth("control_agent"))
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "control_agent"
    # Seongdong's roles mean nothing here: no account can be made with one.
    with pytest.raises(ValidationFailed, match="unknown role"):
        hanbit.bearer("monitoring_agent")


def test_only_hanbits_device_role_posts_events(hanbit):
    bell = payload(("emergency_bell", None), "HB-SAFE-1")
    bell.pop("camera")
    refused = hanbit.client.post(
        "/api/events", json=device_message("emergency_bell", bell, NIGHT), headers=hanbit.auth("control_agent")
    )
    assert refused.status_code == 403
    assert hanbit.post_event("emergency_bell", bell)


def test_a_bell_goes_to_the_control_agent_and_not_to_the_112_room(hanbit):
    chief = hanbit.auth("control_chief")
    assert hanbit.client.post("/api/cameras", json=camera_body("HB-SAFE-2"), headers=chief).status_code == 201
    assert (
        hanbit.client.put("/api/hotlist", content=HOTLIST_CSV, headers=hanbit.auth("station_officer")).status_code
        == 200
    )
    agent_url = f"{live.PATH}?token={hanbit.bearer('control_agent')}"
    dispatch_url = f"{live.PATH}?token={hanbit.bearer('station_dispatch')}"
    with hanbit.client.websocket_connect(agent_url) as agent, hanbit.client.websocket_connect(dispatch_url) as room:
        assert _snapshot(agent)["incidents"] == [] and _snapshot(room)["incidents"] == []
        bell = hanbit.post_event("emergency_bell", payload(("emergency_bell", None), "HB-SAFE-2"))
        plate = hanbit.post_event("plate_read", payload(("plate_read", None), "HB-SAFE-2"))
        seen_by_agent = [_next_incident(agent)["incident"], _next_incident(agent)["incident"]]
        # The feed keeps order: the first incident the 112 room receives shows the bell was held back.
        seen_by_room = _next_incident(room)["incident"]
    assert [i["id"] for i in seen_by_agent] == [bell, plate]
    assert seen_by_agent[0]["type"] == "emergency_bell" and seen_by_agent[0]["responsible_org"] == "gu_office"
    assert seen_by_agent[0]["assigned_role"] == "control_agent"
    assert seen_by_room["id"] == plate and seen_by_room["responsible_org"] == "hanbit_police"
    assert seen_by_room["assigned_role"] == "station_dispatch"  # at night (Hanbit's day ends at 20:00)

    listed = {i["id"] for i in hanbit.client.get("/api/incidents", headers=hanbit.auth("control_agent")).json()}
    assert listed == {bell, plate}
    room_list = hanbit.client.get("/api/incidents", headers=hanbit.auth("station_dispatch"))
    assert [i["id"] for i in room_list.json()] == [plate]
    assert hanbit.client.get(f"/api/incidents/{bell}", headers=hanbit.auth("station_dispatch")).status_code == 403
    detail = hanbit.client.get(f"/api/incidents/{bell}", headers=hanbit.auth("control_agent"))
    assert detail.status_code == 200 and detail.json()["responding_roles"] == ["control_agent"]
    acknowledged = hanbit.client.post(
        f"/api/incidents/{bell}/actions/acknowledge", json={}, headers=hanbit.auth("control_agent")
    )
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["status"] == "acknowledged"
