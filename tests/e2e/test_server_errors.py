"""No server errors (issue 8, finding 6): every number and text at the edge is bounded, a database or
broker outage is a 503 with ``Retry-After``, and ``/healthz`` (liveness) and ``/readyz`` (database,
broker, bus) tell the truth.

Each 500 of the finding is reproduced here on both engines: ids ≥ 2^31 (PostgreSQL ``integer``) and
≥ 2^63 (SQLite) in a path or a body, ``offset`` ≥ 2^63, NUL in a query string or a path, an empty or
headerless hot-list CSV; then a PostgreSQL database made unreachable under a running app.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute

from gwanje.core.db import Database
from gwanje.core.settings import Settings
from gwanje.web.app import create_app, iter_api_routes
from tests.conftest import PG_ADMIN_URL, Harness

HUGE = [2**31, 2**63, 2**64, 10**30]
PARAM = re.compile(r"{(\w+)}")


def _assert_4xx(resp, context: str) -> dict:  # noqa: ANN001
    assert 400 <= resp.status_code < 500, f"{context}: {resp.status_code} {resp.text[:300]}"
    body = resp.json()
    assert body["message"]["ko"] and body["message"]["en"], context
    return body


def _id_routes(app) -> list[tuple[str, str, list[str]]]:  # noqa: ANN001
    out = []
    for route in iter_api_routes(app.routes):
        if not isinstance(route, APIRoute):
            continue
        names = PARAM.findall(route.path)
        if not any(n.endswith("_id") for n in names):
            continue
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            out.append((method, route.path, names))
    return out


def test_every_route_refuses_an_id_beyond_what_the_database_holds_naming_it(harness):
    """Before: PostgreSQL answered 500 (integer out of range) from 2^31, SQLite from 2^63."""
    token = harness.token("district_manager")
    routes = _id_routes(harness.app)
    assert len(routes) > 20, routes  # the API and the console pages alike
    for method, path, names in routes:
        for value in HUGE:
            url = path
            for name in names:
                url = url.replace("{" + name + "}", str(value) if name.endswith("_id") else "x")
            resp = harness.client.request(method, url, headers={**token, "accept": "application/json"})
            context = f"{method} {url}"
            assert resp.status_code < 500, f"{context}: {resp.status_code} {resp.text[:300]}"
            if resp.status_code in (401, 403, 405):
                continue
            assert resp.status_code == 422, f"{context}: {resp.status_code} {resp.text[:300]}"
            body = resp.json()
            fields = {body.get("field")} | {p["field"] for p in body.get("problems", [])}
            assert fields & set(names), f"{context}: {body}"


def test_ids_in_bodies_and_offsets_are_bounded(harness):
    manager = harness.token("district_manager")
    cases = [
        ("POST", "/api/access/authorize", {"camera_id": 2**63, "purpose": "crime_prevention", "action": "live"}),
        ("POST", "/api/access/authorize", {"camera_id": 2**31, "purpose": "crime_prevention", "action": "live"}),
        (
            "POST",
            "/api/access/authorize",
            {"camera_id": 1, "purpose": "crime_prevention", "action": "live", "incident_id": 2**63},
        ),
        ("GET", f"/api/cameras?offset={2**63}", None),
        ("GET", f"/api/cameras?offset={2**31}", None),
        ("GET", f"/api/audit?before_seq={2**63}", None),
        ("GET", f"/api/cameras/1/snapshot.jpg?purpose=crime_prevention&incident_id={2**63}", None),
    ]
    for method, url, body in cases:
        resp = harness.client.request(method, url, json=body, headers=manager)
        got = _assert_4xx(resp, f"{method} {url} {body}")
        assert resp.status_code == 422, f"{method} {url}: {resp.status_code} {got}"
        assert got["field"] in {"camera_id", "incident_id", "offset", "before_seq"}, got
    # The largest value each holds is still accepted as a number (and simply finds nothing).
    assert harness.client.get(f"/api/cameras/{2**31 - 1}", headers=manager).status_code == 404
    assert harness.client.get(f"/api/cameras?offset={2**31 - 1}", headers=manager).status_code == 200


# Times Python cannot turn into UTC (year 1 ahead of UTC, year 9999 behind it) and times past what a
# period or a retention can be computed with; found by the schemathesis fuzzing (tests/e2e/test_fuzz.py).
OUT_OF_RANGE_TIMES = [
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T00:00:00Z",
    "1899-12-31T23:59:59Z",
]


@pytest.mark.parametrize("when", OUT_OF_RANGE_TIMES)
def test_times_out_of_range_are_refused_naming_the_field(harness, when):
    """Before: ``/api/ledgers?since=0001-01-01T00:00:00+23:59`` (and ``/api/access/statistics``, the
    ledger exports) failed converting it to UTC for the database: 500."""
    from urllib.parse import quote

    manager = harness.token("district_manager")
    t = quote(when)
    queries = [
        (f"/api/ledgers?since={t}", "since"),
        (f"/api/ledgers/export.xlsx?until={t}", "until"),
        (f"/api/ledgers/export.pdf?since={t}", "since"),
        (f"/api/access/statistics?since={t}", "since"),
        (f"/api/video/cameras/1/segments?start={t}&end=2026-11-20T11:00:00%2B09:00", "start"),
    ]
    for url, field in queries:
        resp = harness.client.get(url, headers=manager)
        body = _assert_4xx(resp, url)
        assert resp.status_code == 422 and body["field"] == field, f"{url}: {resp.status_code} {body}"
        assert "1900" in body["problems"][0]["en"], body
    period = {"period_start": "2026-11-20T10:00:00+09:00", "period_end": when}
    bodies = [
        (
            "/api/access/provisions",
            {
                **period,
                "camera_ids": [1],
                "purpose": "crime_prevention",
                "legal_ground": "crime_investigation",
                "reason": "x",
                "document_number": "1",
            },
        ),
        ("/api/cameras/1/clips", {"start": "2026-11-20T10:00:00+09:00", "end": when, "reason": "x"}),
    ]
    for (url, payload), permission in zip(bodies, ("video.provision.request", "registry.read"), strict=True):
        caller = harness.token(harness.policy.roles_with(permission)[0])
        resp = harness.client.post(url, json=payload, headers=caller)
        body = _assert_4xx(resp, url)
        assert resp.status_code == 422, f"{url}: {resp.status_code} {body}"
        assert {p["field"] for p in body["problems"]} & {"period_end", "end"}, body
    # A device message with such a time is kept on the rejected shelf like any unusable message.
    device = harness.token(harness.policy.roles_with("events.ingest")[0])
    bell = {
        "message_id": "bell-range",
        "type": "emergency_bell",
        "occurred_at": when,
        "payload": {"bell_id": "B-1", "latitude": 37.56, "longitude": 127.03},
    }
    resp = harness.client.post("/api/events", json=bell, headers=device)
    assert resp.status_code == 422 and "occurred_at" in resp.text, resp.text
    # The edges themselves are accepted.
    for edge in ("1900-01-01T09:00:00+09:00", "2999-12-31T23:59:59Z"):
        resp = harness.client.get(f"/api/ledgers?since={quote(edge)}", headers=manager)
        assert resp.status_code == 200, (edge, resp.text)


def test_nul_and_control_characters_in_the_address_are_refused(harness):
    """Before: ``/api/audit?action=%00`` reached PostgreSQL, which cannot take NUL in text: 500."""
    manager = harness.token("district_manager")
    for url in [
        "/api/audit?action=%00",
        "/api/audit?object_id=camera%00x",
        "/api/audit?action=a%01b",
        "/api/cameras?department=%00",
        "/api/cameras?x%00y=1",
        "/api/cameras/nearest?lat=37.5&lon=127.0&purpose=%00",
    ]:
        resp = harness.client.get(url, headers=manager)
        body = _assert_4xx(resp, url)
        assert resp.status_code == 422, f"{url}: {resp.status_code} {body}"
    resp = harness.client.post("/api/users/a%00b/lock", headers=manager)
    assert resp.status_code == 422, resp.text
    assert resp.json()["field"] == "path"
    # Public routes too, and a tab or a newline in a search is still words, not a refusal.
    assert harness.client.get("/healthz?probe=%00").status_code == 422
    assert harness.client.get("/api/cameras?q=a%09b", headers=manager).status_code == 200
    # An anonymous caller learns nothing more than that it must sign in.
    assert harness.client.get("/api/audit?action=%00").status_code == 401


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n\n  \r\n",
        b"\xef\xbb\xbf",
        "12가3456,수배,2026-1,\n".encode(),  # a data line where the header should be
        b"foo,bar\n1,2\n",
        b"\xff\xfe\x00\x00garbage",
        b"\x00\x00\x00",
        b"plate,reason\n" + b"x" * 200_000 + b",wanted\n",  # a field over the csv module's limit
    ],
    ids=["empty", "blank-lines", "bom-only", "headerless", "wrong-header", "binary", "nul", "huge-field"],
)
def test_hot_list_csv_without_a_header_is_a_422_and_changes_nothing(harness, data):
    police = harness.token("police_officer")
    good = "차량번호,구분,사건번호,비고\n12가3456,수배,2026-1,\n".encode()
    assert harness.client.put("/api/hotlist", content=good, headers=police).status_code == 200
    resp = harness.client.put("/api/hotlist", content=data, headers=police)
    body = _assert_4xx(resp, repr(data[:40]))
    assert resp.status_code == 422 and body["field"] == "file", body
    after = harness.client.get("/api/hotlist", headers=police).json()
    assert after["count"] == 1 and after["version"] == 1, after


def test_healthz_is_liveness_and_readyz_checks_the_database(harness):
    assert harness.client.get("/healthz").json()["status"] == "ok"
    resp = harness.client.get("/readyz")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["checks"] == {"database": "ok", "broker": "not_configured", "bus": "not_configured"}
    assert body["down"] == []
    assert "/readyz" in harness.client.get("/api/openapi.json").json()["paths"]


# ---- outages --------------------------------------------------------------------------------------


def _closed_port_url() -> str:
    return PG_ADMIN_URL.rsplit("@", 1)[0] + "@127.0.0.1:9/gwanje_gone"


def test_a_database_that_cannot_be_reached_is_a_503_with_retry_after(tmp_path, policy):
    """An app pointed at a PostgreSQL that refuses connections (a closed port)."""
    db = Database(_closed_port_url())
    settings = Settings(database_url=db.url, var_dir=tmp_path / "var")
    app = create_app(settings, db=db, policy=policy, migrate=False)
    from fastapi.testclient import TestClient

    client = TestClient(app, raise_server_exceptions=False)  # no lifespan: it would need the database
    for url in ("/api/cameras", "/api/incidents", "/api/audit"):
        resp = client.get(url, headers={"Authorization": "Bearer gwt_not-checked-while-down"})
        assert resp.status_code == 503, f"{url}: {resp.status_code} {resp.text[:300]}"
        assert int(resp.headers["retry-after"]) > 0
        body = resp.json()
        assert body["error"] == "unavailable" and body["message"]["ko"] and body["message"]["en"]
        assert body["details"]["down"] == ["database"]
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["retry-after"]
    assert ready.json()["down"] == ["database"] and ready.json()["message"]["en"]
    assert client.get("/healthz").status_code == 200  # still alive: a balancer must ask /readyz
    db.dispose()


def test_readyz_names_an_unreachable_mqtt_broker(harness, tmp_path):
    from fastapi.testclient import TestClient

    settings = Settings(database_url=harness.db.url, var_dir=tmp_path / "var", mqtt_url="mqtt://127.0.0.1:9")
    app = create_app(settings, db=harness.db, policy=harness.policy, migrate=False)
    resp = TestClient(app, raise_server_exceptions=False).get("/readyz")
    assert resp.status_code == 503, resp.text
    assert resp.json()["checks"] == {"database": "ok", "broker": "down", "bus": "not_configured"}
    assert resp.json()["down"] == ["broker"] and resp.headers["retry-after"]


@pytest.fixture
def pg_harness(pg_templates, policy, tmp_path):
    url = pg_templates.fresh()
    db = Database(url)
    h = Harness(db, policy, tmp_path)
    with h.client:
        yield h, url.rsplit("/", 1)[-1]
    db.dispose()


def _connections(name: str, allow: bool) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {"true" if allow else "false"}'))
        if not allow:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            )
    admin.dispose()


def test_a_database_outage_under_a_running_app_is_503_then_recovers(pg_harness):
    """The app's pooled connections are killed and new ones refused, then the database comes back."""
    harness, name = pg_harness
    manager = harness.token("district_manager")
    assert harness.client.get("/api/cameras", headers=manager).status_code == 200
    _connections(name, allow=False)
    try:
        for _ in range(3):
            resp = harness.client.get("/api/cameras", headers=manager)
            assert resp.status_code == 503, resp.text[:300]
            assert resp.headers["retry-after"] and resp.json()["details"]["down"] == ["database"]
        resp = harness.client.post("/api/incidents", json={"title": "주취자"}, headers=manager)
        assert resp.status_code == 503, resp.text[:300]
        ready = harness.client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["down"] == ["database"]
        assert harness.client.get("/healthz").status_code == 200
    finally:
        _connections(name, allow=True)
    assert harness.client.get("/api/cameras", headers=manager).status_code == 200
    assert harness.client.get("/readyz").status_code == 200


def test_after_a_restart_while_idle_the_next_request_is_answered(pg_harness):
    """Connections the database dropped while the app was idle are replaced before use, not failed."""
    import time

    from gwanje.core.db import IDLE_PING_SECONDS

    harness, name = pg_harness
    manager = harness.token("district_manager")
    assert harness.client.get("/api/cameras", headers=manager).status_code == 200
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:  # what a restart does to every open connection
        killed = conn.execute(
            sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
        ).scalar()
    admin.dispose()
    assert killed >= 1
    time.sleep(IDLE_PING_SECONDS + 0.3)
    for _ in range(3):
        resp = harness.client.get("/api/cameras", headers=manager)
        assert resp.status_code == 200, resp.text[:300]


def test_a_caller_that_leaves_mid_body_is_no_server_error_and_nothing_is_stored(harness, caplog):
    """A device that disconnects while sending its body: nobody is there to answer, nothing is stored,
    and the log does not call it an unexpected error (wrk's last requests at the end of a run did)."""
    import asyncio
    import logging

    headers = [(k.lower().encode(), v.encode()) for k, v in harness.token("device").items()]
    headers += [(b"content-type", b"application/json"), (b"content-length", b"400")]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/events",
        "raw_path": b"/api/events",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    incoming = [
        {"type": "http.request", "body": b'{"message_id": "left-1", "type": "emer', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent = []

    async def receive():
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    with caplog.at_level(logging.INFO):
        asyncio.run(harness.app(scope, receive, send))
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert all(m["status"] < 500 for m in starts), starts
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
    with harness.db.reading() as s:
        assert s.scalar(sa.text("SELECT count(*) FROM inbox WHERE message_id = 'left-1'")) == 0


def test_the_access_log_is_off_unless_the_settings_ask_for_it():
    from gwanje.core.settings import Settings
    from gwanje.web.limits import server_options

    assert server_options()["access_log"] is False
    assert Settings().access_log is False
    assert server_options(2, access_log=Settings(access_log=True).access_log)["access_log"] is True
