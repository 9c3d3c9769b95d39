"""Pure situation rules: the incident state machine, who may act, who may see. No I/O."""

from __future__ import annotations

from dataclasses import dataclass

from gwanje.core.errors import Conflict, Forbidden
from gwanje.policy import decisions
from gwanje.policy.model import Policy
from gwanje.situations.choices import IncidentAction, IncidentStatus

OPEN = frozenset({"new", "acknowledged", "handed_over", "dispatched"})
FINISHED = frozenset({"closed", "false_alarm", "cancelled"})

# The state machine, declared once: (status, action) -> next status. Anything else is refused.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("new", "acknowledge"): "acknowledged",
    ("new", "false_alarm"): "false_alarm",
    ("new", "cancel"): "cancelled",
    ("acknowledged", "hand_over"): "handed_over",
    ("acknowledged", "dispatch"): "dispatched",
    ("acknowledged", "resolve"): "resolved",
    ("acknowledged", "false_alarm"): "false_alarm",
    ("acknowledged", "cancel"): "cancelled",
    ("handed_over", "dispatch"): "dispatched",
    ("handed_over", "resolve"): "resolved",
    ("handed_over", "false_alarm"): "false_alarm",
    ("handed_over", "cancel"): "cancelled",
    ("dispatched", "resolve"): "resolved",
    ("dispatched", "cancel"): "cancelled",
    ("resolved", "close"): "closed",
    # Assignments, not moves: a responder takes the incident (Art. 9 ⑤: the police view only what
    # an officer of theirs has taken); the operator reviews a situation the police reported by hand.
    ("acknowledged", "take"): "acknowledged",
    ("handed_over", "take"): "handed_over",
    ("dispatched", "take"): "dispatched",
    ("new", "review"): "new",
    ("acknowledged", "review"): "acknowledged",
    ("handed_over", "review"): "handed_over",
    ("dispatched", "review"): "dispatched",
}

ACTIONS = IncidentAction.codes()


def next_status(status: str, action: str) -> str:
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        s_ko, s_en = IncidentStatus.labels(status)
        a_ko, a_en = IncidentAction.labels(action)
        raise Conflict(
            f"'{s_ko}' 상태에서는 '{a_ko}'을(를) 할 수 없습니다",
            f"cannot {a_en} an incident that is {s_en}",
            field="action",
            details={"status": status, "action": action, "allowed": sorted(a for (s, a) in TRANSITIONS if s == status)},
        ) from None


def allowed_actions(status: str, *, taken: bool = False, review_pending: bool = True) -> list[str]:
    """The actions the state machine allows in ``status``; for one incident, ``take`` only while
    nobody has taken it (``taken``) and ``review`` only while a review is pending (``review_pending``)."""
    skip = ({"take"} if taken else set()) | (set() if review_pending else {"review"})
    return [a for a in ACTIONS if (status, a) in TRANSITIONS and a not in skip]


@dataclass(frozen=True)
class Routed:
    """What the incident row says about who is responsible (frozen at creation)."""

    type: str
    responsible_org: str
    recognising_org: str
    recognising_role: str
    responding_org: str
    responding_roles: tuple[str, ...]
    assigned_role: str
    two_stage: bool


def check_actor(policy: Policy, routed: Routed, role: str, action: str) -> None:
    """Who may move an incident, by the duty table (Annex 2) and the agreement (Art. 10).

    The recognising side acknowledges, hands over and rules out false alarms; the responding side
    dispatches and resolves; 112 patrols are dispatched by the organisations and roles the policy
    names (``duty.dispatch``); a supervisor (``duty.supervisors``) may always act.
    """
    if role in policy.supervisors:
        return
    clause = policy.situation(routed.type).clause
    org = policy.role(role).organisation
    recognisers = {routed.recognising_role, routed.assigned_role}
    responders = set(routed.responding_roles)
    if action == "acknowledge":
        ok = role in recognisers or role in responders
    elif action in ("hand_over", "false_alarm"):
        ok = role in recognisers or (action == "false_alarm" and role in responders)
    elif action == "dispatch":
        dispatch = policy.dispatch
        ok = org in dispatch.organisations and (role in responders or role in dispatch.roles)
        clause = dispatch.clause
    elif action in ("resolve", "close"):
        ok = role in responders or (not routed.two_stage and role in recognisers)
    elif action == "cancel":
        ok = role in recognisers or role in responders
    elif action == "take":
        ok = role in responders
    elif action == "review":
        ok = decisions.may_review_report(policy, role)
    else:
        ok = False
    if not ok:
        role_ko = policy.role(role).ko
        raise Forbidden(
            f"{role_ko}은(는) 이 상황을 '{IncidentAction.label(action, 'ko')}'할 수 없습니다 (업무 분장)",
            f"a {policy.role(role).en} may not {IncidentAction.label(action, 'en')} this incident (duty table)",
            field="action",
            clause=clause,
        )


def may_see(
    policy: Policy, role: str, department: str | None, routed: Routed, camera_purposes: tuple[str, ...] = ()
) -> bool:
    """Who sees an incident on the live board: the role's ``board`` in the policy (everything, the
    incidents routed to some organisations, those on cameras of its department's purposes, or none)."""
    return decisions.may_see_incident(
        policy, role, department, routed.responsible_org, routed.responding_org, camera_purposes
    )


def sop_status(policy: Policy, type_: str, done: set[str], skipped: set[str]) -> list[dict]:
    return [
        {
            "code": s.code,
            "ko": s.ko,
            "en": s.en,
            "required": s.required,
            "done": s.code in done,
            "skipped": s.code in skipped,
        }
        for s in policy.situation(type_).sop
    ]


def missing_required_steps(policy: Policy, type_: str, done: set[str], skipped: set[str]) -> list[str]:
    return [s.code for s in policy.situation(type_).sop if s.required and s.code not in done | skipped]


def split(value: str) -> set[str]:
    return {p for p in value.split(",") if p}


def join(values) -> str:  # noqa: ANN001
    values = sorted(values)
    return "," + ",".join(values) + ("," if values else "")
