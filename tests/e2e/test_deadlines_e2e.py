"""Deadlines over HTTP (issue 9 §2): the refusal of video under an emergency whose official document
is overdue past the grace, and the deadline alerts in the API, on the board and on the home page."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from gwanje.accounts import service as accounts
from gwanje.core.audit import Actor
from gwanje.core.clock import shifted
from tests.e2e.test_access_e2e import PDF, T0, T1, _audit, _bell_incident, _camera, _open

GRACE_HOURS = 6


@pytest.fixture
def policy(policy):
    """A grace period, and an emergency video that outlasts the document's deadline."""
    return replace(
        policy, access=replace(policy.access, emergency_minutes=4 * 24 * 60, document_grace_hours=GRACE_HOURS)
    )


def _bearer(h, user):
    """A token issued now (on the shifted clock too, so that it has not expired there)."""
    with h.db.uow() as uow:
        token = accounts.issue_token(uow, Actor.system("test"), user, "test")
        uow.commit()
    return {"Authorization": f"Bearer {token}"}


def _alert_ids(h, who):
    resp = h.client.get("/api/access/deadline-alerts", headers=who)
    assert resp.status_code == 200, resp.text
    return [(a["kind"], a["object_id"]) for a in resp.json()]


def test_an_overdue_document_alerts_the_police_on_board_and_home_then_blocks_their_video(harness):
    h = harness
    cam = _camera(h, "SD-DL-1")
    incident = _bell_incident(h)
    officer, agent, it = (
        h.user("dl_officer", "police_officer"),
        h.user("dl_agent", "monitoring_agent"),
        h.user("dl_it", "district_it_officer"),
    )
    opened = h.client.post(
        "/api/access/emergency",
        headers=_bearer(h, officer),
        json={
            "camera_ids": [cam],
            "period_start": T0,
            "period_end": T1,
            "purpose": "crime_prevention",
            "legal_ground": "urgent_life_body_property",
            "reason": "납치 의심 차량 추적",
            "incident_id": incident,
        },
    )
    assert opened.status_code == 201, opened.text
    pid = opened.json()["id"]
    assert _alert_ids(h, _bearer(h, officer)) == []
    marker = f'data-kind="document" data-object="{pid}"'

    with shifted(timedelta(hours=policy_hours(h) + 1)):  # overdue, within the grace
        police = _bearer(h, officer)
        assert _open(h, police, cam, action="live", provision_id=pid).status_code == 200
        alerts = h.client.get("/api/access/deadline-alerts", headers=police).json()
        assert [(a["kind"], a["object_id"], a["overdue"]) for a in alerts] == [("document", pid, True)]
        assert alerts[0]["clause"] == "art-11-1" and alerts[0]["blocks_at"] and alerts[0]["label_en"]
        for page in ("/board", "/cameras"):  # the board and the home page
            html = h.client.get(page, headers=police)
            assert html.status_code == 200 and marker in html.text and "처리 기한 알림" in html.text
        english = h.client.get("/cameras", headers=police, params={"lang": "en"}).text
        assert marker in english and "Deadline alerts" in english and "official document overdue" in english
        fragment = h.client.get("/access/deadline-alerts", headers=police)
        assert fragment.status_code == 200 and marker in fragment.text
        for page in ("/map", "/access"):  # any other page a role may land on fetches them at once
            html = h.client.get(page, headers=police)
            assert html.status_code == 200, (page, html.status_code)
            assert 'hx-get="/access/deadline-alerts"' in html.text and 'hx-trigger="load, every 60s"' in html.text
        for other in (agent, it):  # not theirs to act on
            who = _bearer(h, other)
            assert _alert_ids(h, who) == []
            assert marker not in h.client.get("/board", headers=who).text
            assert marker not in h.client.get("/cameras", headers=who).text

    with shifted(timedelta(hours=policy_hours(h) + GRACE_HOURS + 1)):  # past the grace
        police = _bearer(h, officer)
        for action in ("live", "snapshot", "playback"):
            refused = _open(h, police, cam, action=action, provision_id=pid)
            assert refused.status_code == 403, refused.text
            body = refused.json()
            assert body["clause"] == "art-11-1"
            assert "art-11-1" in body["message"]["ko"] and "art-11-1" in body["message"]["en"]
        assert [e.clause for e in _audit(h, "video.access.denied")] == ["art-11-1"] * 3
        upload = h.client.post(
            f"/api/access/provisions/{pid}/document",
            headers=police,
            data={"document_number": "성동서-긴급-9"},
            files={"file": ("scan.pdf", PDF, "application/pdf")},
        )
        assert upload.status_code == 200, upload.text
        assert _alert_ids(h, police) == []
        assert marker not in h.client.get("/board", headers=police).text
        assert _open(h, police, cam, action="live", provision_id=pid).status_code == 200


def test_deadline_alerts_need_a_signed_in_caller(harness):
    assert harness.client.get("/api/access/deadline-alerts").status_code == 401


def policy_hours(h):
    return h.policy.access.document_due_hours
