"""Malformed, mistyped, oversized and hostile payloads to every write endpoint.

Always a 4xx with a Korean and an English message, never a 500, and nothing half-written.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.test_api_registry import CAMERA

INJECTIONS = [
    "'; DROP TABLE cameras; --",
    "1 OR 1=1",
    "<script>alert(1)</script>",
    '" onmouseover="alert(1)',
    "../../etc/passwd",
    "\u0000nul",
    "%' OR '%'='",
    "가" * 5000,
]


def _bodies_for(base: dict) -> list:
    """Mutations of a valid body: wrong types, missing fields, extras, injections, junk."""
    out: list = [None, [], "text", 42, {}, {"unexpected": 1}]
    for key, value in base.items():
        out.append({**base, key: None})
        out.append({**base, key: {"$gt": ""}})
        out.append({**base, key: [value]})
        if isinstance(value, (int, float)):
            out.append({**base, key: "NaN"})
            out.append({**base, key: 1e308})
            out.append({**base, key: -1})
        for attack in INJECTIONS[:6]:
            if isinstance(value, str):
                out.append({**base, key: attack})
    out.append({**base, "extra_field": "x"})
    return out


def _assert_clean_4xx(resp: Any, context: str) -> None:
    assert 400 <= resp.status_code < 500, f"{context}: {resp.status_code} {resp.text[:300]}"
    body = resp.json()
    assert body["message"]["ko"] and body["message"]["en"], context


@pytest.fixture
def setup(harness):
    h = harness.token("district_manager")
    created = harness.client.post("/api/cameras", json=CAMERA, headers=h)
    assert created.status_code == 201
    bell = {
        "message_id": "bell-1",
        "type": "emergency_bell",
        "payload": {"bell_id": "B-1", "latitude": 37.56, "longitude": 127.03},
    }
    posted = harness.client.post("/api/events", json=bell, headers=harness.token("device"))
    assert posted.status_code == 202, posted.text
    return harness, h, created.json()["id"]


def _write_endpoints(camera_id: int, incident_id: int = 1) -> list:
    return [
        ("POST", f"/api/incidents/{incident_id}/actions/acknowledge", {"note": "확인"}),
        ("POST", f"/api/incidents/{incident_id}/sop/view_cameras", {"skip_reason": "화면 고장"}),
        ("POST", "/api/incidents", {"title": "주취자", "latitude": 37.56, "longitude": 127.03}),
        ("POST", "/api/cameras", CAMERA),
        ("PATCH", f"/api/cameras/{camera_id}", {"name": "새 이름", "retention_days": 10}),
        ("POST", f"/api/cameras/{camera_id}/retire", {"reason": "철거"}),
        (
            "POST",
            "/api/users",
            {"username": "newbie", "display_name": "신입", "role": "monitoring_agent", "password": "long-enough-pw"},
        ),
        ("PUT", "/api/users/nobody/role", {"role": "auditor"}),
        ("POST", "/api/users/nobody/lock", None),
        ("POST", "/api/users/nobody/unlock", None),
        ("POST", "/api/auth/token", {"username": "x", "password": "y"}),
    ]


def test_mistyped_and_hostile_bodies_get_4xx_and_change_nothing(setup):
    harness, h, camera_id = setup
    for method, path, base in _write_endpoints(camera_id):
        if base is None:
            continue
        for body in _bodies_for(base):
            if body == base:
                continue
            before = harness.counts()
            resp = harness.client.request(method, path, json=body, headers=h)
            if resp.status_code < 400:
                # A hostile string that is still a valid value is stored verbatim, as data.
                assert isinstance(body, dict), (method, path, body)
                continue
            _assert_clean_4xx(resp, (method, path, json.dumps(body, ensure_ascii=False)[:120]))
            after = harness.counts()
            assert {k: v for k, v in after.items() if k != "audit_log"} == {
                k: v for k, v in before.items() if k != "audit_log"
            }, (method, path, body)
            if path != "/api/auth/token":
                assert after["audit_log"] == before["audit_log"], (method, path, body)


def test_malformed_json_and_wrong_content_types_are_refused(setup):
    harness, h, camera_id = setup
    for method, path, _ in _write_endpoints(camera_id):
        for raw, ctype in [
            ("{not json", "application/json"),
            ("\xff\xfe", "application/json"),
            ("a=1&b=2", "application/x-www-form-urlencoded"),
            ("", "application/json"),
        ]:
            before = harness.counts()
            resp = harness.client.request(
                method, path, content=raw.encode("utf-8", "surrogateescape"), headers={**h, "content-type": ctype}
            )
            if path.endswith(("/lock", "/unlock")):
                assert resp.status_code == 404, resp.text  # body ignored; unknown user
            else:
                _assert_clean_4xx(resp, (method, path, raw))
            assert harness.counts()["cameras"] == before["cameras"]


def test_oversized_bodies_are_refused_with_413(setup):
    harness, h, camera_id = setup
    huge = {**CAMERA, "management_number": "BIG-1", "name": "x" * (2 * 1024 * 1024)}
    for method, path, _ in _write_endpoints(camera_id):
        before = harness.counts()
        resp = harness.client.request(method, path, json=huge, headers=h)
        assert resp.status_code == 413, (path, resp.status_code)
        _assert_clean_4xx(resp, path)
        assert harness.counts() == before


def test_injection_strings_in_queries_are_inert(setup):
    harness, h, _ = setup
    for attack in INJECTIONS:
        for key in ("q", "department", "purpose"):
            resp = harness.client.get("/api/cameras", params={key: attack[:200]}, headers=h)
            assert resp.status_code in (200, 422), (key, attack, resp.text)
            if resp.status_code == 200:
                assert resp.json()["total"] == 0, (key, attack)
    assert harness.client.get("/api/cameras", headers=h).json()["total"] == 1


def test_html_in_a_name_is_stored_as_text(setup):
    harness, h, camera_id = setup
    resp = harness.client.patch(f"/api/cameras/{camera_id}", json={"name": "<script>alert(1)</script>"}, headers=h)
    assert resp.status_code == 200
    assert harness.client.get(f"/api/cameras/{camera_id}", headers=h).json()["name"] == "<script>alert(1)</script>"


def test_control_characters_in_paths_are_not_found_not_500(setup):
    harness, h, _ = setup
    for path in ("/api/users/%00x/lock", "/api/users/a%01b/unlock", "/api/cameras/%00"):
        resp = harness.client.post(path, headers=h) if "users" in path else harness.client.get(path, headers=h)
        _assert_clean_4xx(resp, path)
