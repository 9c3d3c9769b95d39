"""A district that runs the center's operations on paper: its policy keeps none of the center's sections
(presence, roster, agents, handover, rooms) nor their permissions. Every page and API route still answers
every role with a page or a refusal, never a server error, and the console offers no link to what the
policy leaves out."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from gwanje.core.errors import ValidationFailed
from gwanje.policy import load_policy
from tests.fixtures.districts import HANBIT_POLICY
from tests.support import app_under, bearer_for

CENTER_PERMISSIONS = ("agents.", "roster.", "duty_log.", "center.", "training.", "rooms.")
CENTER_SECTIONS = ("agents", "handover", "presence", "roster", "rooms_access")
CONSOLE_PAGES = (
    "/",
    "/board",
    "/board/112",
    "/ingest",
    "/cameras",
    "/map",
    "/audit",
    "/access",
    "/center/roster",
    "/center/agent-requests",
    "/center/replacement-demands",
    "/center/duty-logs",
    "/center/presence",
    "/center/rooms",
)
CENTER_LINKS = ("nav-roster", "nav-agents", "nav-duty-logs", "nav-rooms", "nav-presence")


def _policy_without_center(tmp_path):
    data = yaml.safe_load(HANBIT_POLICY.read_text("utf-8"))
    data["permissions"] = {k: v for k, v in data["permissions"].items() if not k.startswith(CENTER_PERMISSIONS)}
    for section in CENTER_SECTIONS:
        data.pop(section, None)
    path = tmp_path / "paper-center.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return load_policy(path)


@pytest.fixture
def paper(db, tmp_path):
    policy = _policy_without_center(tmp_path)
    assert policy.presence is None and policy.rooms_access is None
    with app_under(db, tmp_path, policy) as pair:
        yield pair


def _bearer(app: Any, role: str) -> dict[str, str]:
    policy = app.state.policy
    try:
        return bearer_for(app, role)
    except ValidationFailed:
        # a role kept per department (registry.write_own_department) needs one of its organisation's departments
        organisation = policy.role(role).organisation
        return bearer_for(app, role, next(d.code for d in policy.departments if d.organisation == organisation))


def test_every_route_answers_every_role_without_a_server_error(paper):
    app, client = paper
    spec = client.get("/api/openapi.json").json()
    api = [p for p, ops in spec["paths"].items() if "get" in ops and "{" not in p and "/live" not in p]
    assert "/api/center/on-duty" in api and "/api/center/rooms" in api
    failures = []
    for role in app.state.policy.roles:
        headers = _bearer(app, role.code)
        for path in (*CONSOLE_PAGES, *api):
            resp = client.get(path, headers=headers, follow_redirects=False)
            if resp.status_code >= 500:
                failures.append((role.code, path, resp.status_code, resp.text[:200]))
    assert failures == []


def test_the_console_offers_no_link_to_the_center_the_policy_leaves_out(paper):
    app, client = paper
    for role in ("control_chief", "it_officer", "station_officer", "control_agent"):
        page = client.get("/cameras", headers=_bearer(app, role))
        assert page.status_code == 200, page.text
        assert 'id="nav-board"' in page.text or role == "inspector"
        for link in CENTER_LINKS:
            assert f'id="{link}"' not in page.text, (role, link)


def test_center_routes_refuse_in_both_languages(paper):
    app, client = paper
    headers = _bearer(app, "control_chief")
    for path in ("/api/center/on-duty", "/api/center/shifts", "/api/center/agent-requests", "/api/center/rooms"):
        resp = client.get(path, headers=headers)
        assert 400 <= resp.status_code < 500, (path, resp.status_code)
        message = resp.json()["message"]
        assert message["ko"] and message["en"], path
