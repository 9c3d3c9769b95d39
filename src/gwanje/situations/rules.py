"""Pure situation rules: the incident state machine, who may act, who may see. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gwanje.korean import particle, with_particle
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

# The actions that lead into a finished status cannot be undone: the console asks before it sends one.
FINISHING_ACTIONS = tuple(sorted({action for (_, action), to in TRANSITIONS.items() if to in FINISHED}))

ACTIONS = IncidentAction.codes()


def next_status(status: str, action: str) -> str:
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        s_ko, s_en = IncidentStatus.labels(status)
        a_ko, a_en = IncidentAction.labels(action)
        raise Conflict(
            f"'{s_ko}' 상태에서는 '{a_ko}'{particle(a_ko, '을/를')} 할 수 없습니다",
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
            f"{with_particle(role_ko, '은/는')} 이 상황을 '{IncidentAction.label(action, 'ko')}'할 수 없습니다 "
            "(업무 분장)",
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


# ---- the rejected-message shelf --------------------------------------------------------------

# Fields of a device message that name or locate a person (u-Seoul safety: the registered person's id
# and position; emergency bell: the caller's note and position) or identify someone (a number plate,
# a phone number or a name a device may add). On the shelf they are masked for roles that do not
# handle situations (PIPA Art. 29; the board shows them to responders only).
PERSONAL_FIELDS = frozenset(
    {
        "person_id",
        "latitude",
        "longitude",
        "accuracy_m",
        "note",
        "description",
        "plate",
        "image",
        "snapshot",
        "phone",
        "phone_number",
        "mobile",
        "name",
        "address",
        "guardian",
        "guardian_phone",
    }
)
MASK = "***"
# Who sees personal fields of a rejected message: the roles that handle situations.
PERSONAL_PERMISSION = "situations.respond"


def may_see_rejected(
    policy: Policy, role: str, department: str | None, message_type: str | None, rule: str | None = None
) -> bool:
    """Does this role see a rejected device message on the shelf (and on the live feed)?

    Only if it may see incidents of the situation the message type raises (its ``board``, with the
    routing of that situation in the duty table); a message that raises no situation (unreadable,
    unknown type, a camera fault, an ordinary plate read) is the operator's to clear.
    """
    situation = policy.situation_for_message(message_type, rule) if isinstance(message_type, str) else None
    if situation is None:
        return policy.is_operator_role(role)
    return decisions.may_see_incident(
        policy, role, department, situation.responsible, situation.respond_organisation, (situation.purpose,)
    )


def may_see_personal(policy: Policy, role: str) -> bool:
    return decisions.role_has_permission(policy, role, PERSONAL_PERMISSION).allowed


def mask_personal(value: object) -> object:
    """A JSON value with every personal field's value replaced by :data:`MASK`, at any depth."""
    if isinstance(value, dict):
        return {k: (MASK if k in PERSONAL_FIELDS else mask_personal(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_personal(v) for v in value]
    return value


# ---- device sequence numbers (docs/events.md, "Sequence numbers") ------------------------------

# A number lower than the last one, from a device silent this long, is a restart of its counter
# (a device that loses power may not know to send ``seq_reset``); a shorter silence makes it late.
SEQ_RESTART_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class SeqStep:
    """What one new message's sequence number says about its device."""

    last_seq: int  # the device's last number after this message
    missing: int = 0  # numbers skipped by this message (never seen)
    filled: int = 0  # 1: a late message, one of the numbers counted missing before
    restarted: bool = False
    gap: tuple[int, int] | None = None  # the first and last number skipped


def sequence_step(
    last_seq: int | None,
    last_seen_at: datetime | None,
    outstanding: int,
    seq: int,
    reset: bool,
    at: datetime,
) -> SeqStep:
    """The rule, for a message not seen before (replays are recognised by the inbox first).

    * first number from a device: a device counts from 1, so ``seq - 1`` numbers are missing (a
      device first seen mid-count — messages lost before it was ever heard — is not silent either);
    * ``seq_reset`` (or a lower number after :data:`SEQ_RESTART_AFTER` of silence): the device
      restarted at 1, so ``seq - 1`` numbers of the new count are missing;
    * ``last + 1``: in order; more: the numbers between are missing;
    * lower than or equal to the last (not a restart): late — it fills one missing number, if any.
    """
    if last_seq is None:
        return SeqStep(seq, seq - 1, 0, False, (1, seq - 1) if seq > 1 else None)
    if reset or (seq < last_seq and last_seen_at is not None and at - last_seen_at > SEQ_RESTART_AFTER):
        return SeqStep(seq, seq - 1, 0, True, (1, seq - 1) if seq > 1 else None)
    if seq > last_seq:
        skipped = seq - last_seq - 1
        return SeqStep(seq, skipped, 0, False, (last_seq + 1, seq - 1) if skipped else None)
    return SeqStep(last_seq, 0, 1 if outstanding > 0 else 0)
