"""Pure rules of monitoring agents: the two state machines as tables (Art. 9 ③ requests, Art. 9 ④
replacement demands), the decision's headcount and cost (Art. 12), and who sees what. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from gwanje.core.errors import Conflict, ValidationFailed
from gwanje.policy.model import AgentRules

REQUEST_TRANSITIONS: Mapping[tuple[str, str], str] = {
    ("submitted", "approve"): "approved",
    ("submitted", "partially_approve"): "partially_approved",
    ("submitted", "refuse"): "refused",
    ("submitted", "withdraw"): "withdrawn",
}
REQUEST_STATUSES = ("submitted", "approved", "partially_approved", "refused", "withdrawn")
# The requests whose agents the district is taking on (the summary counts them while their period runs).
GRANTED_STATUSES = frozenset({"approved", "partially_approved"})

DEMAND_TRANSITIONS: Mapping[tuple[str, str], str] = {
    ("submitted", "review"): "under_review",
    ("under_review", "accept"): "accepted",
    ("under_review", "refuse"): "refused",
    ("accepted", "complete"): "completed",
}
DEMAND_STATUSES = ("submitted", "under_review", "accepted", "refused", "completed")
RESOLUTIONS = ("replace", "training")

MAX_HEADCOUNT = 100
MAX_MONTHLY_COST_KRW = 2_000_000_000


def _next(table: Mapping[tuple[str, str], str], status: str, action: str, ko: str, en: str) -> str:
    nxt = table.get((status, action))
    if nxt is None:
        raise Conflict(
            f"{ko}: '{status}' 상태에서 '{action}' 할 수 없습니다",
            f"{en}: cannot '{action}' while '{status}'",
            details={"status": status, "action": action},
        )
    return nxt


def request_next(status: str, action: str) -> str:
    return _next(REQUEST_TRANSITIONS, status, action, "요원 지원 요청", "agent request")


def demand_next(status: str, action: str) -> str:
    return _next(DEMAND_TRANSITIONS, status, action, "교체 요구", "replacement demand")


def check_period(start: date, end: date) -> None:
    if end < start:
        raise ValidationFailed("기간의 끝이 시작보다 앞입니다", "the period ends before it starts", field="period_end")


def decision(
    rules: AgentRules,
    outcome: str,
    requested: int,
    approved: int | None,
    monthly_cost_krw: int | None,
    reason: str | None,
) -> tuple[str, int | None, int | None]:
    """(action, approved headcount, monthly cost) of the district's decision (Art. 9 ③, Art. 12).

    approve takes on all the agents asked for; partially_approve fewer (at least one); refuse needs a
    reason. Without a cost given, the policy's default cost per agent times the headcount is used."""
    if outcome == "refuse":
        if not (reason or "").strip():
            raise ValidationFailed("거부 사유를 입력하세요", "give the reason for the refusal", field="reason")
        return "refuse", None, None
    if outcome == "approve":
        headcount = requested if approved is None else approved
        if headcount != requested:
            raise ValidationFailed(
                "전부 승인은 요청 인원 그대로입니다 (일부 승인을 고르세요)",
                "a full approval takes on the headcount asked for (choose a partial approval)",
                field="approved_headcount",
            )
    elif outcome == "partially_approve":
        if approved is None or not 1 <= approved < requested:
            raise ValidationFailed(
                f"일부 승인 인원은 1명 이상 {requested}명 미만입니다",
                f"a partial approval takes on at least 1 and fewer than {requested} agents",
                field="approved_headcount",
            )
        headcount = approved
    else:
        raise ValidationFailed(f"알 수 없는 결정: {outcome}", f"unknown outcome: {outcome}", field="outcome")
    if monthly_cost_krw is None and rules.cost.monthly_cost_per_agent_krw is not None:
        monthly_cost_krw = rules.cost.monthly_cost_per_agent_krw * headcount
    return outcome, headcount, monthly_cost_krw


def check_ground(rules: AgentRules, code: str) -> str:
    if rules.ground(code) is None:
        raise ValidationFailed(
            f"허용되지 않는 교체 사유: {code}",
            f"replacement ground not allowed: {code}",
            field="ground",
            details={"allowed": [g.code for g in rules.replacement_grounds]},
        )
    return code


def check_agent_role(rules: AgentRules, role: str, field: str = "agent_id") -> None:
    if role not in rules.agent_roles:
        raise ValidationFailed("모니터링 요원 계정이 아닙니다", "the account is not a monitoring agent", field=field)


def sees_all(rules: AgentRules, organisation: str) -> bool:
    """The organisation that bears the agents (the district) sees every request and demand; the
    others see their own organisation's."""
    return organisation == rules.cost.bearer
