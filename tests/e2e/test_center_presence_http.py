"""Presence over HTTP: check in and out, the on-duty answer by organisation and role, permissions."""

from __future__ import annotations

import sqlalchemy as sa

from gwanje.accounts.models import User


def _user_id(h, role):
    with h.db.reading() as s:
        return s.scalar(sa.select(User.id).where(User.role == role, User.username.like("u%")))


def test_officer_checks_in_and_the_on_duty_answer_groups_by_organisation_and_role(harness):
    """art-9-2: who is in the room, and whether the police rule holds."""
    officer = harness.token("police_officer")
    r = harness.client.post("/api/center/presence/check-in", headers=officer)
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "police_officer" and r.json()["room"] == "situation_room"
    assert harness.client.post("/api/center/presence/check-in", headers=officer).status_code == 409

    r = harness.client.get("/api/center/on-duty", headers=harness.token("auditor"))
    assert r.status_code == 200, r.text
    body = r.json()
    [org] = body["organisations"]
    assert org["organisation"] == "police" and org["roles"][0]["role"] == "police_officer"
    assert org["roles"][0]["people"][0]["via"] == "console"
    rules = {x["code"]: x for x in body["rules"]}
    assert rules["police_on_duty"]["holds"] and rules["police_on_duty"]["present"] == 1
    assert not rules["agents_on_duty"]["holds"] and rules["agents_on_duty"]["required"] == 1

    r = harness.client.post("/api/center/presence/check-out", headers=officer, json={})
    assert r.status_code == 200 and r.json()["out_at"]
    assert harness.client.post("/api/center/presence/check-out", headers=officer, json={}).status_code == 409
    rules = {x["code"]: x for x in harness.client.get("/api/center/on-duty", headers=officer).json()["rules"]}
    assert not rules["police_on_duty"]["holds"] and rules["police_on_duty"]["since"]


def test_permissions_on_the_on_duty_answer(harness):
    assert harness.client.get("/api/center/on-duty").status_code == 401
    assert harness.client.get("/api/center/on-duty", headers=harness.token("maintenance_staff")).status_code == 403
    assert harness.client.get("/api/center/on-duty", headers=harness.token("auditor")).status_code == 200
    assert harness.client.post("/api/center/presence/check-in", headers=harness.token("auditor")).status_code == 403


def test_only_a_manager_checks_someone_else_out(harness):
    officer = harness.token("police_officer")
    harness.client.post("/api/center/presence/check-in", headers=officer)
    officer_id = _user_id(harness, "police_officer")
    agent = harness.token("monitoring_agent")
    r = harness.client.post("/api/center/presence/check-out", headers=agent, json={"account_id": officer_id})
    assert r.status_code == 403
    manager = harness.token("district_manager")
    r = harness.client.post("/api/center/presence/check-out", headers=manager, json={"account_id": officer_id})
    assert r.status_code == 200 and r.json()["account_id"] == officer_id


def test_untrained_agent_is_refused_with_the_reason_then_admitted_once_trained(harness):
    """art-9-4: no training on file → 403 naming the course; recorded by the district manager → admitted."""
    agent = harness.token("monitoring_agent")
    r = harness.client.post("/api/center/presence/check-in", headers=agent)
    assert r.status_code == 403 and "보안 교육" in r.text
    agent_id = _user_id(harness, "monitoring_agent")
    manager = harness.token("district_manager")
    for course in ("security", "privacy", "operating_system"):
        body = {"account_id": agent_id, "course": course, "completed_on": "2026-11-01"}
        r = harness.client.post("/api/center/trainings", headers=manager, json=body)
        assert r.status_code == 201, r.text
    assert harness.client.post("/api/center/trainings", headers=agent, json=body).status_code == 403
    bad = {"account_id": agent_id, "course": "juggling", "completed_on": "2026-11-01"}
    assert harness.client.post("/api/center/trainings", headers=manager, json=bad).status_code == 422
    r = harness.client.post("/api/center/presence/check-in", headers=agent)
    assert r.status_code == 403 and "pledge" in r.json()["message"]["en"]
    pledge = {"account_id": agent_id, "signed_on": "2026-11-01", "witness": "관리책임자"}
    assert harness.client.post("/api/center/pledges", headers=manager, json=pledge).status_code == 201
    assert harness.client.post("/api/center/presence/check-in", headers=agent).status_code == 201
    listed = harness.client.get("/api/center/trainings", headers=manager).json()
    assert len(listed["trainings"]) == 3 and len(listed["pledges"]) == 1


def test_the_header_strip_names_who_is_on_duty_and_the_gap(harness):
    officer = harness.token("police_officer")
    harness.client.post("/api/center/presence/check-in", headers=officer)
    r = harness.client.get("/center/on-duty", headers=officer)
    assert r.status_code == 200 and 'data-role="police_officer"' in r.text
    assert 'data-rule="agents_on_duty"' in r.text and 'data-rule="police_on_duty"' not in r.text


def test_the_presence_page_checks_in_and_shows_the_training_forms_to_the_manager(harness):
    manager = harness.token("district_manager")
    r = harness.client.get("/center/presence", headers=manager)
    assert r.status_code == 200 and 'id="check-in"' in r.text and 'id="training-form"' in r.text
    r = harness.client.post("/center/presence/check-in", headers=manager, follow_redirects=False)
    assert r.status_code == 303
    r = harness.client.post("/center/presence/check-in", headers=manager, follow_redirects=False)
    assert r.status_code == 409 and 'id="presence-error"' in r.text
    page = harness.client.get("/center/presence", headers=harness.token("auditor"))
    assert page.status_code == 200 and 'id="check-in"' not in page.text and 'id="training-form"' not in page.text
