"""The registry JSON API over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from gwanje.web.app import iter_api_routes

CAMERA = {
    "management_number": "SD-T-001",
    "name": "왕십리역 6번 출구",
    "site": {"road_address": "서울특별시 성동구 왕십리광장로 17"},
    "department": "autonomous_admin",
    "primary_purpose": "crime_prevention",
    "secondary_purposes": ["illegal_parking", "disaster"],
    "storage_mode": "central",
    "latitude": 37.5612,
    "longitude": 127.0371,
    "direction": "360도 전방면",
    "resolution_mp": 2.0,
    "installed_month": "2019-05",
    "stream_url": "rtsp://127.0.0.1:8554/cam1",
}


def test_openapi_is_published_and_lists_camera_routes(harness):
    spec = harness.client.get("/api/openapi.json").json()
    assert "/api/cameras" in spec["paths"]
    assert "post" in spec["paths"]["/api/cameras"]


def test_every_route_refuses_anonymous_callers_unless_declared_public(harness):
    public = {"/healthz", "/readyz", "/api/auth/token", "/api/openapi.json", "/api/docs", "/login", "/lang/{lang}"}
    checked = 0
    for route in iter_api_routes(harness.app.routes):
        if route.path in public:
            continue
        path = route.path.replace("{camera_id}", "1").replace("{username}", "x")
        # Any other parameter, typed ({item_id:int}) or not, gets a value its converter matches.
        path = re.sub(r"\{[^}]+\}", "1", path)
        for method in route.methods - {"HEAD"}:
            resp = harness.client.request(method, path, headers={"accept": "application/json"}, follow_redirects=False)
            assert resp.status_code in (401, 303), f"{method} {route.path} answered {resp.status_code}"
            checked += 1
    assert checked >= 8


def test_camera_is_created_read_updated_retired_and_audited(harness):
    writer = harness.token("district_manager")
    created = harness.client.post("/api/cameras", json=CAMERA, headers=writer)
    assert created.status_code == 201, created.text
    cam = created.json()
    assert cam["owner_organisation"] == "district"
    assert cam["retention_days"] == 30  # policy default
    assert cam["secondary_purposes"] == ["illegal_parking", "disaster"]

    read = harness.client.get(f"/api/cameras/{cam['id']}", headers=harness.token("monitoring_agent"))
    assert read.json()["management_number"] == "SD-T-001"

    upd = harness.client.patch(
        f"/api/cameras/{cam['id']}", json={"status": "fault", "retention_days": 14}, headers=writer
    )
    assert upd.status_code == 200, upd.text
    assert upd.json()["status"] == "fault" and upd.json()["retention_days"] == 14

    ret = harness.client.post(f"/api/cameras/{cam['id']}/retire", json={"reason": "도로 공사로 철거"}, headers=writer)
    assert ret.json()["status"] == "retired" and ret.json()["retired_at"]
    again = harness.client.post(f"/api/cameras/{cam['id']}/retire", json={"reason": "x"}, headers=writer)
    assert again.status_code == 409

    audit = harness.client.get("/api/audit", params={"object_id": "SD-T-001"}, headers=harness.token("auditor")).json()
    actions = [e["action"] for e in audit]
    assert actions == ["camera.retire", "camera.update", "camera.create"]
    update = audit[1]
    assert '"status":"active"' in update["before"] and '"status":"fault"' in update["after"]
    assert update["role"] == "district_manager" and update["request_id"]
    assert update["at"].endswith("+00:00")  # datetime.isoformat(), as the audit API has always answered


def test_police_installed_camera_belongs_to_the_police(harness):
    body = {
        **CAMERA,
        "management_number": "SD-P-1",
        "department": "police_station",
        "installed_by": "police",
        "secondary_purposes": [],
    }
    resp = harness.client.post("/api/cameras", json=body, headers=harness.token("district_manager"))
    assert resp.status_code == 201, resp.text
    assert resp.json()["owner_organisation"] == "police"


def _error(resp):
    body = resp.json()
    assert body["message"]["ko"] and body["message"]["en"]
    return body


def test_validation_errors_name_the_field_in_korean_and_english(harness):
    h = harness.token("district_manager")
    cases = [
        ({**CAMERA, "primary_purpose": None}, "primary_purpose"),
        ({k: v for k, v in CAMERA.items() if k != "primary_purpose"}, "primary_purpose"),
        ({**CAMERA, "secondary_purposes": ["bicycle_storage"]}, "secondary_purposes"),
        ({**CAMERA, "latitude": 35.68, "longitude": 139.76}, "latitude"),  # Tokyo
        ({**CAMERA, "latitude": 0, "longitude": 0}, "latitude"),
        ({**CAMERA, "retention_days": -3}, "retention_days"),
        ({**CAMERA, "resolution_mp": -1}, "resolution_mp"),
        ({**CAMERA, "department": "no_such_dept"}, "department"),
        ({**CAMERA, "installed_month": "2019-13"}, "installed_month"),
    ]
    for body, field in cases:
        resp = harness.client.post("/api/cameras", json=body, headers=h)
        assert resp.status_code == 422, (field, resp.text)
        assert _error(resp)["field"] == field, resp.text
    ok = harness.client.post("/api/cameras", json=CAMERA, headers=h)
    assert ok.status_code == 201
    dup = harness.client.post("/api/cameras", json=CAMERA, headers=h)
    assert dup.status_code == 409 and _error(dup)["field"] == "management_number"


def test_secondary_purpose_refusal_cites_annex_1(harness):
    resp = harness.client.post(
        "/api/cameras",
        json={**CAMERA, "secondary_purposes": ["green_parking"]},
        headers=harness.token("district_manager"),
    )
    assert resp.status_code == 422
    assert resp.json()["clause"] == "annex-1"


def test_roles_without_write_permission_are_refused_with_the_clause(harness):
    resp = harness.client.post("/api/cameras", json=CAMERA, headers=harness.token("monitoring_agent"))
    assert resp.status_code == 403
    assert resp.json()["clause"]


def test_department_officer_writes_only_own_department(harness):
    officer = harness.token("department_officer", "sanitation")
    other = harness.client.post("/api/cameras", json=CAMERA, headers=officer)
    assert other.status_code == 403
    own = {
        **CAMERA,
        "management_number": "SD-SN-9",
        "department": "sanitation",
        "primary_purpose": "illegal_dumping",
        "secondary_purposes": ["crime_prevention"],
        "storage_mode": "mobile",
    }
    assert harness.client.post("/api/cameras", json=own, headers=officer).status_code == 201
    mine = harness.client.post("/api/cameras", json=CAMERA, headers=harness.token("district_manager")).json()
    assert harness.client.patch(f"/api/cameras/{mine['id']}", json={"name": "x"}, headers=officer).status_code == 403


def test_search_by_text_department_purpose_status_bbox_and_radius(harness):
    h = harness.token("district_manager")
    rows = [
        ("A-1", "autonomous_admin", "crime_prevention", ["illegal_parking"], 37.5612, 127.0371, "왕십리로 1"),
        ("A-2", "autonomous_admin", "crime_prevention", ["disaster"], 37.5450, 127.0560, "성수이로 2"),
        ("S-1", "sanitation", "illegal_dumping", [], 37.5500, 127.0400, "행당로 3"),
        ("P-1", "parks_green", "facility_management", ["illegal_parking"], 37.5300, 127.0100, "서울숲길 4"),
    ]
    for num, dept, prim, sec, lat, lon, road in rows:
        body = {
            **CAMERA,
            "management_number": num,
            "department": dept,
            "primary_purpose": prim,
            "secondary_purposes": sec,
            "latitude": lat,
            "longitude": lon,
            "site": {"road_address": road},
        }
        assert harness.client.post("/api/cameras", json=body, headers=h).status_code == 201

    def numbers(**params):
        resp = harness.client.get("/api/cameras", params=params, headers=h)
        assert resp.status_code == 200, resp.text
        return sorted(c["management_number"] for c in resp.json()["items"])

    assert numbers(q="성수이로") == ["A-2"]
    assert numbers(q="a-") == ["A-1", "A-2"]
    assert numbers(department="sanitation") == ["S-1"]
    assert numbers(purpose="illegal_parking") == ["A-1", "P-1"]  # secondary purposes count
    assert numbers(bbox="37.54,127.03,37.57,127.06") == ["A-1", "A-2", "S-1"]
    assert numbers(near="37.5612,127.0371,1500") == ["A-1", "S-1"]
    assert numbers(purpose="crime_prevention", bbox="37.55,127.0,37.6,127.1", q="왕십리") == ["A-1"]
    a1 = harness.client.get("/api/cameras", params={"q": "A-1"}, headers=h).json()["items"][0]
    harness.client.patch(f"/api/cameras/{a1['id']}", json={"status": "fault"}, headers=h)
    assert numbers(status="fault") == ["A-1"]
    geo = harness.client.get("/api/cameras.geojson", headers=h).json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) == 4
    lon, lat = geo["features"][0]["geometry"]["coordinates"]
    assert 124 < lon < 132 and 33 < lat < 39
    for bad in (
        {"bbox": "1,2,3"},
        {"bbox": "a,b,c,d"},
        {"near": "37,127,-5"},
        {"limit": "0"},
        {"status": "exploded"},
        {"bbox": "38,127,37,128"},
    ):
        resp = harness.client.get("/api/cameras", params=bad, headers=h)
        assert resp.status_code == 422, (bad, resp.text)
        _error(resp)


def test_bearer_token_is_issued_for_valid_credentials_only(harness):
    harness.user("agent1", "monitoring_agent")
    bad = harness.client.post("/api/auth/token", json={"username": "agent1", "password": "wrong-password"})
    assert bad.status_code == 401
    from tests.conftest import PASSWORD

    good = harness.client.post("/api/auth/token", json={"username": "agent1", "password": PASSWORD})
    assert good.status_code == 200
    token = good.json()["token"]
    me = harness.client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["role"] == "monitoring_agent" and "registry.read" in me["permissions"]
    assert harness.client.get("/api/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_box_search_is_exact_at_the_edges_of_the_box(harness):
    h = harness.token("district_manager")
    edges = [(37.56995, 127.04995), (37.57, 127.05), (37.565, 127.045), (37.5649, 127.0449)]
    for i, (lat, lon) in enumerate(edges):
        body = {**CAMERA, "management_number": f"EDGE-{i}", "latitude": lat, "longitude": lon}
        assert harness.client.post("/api/cameras", json=body, headers=h).status_code == 201
    for i, (lat, lon) in enumerate(edges):
        box = f"{lat - 1e-6},{lon - 1e-6},{lat + 1e-6},{lon + 1e-6}"
        found = harness.client.get("/api/cameras", params={"bbox": box}, headers=h).json()["items"]
        assert [c["management_number"] for c in found] == [f"EDGE-{i}"]


def test_the_nearest_camera_index_follows_every_camera_change(harness):
    """Use cases record registry events; the app's index listens and rebuilds on the next read."""
    from gwanje.core.events import from_wire
    from gwanje.registry.events import CameraUpdated

    writer = harness.token("district_manager")
    cache = harness.app.state.camera_index
    assert len(cache.get()) == 0
    cam = harness.client.post("/api/cameras", json=CAMERA, headers=writer).json()
    assert len(cache.get()) == 1
    moved = harness.client.patch(f"/api/cameras/{cam['id']}", json={"latitude": 37.57}, headers=writer)
    assert moved.status_code == 200
    assert cache.get().nearest(37.57, 127.0371, 1) == [(cam["id"], 0.0)]
    harness.client.post(f"/api/cameras/{cam['id']}/retire", json={"reason": "철거"}, headers=writer)
    assert len(cache.get()) == 0
    event = CameraUpdated(cam["id"], "SD-T-001", ("latitude",))
    assert from_wire(event.to_wire()) == event  # travels between instances over NATS as it is
