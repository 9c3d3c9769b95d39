"""Monitoring agents over HTTP on both engines: police requests for agents (Art. 9 ③, cost Art. 12)
and replacement demands with one timeline (Art. 9 ④)."""

from datetime import timedelta

import sqlalchemy as sa

from gwanje.core.audit import AuditEntry
from gwanje.core.clock import to_kst, utcnow

REQ = "/api/center/agent-requests"
DEM = "/api/center/replacement-demands"


def _request(h, police, **over):
    today = to_kst(utcnow()).date()
    body = {
        "headcount": 3,
        "hours_from": "18:00",
        "hours_to": "09:00",
        "period_start": (today - timedelta(days=1)).isoformat(),
        "period_end": (today + timedelta(days=30)).isoformat(),
        "reason": "연말 야간 방범 강화",
        **over,
    }
    return h.client.post(REQ, json=body, headers=police)


def _actions(h, object_type):
    with h.db.reading() as s:
        return list(
            s.scalars(
                sa.select(AuditEntry.action).where(AuditEntry.object_type == object_type).order_by(AuditEntry.seq)
            )
        )


def test_partial_approval_with_headcount_and_cost_and_summary(harness):
    """Art. 9 ③, Art. 12: the district takes on fewer agents than asked and bears their monthly cost."""
    police, manager = harness.token("police_officer"), harness.token("district_manager")
    r = _request(harness, police)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["status"] == "submitted"
    d = harness.client.post(
        f"{REQ}/{rid}/decision",
        json={"outcome": "partially_approve", "approved_headcount": 2, "monthly_cost_krw": 6_000_000},
        headers=manager,
    )
    assert d.status_code == 200, d.text
    assert d.json()["status"] == "partially_approved"
    assert d.json()["approved_headcount"] == 2 and d.json()["cost_bearer"] == "district"
    # A second request approved in full at the policy's default cost per agent.
    rid2 = _request(harness, police, headcount=1).json()["id"]
    full = harness.client.post(f"{REQ}/{rid2}/decision", json={"outcome": "approve"}, headers=manager)
    assert full.json()["status"] == "approved" and full.json()["monthly_cost_krw"] == 2_900_000
    # A refused one does not count.
    rid3 = _request(harness, police).json()["id"]
    harness.client.post(f"{REQ}/{rid3}/decision", json={"outcome": "refuse", "reason": "예산"}, headers=manager)
    s = harness.client.get(f"{REQ}/summary", headers=manager)
    assert s.status_code == 200, s.text
    assert s.json()["approved_headcount"] == 3
    assert s.json()["monthly_cost_krw"] == 8_900_000
    assert s.json()["requests"] == 2 and s.json()["clause"] == "art-12"
    # Deciding twice is a conflict.
    again = harness.client.post(f"{REQ}/{rid}/decision", json={"outcome": "approve"}, headers=manager)
    assert again.status_code == 409
    assert _actions(harness, "agent_request").count("agent_request.submitted") == 3
    assert "agent_request.partially_approved" in _actions(harness, "agent_request")


def test_refusal_needs_a_reason(harness):
    """Art. 9 ③: a refusal without a reason is a 4xx and changes nothing."""
    police, manager = harness.token("police_officer"), harness.token("district_manager")
    rid = _request(harness, police).json()["id"]
    r = harness.client.post(f"{REQ}/{rid}/decision", json={"outcome": "refuse"}, headers=manager)
    assert r.status_code == 422 and r.json()["field"] == "reason"
    assert harness.client.get(f"{REQ}/{rid}", headers=manager).json()["status"] == "submitted"


def test_district_cannot_request_and_police_cannot_decide(harness):
    """Art. 9 ③: the police request, the district decides."""
    police, manager = harness.token("police_officer"), harness.token("district_manager")
    assert _request(harness, manager).status_code == 403
    rid = _request(harness, police).json()["id"]
    r = harness.client.post(f"{REQ}/{rid}/decision", json={"outcome": "approve"}, headers=police)
    assert r.status_code == 403
    w = harness.client.post(f"{REQ}/{rid}/withdraw", headers=police)
    assert w.status_code == 200 and w.json()["status"] == "withdrawn"


def test_bad_request_inputs_are_4xx(harness):
    """Bounded inputs: hours, headcount, period."""
    police = harness.token("police_officer")
    assert _request(harness, police, hours_from="25:00").status_code == 422
    assert _request(harness, police, headcount=0).status_code == 422
    assert _request(harness, police, period_start="2026-12-31", period_end="2026-12-01").status_code == 422


def test_replacement_demand_timeline_in_order(harness):
    """Art. 9 ④: demand with a ground and facts, review, accept with a replacement, what followed,
    completion — all on one timeline, in order, each step audited."""
    police, manager = harness.token("police_officer"), harness.token("district_manager")
    agent = harness.user("agent_kim", "monitoring_agent")
    new_agent = harness.user("agent_lee", "monitoring_agent")
    r = harness.client.post(
        DEM,
        json={"agent_id": agent.id, "ground": "neglect_of_duty", "facts": "야간 근무 중 3회 자리 이탈"},
        headers=police,
    )
    assert r.status_code == 201, r.text
    did = r.json()["id"]
    steps = [
        (f"{DEM}/{did}/response", {"action": "review"}),
        (f"{DEM}/{did}/response", {"action": "accept", "resolution": "replace", "note": "교체 결정"}),
        (f"{DEM}/{did}/entries", {"note": "후임자 보안 교육 완료"}),
        (f"{DEM}/{did}/response", {"action": "complete", "replacement_agent_id": new_agent.id}),
    ]
    for url, body in steps:
        resp = harness.client.post(url, json=body, headers=manager)
        assert resp.status_code in (200, 201), resp.text
    detail = harness.client.get(f"{DEM}/{did}", headers=police).json()
    assert detail["status"] == "completed" and detail["replacement_agent_id"] == new_agent.id
    assert [e["action"] for e in detail["timeline"]] == [
        "submitted",
        "review",
        "accept_replace",
        "follow_up",
        "complete",
    ]
    ats = [e["at"] for e in detail["timeline"]]
    assert ats == sorted(ats)
    assert _actions(harness, "replacement_demand") == [
        "replacement_demand.submitted",
        "replacement_demand.under_review",
        "replacement_demand.accepted",
        "replacement_demand.follow_up",
        "replacement_demand.completed",
    ]


def test_refused_demand_needs_reasons_and_police_cannot_answer(harness):
    """Art. 9 ④: the district answers; a refusal gives its reasons."""
    police, manager = harness.token("police_officer"), harness.token("district_manager")
    agent = harness.user("agent_park", "monitoring_agent")
    did = harness.client.post(
        DEM, json={"agent_id": agent.id, "ground": "qualification", "facts": "자격 미달"}, headers=police
    ).json()["id"]
    assert harness.client.post(f"{DEM}/{did}/response", json={"action": "review"}, headers=police).status_code == 403
    harness.client.post(f"{DEM}/{did}/response", json={"action": "review"}, headers=manager)
    assert harness.client.post(f"{DEM}/{did}/response", json={"action": "refuse"}, headers=manager).status_code == 422
    ok = harness.client.post(
        f"{DEM}/{did}/response", json={"action": "refuse", "note": "사실 확인 불가"}, headers=manager
    )
    assert ok.status_code == 200 and ok.json()["status"] == "refused"


def test_invalid_ground_and_target_not_an_agent_are_4xx(harness):
    """Art. 9 ④: the ground is one of the policy's; the target holds an agent role."""
    police = harness.token("police_officer")
    agent = harness.user("agent_choi", "monitoring_agent")
    officer = harness.user("officer_jung", "police_officer")
    bad_ground = harness.client.post(DEM, json={"agent_id": agent.id, "ground": "rude", "facts": "x"}, headers=police)
    assert bad_ground.status_code == 422 and bad_ground.json()["field"] == "ground"
    not_agent = harness.client.post(
        DEM, json={"agent_id": officer.id, "ground": "qualification", "facts": "x"}, headers=police
    )
    assert not_agent.status_code == 422 and not_agent.json()["field"] == "agent_id"
    assert (
        harness.client.post(
            DEM, json={"agent_id": 999999, "ground": "qualification", "facts": "x"}, headers=police
        ).status_code
        == 422
    )
    assert _actions(harness, "replacement_demand") == []


def test_the_agent_concerned_does_not_read_the_demand(harness):
    """Art. 9 ④ with privacy: the policy's agent_sees_demands is false in Seongdong, so the agent
    concerned reads neither the demand nor its facts (and the agent role holds no agents.read)."""
    import pytest

    from gwanje.center.agents import service
    from gwanje.core.errors import NotFound

    police = harness.token("police_officer")
    agent = harness.user("agent_han", "monitoring_agent")
    did = harness.client.post(
        DEM, json={"agent_id": agent.id, "ground": "qualification", "facts": "비공개 사실"}, headers=police
    ).json()["id"]
    assert harness.client.get(f"{DEM}/{did}", headers=harness.token("monitoring_agent")).status_code == 403
    with pytest.raises(NotFound):
        service.read_demand(harness.db, harness.policy, agent, did)
    assert service.read_demands(harness.db, harness.policy, agent) == []
    manager = harness.user("mgr_han", "district_manager")
    assert service.read_demand(harness.db, harness.policy, manager, did)[0].facts == "비공개 사실"
