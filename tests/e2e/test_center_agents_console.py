"""Console pages of monitoring agents (Art. 9 ③ ④): the police request agents and demand a
replacement through the forms, the district decides and answers; Korean by default, English on the switch."""

import re

from tests.conftest import PASSWORD, fresh_totp


def _sign_in(harness, username, role):
    user = harness.user(username, role)
    harness.client.cookies.clear()
    token = re.search(r'name="login_csrf" value="([^"]+)"', harness.client.get("/login").text).group(1)
    resp = harness.client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "otp": fresh_totp(user.totp_secret), "login_csrf": token},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    page = harness.client.get("/center/agent-requests")
    assert page.status_code == 200, page.text
    return user, re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1), page


def test_request_then_decision_through_the_forms(harness):
    """Art. 9 ③, Art. 12: the police file a request, the district approves part of it."""
    _, csrf, page = _sign_in(harness, "cop1", "police_officer")
    assert "모니터링 요원 지원 요청" in page.text and 'id="nav-agents"' in page.text
    refused = harness.client.post(
        "/center/agent-requests",
        data={
            "csrf_token": csrf,
            "headcount": "2",
            "hours_from": "18:00",
            "hours_to": "09:00",
            "period_start": "2026-12-10",
            "period_end": "2026-12-01",
            "reason": "야간",
        },
    )
    assert refused.status_code == 422 and 'id="form-error"' in refused.text
    ok = harness.client.post(
        "/center/agent-requests",
        data={
            "csrf_token": csrf,
            "headcount": "2",
            "hours_from": "18:00",
            "hours_to": "09:00",
            "period_start": "2026-12-01",
            "period_end": "2026-12-31",
            "reason": "야간 방범",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    page = harness.client.get("/center/agent-requests")
    rid = re.search(r'<tr id="r(\d+)" data-status="submitted"', page.text).group(1)
    assert 'name="outcome"' not in page.text  # the police do not decide

    _, csrf, page = _sign_in(harness, "mgr1", "district_manager")
    decided = harness.client.post(
        f"/center/agent-requests/{rid}/decision",
        data={"csrf_token": csrf, "outcome": "partially_approve", "approved_headcount": "1", "monthly_cost_krw": ""},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    page = harness.client.get("/center/agent-requests")
    assert f'<tr id="r{rid}" data-status="partially_approved"' in page.text
    harness.client.get("/lang/en?next=/center/agent-requests")
    assert "Requests for monitoring agents" in harness.client.get("/center/agent-requests").text


def test_demand_detail_shows_the_timeline_and_the_response_form(harness):
    """Art. 9 ④: demand, answer and follow-up on one page."""
    agent = harness.user("agent_a", "monitoring_agent")
    _, csrf, _ = _sign_in(harness, "cop2", "police_officer")
    made = harness.client.post(
        "/center/replacement-demands",
        data={"csrf_token": csrf, "agent_id": str(agent.id), "ground": "neglect_of_duty", "facts": "자리 이탈"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    url = made.headers["location"]
    _, csrf, _ = _sign_in(harness, "mgr2", "district_manager")
    assert 'name="action"' in harness.client.get(url).text
    harness.client.post(f"{url}/response", data={"csrf_token": csrf, "action": "review"})
    harness.client.post(f"{url}/entries", data={"csrf_token": csrf, "note": "면담 실시"})
    page = harness.client.get(url)
    assert re.findall(r'data-action="([a-z_]+)"', page.text) == ["submitted", "review", "follow_up"]
    assert "면담 실시" in page.text
