"""Pure rules of monitoring agents: the state tables of requests (Art. 9 ③) and replacement demands
(Art. 9 ④), the decision's headcount and cost (Art. 12)."""

import pytest

from gwanje.center.agents import rules
from gwanje.core.errors import Conflict, ValidationFailed
from gwanje.policy import load_default

AGENTS = load_default().agents
REQUEST_ACTIONS = ("approve", "partially_approve", "refuse", "withdraw")
DEMAND_ACTIONS = ("review", "accept", "refuse", "complete")


@pytest.mark.parametrize("status", rules.REQUEST_STATUSES)
@pytest.mark.parametrize("action", REQUEST_ACTIONS)
def test_request_moves(status, action):
    """Art. 9 ③: submitted → approved | partially_approved | refused, or withdrawn by the requester;
    every other move is refused."""
    expected = rules.REQUEST_TRANSITIONS.get((status, action))
    if expected is None:
        with pytest.raises(Conflict):
            rules.request_next(status, action)
    else:
        assert status == "submitted"
        assert rules.request_next(status, action) == expected


def test_request_table_is_exactly_the_agreed_one():
    """Art. 9 ③: only a submitted request moves."""
    assert dict(rules.REQUEST_TRANSITIONS) == {
        ("submitted", "approve"): "approved",
        ("submitted", "partially_approve"): "partially_approved",
        ("submitted", "refuse"): "refused",
        ("submitted", "withdraw"): "withdrawn",
    }


@pytest.mark.parametrize("status", rules.DEMAND_STATUSES)
@pytest.mark.parametrize("action", DEMAND_ACTIONS)
def test_demand_moves(status, action):
    """Art. 9 ④: submitted → under_review → accepted | refused; accepted → completed."""
    allowed = {
        ("submitted", "review"): "under_review",
        ("under_review", "accept"): "accepted",
        ("under_review", "refuse"): "refused",
        ("accepted", "complete"): "completed",
    }
    if (status, action) in allowed:
        assert rules.demand_next(status, action) == allowed[(status, action)]
    else:
        with pytest.raises(Conflict):
            rules.demand_next(status, action)


def test_partial_approval_takes_fewer_and_costs_default_per_agent():
    """Art. 9 ③, Art. 12: the district takes on fewer agents and bears the policy's cost per agent."""
    action, headcount, cost = rules.decision(AGENTS, "partially_approve", 3, 2, None, None)
    assert (action, headcount) == ("partially_approve", 2)
    assert cost == 2 * AGENTS.cost.monthly_cost_per_agent_krw
    assert rules.decision(AGENTS, "partially_approve", 3, 2, 5_000_000, None)[2] == 5_000_000


@pytest.mark.parametrize("approved", [0, 3, 4, None])
def test_partial_approval_must_be_fewer_than_asked(approved):
    """Art. 9 ③: a partial approval is at least one and fewer than asked."""
    with pytest.raises(ValidationFailed):
        rules.decision(AGENTS, "partially_approve", 3, approved, None, None)


def test_full_approval_is_the_headcount_asked_for():
    """Art. 9 ③."""
    assert rules.decision(AGENTS, "approve", 3, None, None, None)[1] == 3
    with pytest.raises(ValidationFailed):
        rules.decision(AGENTS, "approve", 3, 2, None, None)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_refusal_needs_a_reason(reason):
    """Art. 9 ③: a refusal gives its reason."""
    with pytest.raises(ValidationFailed):
        rules.decision(AGENTS, "refuse", 3, None, None, reason)
    assert rules.decision(AGENTS, "refuse", 3, None, None, "예산 부족") == ("refuse", None, None)


def test_grounds_and_agent_roles_come_from_the_policy():
    """Art. 9 ④: neglect of duty or qualification; the target holds an agent role."""
    assert rules.check_ground(AGENTS, "neglect_of_duty") == "neglect_of_duty"
    with pytest.raises(ValidationFailed):
        rules.check_ground(AGENTS, "dislike")
    rules.check_agent_role(AGENTS, "monitoring_agent")
    with pytest.raises(ValidationFailed):
        rules.check_agent_role(AGENTS, "police_officer")


def test_a_second_district_names_its_own_roles_grounds_and_cost():
    """Art. 9 ③ ④ as another district writes them (hanbit: art-7-4, art-7-5, no default cost)."""
    from pathlib import Path

    from gwanje.policy import load_policy

    hanbit = load_policy(Path(__file__).parents[1] / "fixtures" / "policies" / "hanbit.yaml").agents
    assert hanbit is not None and hanbit.request_clause == "art-7-4"
    assert rules.decision(hanbit, "partially_approve", 4, 2, None, None) == ("partially_approve", 2, None)
    assert rules.check_ground(hanbit, "absence") == "absence"
    with pytest.raises(ValidationFailed):
        rules.check_ground(hanbit, "neglect_of_duty")
    rules.check_agent_role(hanbit, "control_agent")
    with pytest.raises(ValidationFailed):
        rules.check_agent_role(hanbit, "monitoring_agent")
    assert rules.sees_all(hanbit, "gu_office") and not rules.sees_all(hanbit, "hanbit_police")
