"""Access over HTTP: the police and Art. 9 ⑤, purposes, provision, deadlines, subject requests, ledgers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from gwanje.access import service as access
from gwanje.access.models import ProvisionRequest
from gwanje.core.audit import AuditEntry
from tests.conftest import Harness

CAMERA = {"latitude": 37.5636, "longitude": 127.0369, "retention_days": 30}
T0 = "2026-11-20T10:00:00+09:00"
T1 = "2026-11-20T11:00:00+09:00"
PDF = b"%PDF-1.4\n% official document scan\n"


@pytest.fixture
def h(harness):
    return harness


def _camera(h: Harness, number: str, **extra: object) -> int:
    body = {
        **CAMERA,
        "management_number": number,
        "department": "autonomous_admin",
        "primary_purpose": "crime_prevention",
        "secondary_purposes": ["illegal_parking", "disaster"],
        **extra,
    }
    resp = h.client.post("/api/cameras", json=body, headers=h.token("district_manager"))
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def _bell_incident(h: Harness) -> int:
    resp = h.client.post(
        "/api/events",
        headers=h.token("device"),
        json={
            "message_id": "bell-1",
            "type": "emergency_bell",
            "occurred_at": T0,
            "payload": {"bell_id": "B-1", "latitude": 37.5636, "longitude": 127.0369},
        },
    )
    assert resp.status_code == 202, resp.text
    return resp.json()["incident_id"]


def _open(h, who, camera_id, purpose="crime_prevention", action="live", **extra):
    return h.client.post(
        "/api/access/authorize",
        headers=who,
        json={"camera_id": camera_id, "purpose": purpose, "action": action, **extra},
    )


def _audit(h, action):
    with h.db.reading() as s:
        return list(s.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def test_police_view_only_while_responding_to_an_incident_the_camera_is_attached_to(h):
    nearby = _camera(h, "SD-E2E-1")
    police = h.token("police_officer")

    refused = _open(h, police, nearby)
    assert refused.status_code == 403
    body = refused.json()
    assert body["clause"] == "art-9-5" and body["message"]["ko"] and body["details"]["clause_text"]["ko"]

    incident = _bell_incident(h)
    still_new = _open(h, police, nearby, incident_id=incident)  # nobody judges it yet: no view
    assert still_new.status_code == 403 and "not yet being judged" in still_new.json()["message"]["en"]

    def act(action, **body):
        resp = h.client.post(f"/api/incidents/{incident}/actions/{action}", json=body, headers=police)
        assert resp.status_code == 200, resp.text
        return resp.json()

    assert act("acknowledge")["taken_by"]  # the officer takes the incident
    not_attached = _open(h, police, nearby, incident_id=incident)
    assert not_attached.status_code == 403 and "not attached" in not_attached.json()["message"]["en"]

    attached = h.client.post(
        f"/api/incidents/{incident}/attached-cameras",
        headers=police,
        json={"camera_id": nearby, "reason": "비상벨 인근"},
    )
    assert attached.status_code == 201, attached.text
    listed = h.client.get(f"/api/incidents/{incident}/attached-cameras", headers=police).json()
    assert [c["camera_id"] for c in listed] == [nearby]

    allowed = _open(h, police, nearby, incident_id=incident)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["clause"] == "art-9-5" and allowed.json()["incident_id"] == incident

    for code in ("view_cameras", "talk_to_caller", "notify_police", "record_outcome"):
        h.client.post(f"/api/incidents/{incident}/sop/{code}", json={}, headers=police)
    act("resolve")
    act("close")

    after = _open(h, police, nearby, incident_id=incident)
    assert after.status_code == 403 and after.json()["clause"] == "art-9-5"
    assert "no longer open" in after.json()["message"]["en"]

    decisions = [
        (e.action, e.clause, e.purpose) for e in _audit(h, "video.access.denied") + _audit(h, "video.access.allowed")
    ]
    assert decisions.count(("video.access.denied", "art-9-5", "crime_prevention")) == 4
    assert decisions.count(("video.access.allowed", "art-9-5", "crime_prevention")) == 1


def test_a_department_officer_outside_the_cameras_purposes_is_refused_with_the_clause(h):
    cam = _camera(
        h,
        "SD-SAN-1",
        department="sanitation",
        primary_purpose="illegal_dumping",
        secondary_purposes=["crime_prevention", "facility_management"],
    )
    officer = h.token("department_officer", "sanitation")
    refused = _open(h, officer, cam, purpose="traffic_enforcement", action="playback")
    assert refused.status_code == 403 and refused.json()["clause"] == "annex-1"
    assert "traffic" in refused.json()["message"]["en"].lower()
    assert _open(h, officer, cam, purpose="illegal_dumping", action="playback").status_code == 200
    denied = _audit(h, "video.access.denied")
    assert denied[-1].purpose == "traffic_enforcement" and denied[-1].clause == "annex-1"


def test_emergency_access_and_usage_result_deadlines_show_as_overdue(h):
    cam = _camera(h, "SD-EM-1")
    police = h.token("police_officer")
    opened = h.client.post(
        "/api/access/emergency",
        headers=police,
        json={
            "camera_ids": [cam],
            "period_start": T0,
            "period_end": T1,
            "purpose": "crime_prevention",
            "legal_ground": "urgent_life_body_property",
            "reason": "실종 아동 긴급 수색",
            "incident_id": _bell_incident(h),  # a situation type the 112 emergency-video agreement allows
        },
    )
    assert opened.status_code == 201, opened.text
    pid = opened.json()["id"]
    assert opened.json()["status"] == "emergency_open" and opened.json()["document_due_at"]
    assert opened.json()["created_at"].endswith("+00:00")  # times as datetime.isoformat(), as ever
    assert _open(h, police, cam, action="playback", provision_id=pid).status_code == 200

    it = h.token("district_it_officer")
    assert h.client.get("/api/access/overdue", headers=it).json() == []
    with h.db.uow() as uow:  # a day and a half later, and a month after the footage was provided
        p = uow.session.get(ProvisionRequest, pid)
        p.document_due_at = datetime.now(timezone.utc) - timedelta(hours=12)
        p.usage_result_due_at = datetime.now(timezone.utc) - timedelta(days=1)
        uow.commit()
    kinds = {i["kind"] for i in h.client.get("/api/access/overdue", headers=it).json()}
    assert kinds == {"document", "usage_result"}
    detail = h.client.get(f"/api/access/provisions/{pid}", headers=police).json()
    assert detail["document_overdue"] and detail["usage_result_overdue"]

    upload = h.client.post(
        f"/api/access/provisions/{pid}/document",
        headers=police,
        data={"document_number": "성동서-긴급-1"},
        files={"file": ("scan.pdf", PDF, "application/pdf")},
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["status"] == "document_received"
    kinds = {i["kind"] for i in h.client.get("/api/access/overdue", headers=it).json()}
    assert kinds == {"usage_result"}


def test_provision_request_approval_usage_result_and_statistics(h):
    cam = _camera(h, "SD-PR-1")
    investigator, it = h.token("police_investigator"), h.token("district_it_officer")
    created = h.client.post(
        "/api/access/provisions",
        headers=investigator,
        json={
            "camera_ids": [cam],
            "period_start": T0,
            "period_end": T1,
            "purpose": "crime_prevention",
            "legal_ground": "crime_investigation",
            "reason": "절도 사건",
            "document_number": "성동서-2026-77",
        },
    )
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    bad = h.client.post(
        "/api/access/provisions",
        headers=investigator,
        json={
            "camera_ids": [cam],
            "period_start": T0,
            "period_end": T1,
            "purpose": "crime_prevention",
            "legal_ground": "because",
            "reason": "x",
            "document_number": "1",
        },
    )
    assert bad.status_code == 422 and bad.json()["field"] == "legal_ground"
    exe = h.client.post(
        f"/api/access/provisions/{pid}/document",
        headers=investigator,
        data={"document_number": "성동서-2026-77"},
        files={"file": ("scan.pdf", b"MZ\x90\x00", "application/pdf")},
    )
    assert exe.status_code == 422 and exe.json()["message"]["ko"]
    assert (
        h.client.post(
            f"/api/access/provisions/{pid}/document",
            headers=investigator,
            data={"document_number": "성동서-2026-77"},
            files={"file": ("scan.png", b"\x89PNG\r\n\x1a\n0000", "image/png")},
        ).status_code
        == 200
    )
    assert (
        h.client.post(
            f"/api/access/provisions/{pid}/decision",
            headers=investigator,
            json={"decision": "approve", "reason": "self"},
        ).status_code
        == 403
    )
    approved = h.client.post(
        f"/api/access/provisions/{pid}/decision",
        headers=it,
        json={"decision": "approve", "reason": "범죄수사 필요성 인정"},
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    from gwanje.access import service
    from gwanje.core.audit import Actor

    service.mark_exported(h.db, h.policy, Actor.system("evidence"), pid, export_ref="EXP-1")
    result = h.client.post(
        f"/api/access/provisions/{pid}/usage-result",
        headers=investigator,
        json={"used_for": "용의자 동선 확인", "outcome": "suspect_identified"},
    )
    assert result.status_code == 200 and result.json()["status"] == "usage_result_entered"
    stats = h.client.get("/api/access/statistics", headers=it).json()
    assert stats[0]["camera_id"] == cam and stats[0]["outcomes"] == {"suspect_identified": 1}


def test_subject_request_refusals_the_law_does_not_allow_are_422(h):
    cam = _camera(h, "SD-SUB-1")
    it = h.token("district_it_officer")
    created = h.client.post(
        "/api/access/subject-requests",
        headers=it,
        json={
            "requester_name": "홍길동",
            "identity_method": "driver_licence",
            "camera_ids": [cam],
            "period_start": T0,
            "period_end": T1,
        },
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    for reason in ("no_police_present", "others_in_frame"):
        resp = h.client.post(
            f"/api/access/subject-requests/{sid}/decision", headers=it, json={"outcome": "refused", "reason": reason}
        )
        assert resp.status_code == 422 and resp.json()["clause"] == "pipa-35", resp.text
    provided = h.client.post(f"/api/access/subject-requests/{sid}/decision", headers=it, json={"outcome": "provided"})
    assert provided.status_code == 200 and provided.json()["mask_others"] is True


def test_ledgers_list_and_print_for_those_allowed_only(h):
    cam = _camera(h, "SD-LED-1")
    # Asking is not viewing: the decision alone is audited and puts nothing on the ledger.
    assert _open(h, h.token("monitoring_agent"), cam).status_code == 200
    manager = h.token("district_manager")
    assert h.client.get("/api/ledgers", headers=manager).json() == []
    grant = access.authorize_video(
        h.db, h.policy, h.user("led-agent", "monitoring_agent"), cam, "crime_prevention", "live"
    )
    access.record_delivery(h.db, h.policy, grant)  # the live view's first frame was delivered
    rows = h.client.get("/api/ledgers?kind=use", headers=manager).json()
    assert len(rows) == 1 and rows[0]["method"] == "live_view"
    assert h.client.get("/api/ledgers", headers=h.token("police_officer")).status_code == 403
    xlsx = h.client.get("/api/ledgers/export.xlsx", headers=manager)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    pdf = h.client.get("/api/ledgers/export.pdf?kind=use", headers=manager)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    fixed = h.client.post(
        f"/api/ledgers/{rows[0]['id']}/corrections",
        headers=manager,
        json={"reason": "목적 오기", "purpose": "disaster"},
    )
    assert fixed.status_code == 201 and fixed.json()["corrects_id"] == rows[0]["id"]
    assert len(h.client.get("/api/ledgers", headers=manager).json()) == 2


def test_a_police_report_over_the_api_opens_nothing_until_the_district_reviews_it(h):
    cam = _camera(h, "SD-REV-1")
    police, agent = h.token("police_officer"), h.token("monitoring_agent")
    reported = h.client.post("/api/incidents", headers=police, json={"title": "수상한 차량", "camera": "SD-REV-1"})
    assert reported.status_code == 201, reported.text
    incident = reported.json()
    assert incident["review_required"] is True and incident["reviewed_at"] is None
    took = h.client.post(f"/api/incidents/{incident['id']}/actions/acknowledge", json={}, headers=police)
    assert took.status_code == 200 and took.json()["taken_by"], took.text
    refused = _open(h, police, cam, incident_id=incident["id"])
    assert refused.status_code == 403 and refused.json()["clause"] == "art-9-5"
    assert "until the district reviews it" in refused.json()["message"]["en"]
    own_review = h.client.post(f"/api/incidents/{incident['id']}/actions/review", json={}, headers=police)
    assert own_review.status_code == 403
    reviewed = h.client.post(f"/api/incidents/{incident['id']}/actions/review", json={}, headers=agent)
    assert reviewed.status_code == 200 and reviewed.json()["reviewed_at"], reviewed.text
    assert "review" not in reviewed.json()["allowed_actions"]
    assert _open(h, police, cam, incident_id=incident["id"]).status_code == 200
    timeline = h.client.get(f"/api/incidents/{incident['id']}", headers=agent).json()["timeline"]
    assert [e["action"] for e in timeline] == ["created", "acknowledge", "review"]
