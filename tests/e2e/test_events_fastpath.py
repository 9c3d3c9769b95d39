"""``POST /api/events`` answered before the framework (gwanje.web.fastpath, issue 8 finding 10): the
same answers as the route, and every rule of the ordinary path still holds — a revoked token, a role
without the permission, a database outage and a replay all get what the route gives them."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from gwanje.web.fastpath import PostedEvents


def _fastpath(app) -> PostedEvents:  # noqa: ANN001
    layer = app.middleware_stack
    while layer is not None and not isinstance(layer, PostedEvents):
        layer = getattr(layer, "app", None)
    assert layer is not None, "the events fast path is installed"
    return layer


def _bell(message_id: str | None = None) -> dict:
    return {
        "message_id": message_id or f"bell-{uuid.uuid4().hex[:12]}",
        "type": "emergency_bell",
        "payload": {"bell_id": "B-1", "latitude": 37.56, "longitude": 127.03},
    }


def test_plain_device_posts_are_answered_there_exactly_as_the_route_answers(harness):
    device = harness.token("device")
    first = harness.client.post("/api/events", json=_bell(), headers=device)  # the grant is not kept yet
    fast = _fastpath(harness.app)
    assert first.status_code == 202, first.text
    assert fast.answered == 0, "an unknown token goes the ordinary way"

    second = harness.client.post("/api/events", json=_bell("bell-same"), headers=device)
    assert second.status_code == 202, second.text
    assert fast.answered == 1
    assert set(second.headers) == set(first.headers), "the same headers as the route's answer"
    for name in ("cache-control", "content-type", "x-content-type-options", "x-frame-options", "referrer-policy"):
        assert second.headers[name] == first.headers[name]
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert set(second.json()) == set(first.json()) and second.json()["incident_id"] is not None

    again = harness.client.post("/api/events", json=_bell("bell-same"), headers=device)
    assert again.status_code == 200 and again.json()["status"] == "duplicate", "a replay is recognised"
    bad = harness.client.post("/api/events", content=b'{"type": "emergency_bell"}', headers=device)
    assert bad.status_code == 422 and bad.json()["error"] == "message_rejected"
    assert bad.json()["message"]["ko"] and bad.json()["message"]["en"]
    assert fast.answered == 3
    with harness.db.reading() as s:
        kept = s.execute(sa.text("SELECT count(*) FROM inbox WHERE message_id = 'bell-same'")).scalar()
    assert kept == 1, "stored once"


def test_a_revoked_token_is_refused_on_the_next_post(harness):
    manager = harness.token("district_manager")
    device = harness.token("device")
    assert harness.client.post("/api/events", json=_bell(), headers=device).status_code == 202
    assert harness.client.post("/api/events", json=_bell(), headers=device).status_code == 202
    fast = _fastpath(harness.app)
    assert fast.answered == 1
    tokens = harness.client.get("/api/tokens", headers=manager).json()
    mine = [t for t in tokens if t["username"].endswith("_device")]
    assert mine, tokens
    assert harness.client.delete(f"/api/tokens/{mine[0]['id']}", headers=manager).status_code == 200
    refused = harness.client.post("/api/events", json=_bell(), headers=device)
    assert refused.status_code == 401 and refused.json()["message"]["en"]
    assert fast.answered == 1


def test_a_kept_token_without_the_permission_gets_the_routes_403(harness):
    agent = harness.token("monitoring_agent")
    assert harness.client.get("/api/cameras", headers=agent).status_code == 200  # its grant is kept now
    refused = harness.client.post("/api/events", json=_bell(), headers=agent)
    assert refused.status_code == 403 and refused.json()["clause"]
    assert _fastpath(harness.app).answered == 0


def test_a_database_outage_while_storing_is_the_routes_503(harness, monkeypatch):
    device = harness.token("device")
    assert harness.client.post("/api/events", json=_bell(), headers=device).status_code == 202
    coalescer = harness.app.state.ingest_coalescer

    async def down(item):
        raise sa.exc.OperationalError("INSERT", {}, ConnectionRefusedError("database down"))

    monkeypatch.setattr(coalescer, "ingest", down)
    answer = harness.client.post("/api/events", json=_bell(), headers=device)
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] and answer.json()["details"]["down"] == ["database"]
    assert _fastpath(harness.app).answered == 0


@pytest.mark.parametrize("query", ["?x=1", "?x=%00"])
def test_a_post_with_a_query_string_goes_the_ordinary_way(harness, query):
    device = harness.token("device")
    assert harness.client.post("/api/events", json=_bell(), headers=device).status_code == 202
    answer = harness.client.post("/api/events" + query, json=_bell(), headers=device)
    assert answer.status_code == (422 if "%00" in query else 202), answer.text
    assert _fastpath(harness.app).answered == 0
