"""Pure decisions over a loaded Policy. Each answer names the clause it rests on.

Unknown codes (role, department, purpose, permission, situation type, organisation) raise
UnknownCode: callers validate input against the policy at the edge, so a miss here is a bug, not a
user to refuse quietly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Collection
from zoneinfo import ZoneInfo

from gwanje.korean import particle, with_particle
from .model import Annex1Row, Period, Policy, UnknownCode


@dataclass(frozen=True)
class Decision:
    allowed: bool
    clause: str
    reason_ko: str
    reason_en: str

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class EmergencyAccess(Decision):
    """Art. 11 ①: view first, official document after; None when refused."""

    document_due_at: datetime | None = None


@dataclass(frozen=True)
class Deadline:
    due_at: datetime
    clause: str
    label_ko: str
    label_en: str

    def is_overdue(self, now: datetime) -> bool:
        return is_overdue(self.due_at, now)


@dataclass(frozen=True)
class Routing:
    """Who handles a situation at a given moment (Annex 2)."""

    situation_type: str
    responsible_organisation: str
    recognising_organisation: str
    recognising_role: str
    responding_organisation: str
    responding_roles: tuple[str, ...]
    handler_role: str  # who picks the situation up first: the recogniser for this period
    day_or_night: Period
    two_stage: bool
    clause: str
    local_time: datetime


def _allow(clause: str, ko: str, en: str) -> Decision:
    return Decision(True, clause, ko, en)


def _deny(clause: str, ko: str, en: str) -> Decision:
    return Decision(False, clause, ko, en)


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: 시간대 없는 시각은 받지 않습니다 / naive datetime refused: {value!r}")


def _annex_clause(policy: Policy) -> str:
    return policy.annex1[0].clause if policy.annex1 else policy.access.rbac_clause


# ---- Annex 1: purposes ---------------------------------------------------------------------


def annex_row(
    policy: Policy, department: str, primary_purpose: str, camera_group: str | None = None
) -> Annex1Row | None:
    """The Annex 1 row for a camera group. Without a group, a single row for the
    (department, primary purpose) pair is taken; None when the annex has no such row."""
    policy.department(department)
    policy.purpose(primary_purpose)
    candidates = [
        row for row in policy.annex1 if row.department == department and row.primary_purpose == primary_purpose
    ]
    for row in candidates:
        if row.camera_group == camera_group:
            return row
    if camera_group is None and len(candidates) == 1:
        return candidates[0]
    return None


def purposes_for(
    policy: Policy, department: str, primary_purpose: str, camera_group: str | None = None
) -> tuple[str, ...]:
    """Primary then approved secondary purposes of a camera group; () when not in Annex 1."""
    row = annex_row(policy, department, primary_purpose, camera_group)
    return row.purposes if row else ()


def secondary_purpose_allowed(
    policy: Policy,
    department: str,
    primary_purpose: str,
    purpose: str,
    camera_group: str | None = None,
) -> Decision:
    """May a camera of this department and primary purpose also be used for `purpose`? (Annex 1)"""
    dept = policy.department(department)
    wanted = policy.purpose(purpose)
    primary = policy.purpose(primary_purpose)
    row = annex_row(policy, department, primary_purpose, camera_group)
    if row is None:
        return _deny(
            _annex_clause(policy),
            f"{dept.ko}의 주목적 '{primary.ko}' CCTV는 별표1에 없어 다른 목적으로 쓸 수 없습니다",
            f"{dept.en} has no Annex 1 row for primary purpose '{primary.en}'; no other use is approved",
        )
    if purpose == row.primary_purpose:
        return _allow(
            row.clause,
            f"'{wanted.ko}'{particle(wanted.ko, '은/는')} 주목적입니다",
            f"'{wanted.en}' is the primary purpose",
        )
    if purpose in row.secondary_purposes:
        return _allow(
            row.clause,
            f"{dept.ko} {row.label_ko} CCTV의 주목적 외 승인 용도입니다: {wanted.ko}",
            f"'{wanted.en}' is an approved secondary purpose of {dept.en} ({row.label_ko}) cameras",
        )
    return _deny(
        row.clause,
        f"{dept.ko} {row.label_ko} CCTV는 '{wanted.ko}' 용도로 승인되지 않았습니다",
        f"{dept.en} ({row.label_ko}) cameras are not approved for '{wanted.en}'",
    )


# ---- Art. 5: ownership -----------------------------------------------------------------------


def owner_organisation(policy: Policy, installed_by_org: str) -> str:
    """The district owns what is installed, unless the installer keeps its own equipment (Art. 5)."""
    policy.organisation(installed_by_org)
    if installed_by_org in policy.ownership.installer_keeps:
        return installed_by_org
    return policy.ownership.default_owner


# ---- roles and permissions -------------------------------------------------------------------


def role_has_permission(policy: Policy, role: str, permission: str) -> Decision:
    """Whether ``role`` holds ``permission``. A permission this policy does not define is held by no
    role: a district that leaves a capability out gets a refusal from its routes, not an error."""
    r = policy.role(role)
    try:
        p = policy.permission(permission)
    except UnknownCode:
        return _deny(
            "policy-rbac",
            f"{r.ko}: 이 정책에는 '{permission}' 권한이 없습니다",
            f"{r.en}: this policy grants no one '{permission}'",
        )
    if role in p.roles:
        return _allow(p.clause, f"{r.ko}: '{p.ko}' 권한이 있습니다", f"{r.en} may {p.en.lower()}")
    return _deny(p.clause, f"{r.ko}: '{p.ko}' 권한이 없습니다", f"{r.en} may not {p.en.lower()}")


def totp_required(policy: Policy, role: str) -> bool:
    return policy.role(role).totp_required


# ---- video access ----------------------------------------------------------------------------


def may_view_video(
    policy: Policy,
    *,
    role: str,
    user_department: str | None,
    purpose: str,
    camera_purposes: Collection[str],
    camera_department: str | None,
    responding_incident_camera: bool,
) -> Decision:
    """Checks, in order: the purpose is approved for the camera (Annex 1), the role may use it
    (RBAC; department officers only on their own department's cameras), and the police only while
    responding to an incident the camera is attached to (Art. 9 ⑤)."""
    r = policy.role(role)
    p = policy.purpose(purpose)
    rules = policy.access
    if purpose not in camera_purposes:
        return _deny(
            _annex_clause(policy),
            f"이 CCTV는 '{p.ko}' 목적으로 승인되지 않았습니다",
            f"this camera is not approved for '{p.en}'",
        )
    if r.own_department:
        if user_department is None or camera_department != user_department:
            return _deny(
                rules.rbac_clause,
                f"{with_particle(r.ko, '은/는')} 소속 부서의 CCTV만 열람할 수 있습니다",
                f"a {r.en.lower()} may view only their own department's cameras",
            )
        dept = policy.department(user_department)
        if purpose not in dept.purposes:
            return _deny(
                rules.rbac_clause,
                f"{dept.ko}의 업무 목적이 아닙니다: {p.ko}",
                f"'{p.en}' is not a purpose of {dept.en}",
            )
    elif purpose not in r.purposes:
        return _deny(
            rules.rbac_clause,
            f"{with_particle(r.ko, '은/는')} '{p.ko}' 목적으로 영상을 열람할 수 없습니다",
            f"a {r.en.lower()} may not view video for '{p.en}'",
        )
    if is_incident_only(policy, role):
        if not responding_incident_camera:
            return _deny(
                rules.incident_only_clause,
                "경찰은 사건·사고 현장 조치 및 대응 시에만 관련 영상을 열람할 수 있습니다",
                "the police may view video only while responding to an incident this camera is attached to",
            )
        return _allow(
            rules.incident_only_clause,
            f"사건 대응 중 '{p.ko}' 목적 열람",
            f"viewing for '{p.en}' while responding to an incident",
        )
    return _allow(
        _annex_clause(policy),
        f"승인된 목적 '{p.ko}'으로 열람",
        f"viewing for the approved purpose '{p.en}'",
    )


# ---- Art. 9 ⑤: incident-only viewing --------------------------------------------------------


@dataclass(frozen=True)
class IncidentFacts:
    """What the Art. 9 ⑤ test needs to know about an incident.

    ``taken_by``: the user who took the incident (acknowledged it as a responder, or took it after a
    hand-over); ``awaiting_review``: raised by hand by an incident-only organisation and not yet
    reviewed by the operator; ``latitude``/``longitude``: where it is (None when unknown)."""

    id: int
    open: bool
    responsible_org: str
    responding_org: str
    responding_roles: tuple[str, ...]
    camera_id: int | None
    status: str = "new"
    type: str = ""
    taken_by: int | None = None
    awaiting_review: bool = False
    latitude: float | None = None
    longitude: float | None = None


def is_incident_only(policy: Policy, role: str) -> bool:
    """The role's organisation may view video only while responding to an incident (Art. 9 ⑤)."""
    return policy.role(role).organisation in policy.access.incident_only_organisations


def report_needs_review(policy: Policy, role: str) -> bool:
    """A situation reported by hand by an incident-only role grants no view until the operator
    organisation has reviewed it (Art. 9 ⑤: an incident cannot be made up to open a camera)."""
    return is_incident_only(policy, role)


def may_review_report(policy: Policy, role: str) -> bool:
    """Who reviews such a report: the operator organisation's roles and the supervisors."""
    return role in policy.supervisors or policy.is_operator_role(role)


def _subject(word: str) -> str:
    """``word`` with the Korean subject particle 이/가 that fits it."""
    return with_particle(word, "이/가")


def _responding_check(policy: Policy, role: str, incident: IncidentFacts, user_id: int | None) -> Decision | None:
    """The checks viewing and attaching share for an incident-only role, in order; None when all pass:
    open, routed to its organisation, in a status where it judges or responds, reviewed when raised
    by hand by it, and taken by this very user."""
    clause = policy.access.incident_only_clause
    r = policy.role(role)
    org = policy.organisation(r.organisation)
    if not incident.open:
        return _deny(
            clause,
            f"사건 {with_particle(incident.id, '이/가')} 종결되어 열람 권한이 끝났습니다",
            f"incident {incident.id} is no longer open; access ended with it",
        )
    if r.organisation not in (incident.responsible_org, incident.responding_org):
        return _deny(
            clause,
            f"사건 {with_particle(incident.id, '은/는')} {org.short_ko} 대응 사건이 아닙니다",
            f"incident {incident.id} is not routed to {org.short_en}",
        )
    if incident.status not in policy.access.viewing_statuses:
        return _deny(
            clause,
            f"사건 {with_particle(incident.id, '은/는')} 아직 {_subject(org.short_ko)} 판단·대응하는 상태가 아닙니다",
            f"incident {incident.id} is not yet being judged or responded to by {org.short_en} ({incident.status})",
        )
    if incident.awaiting_review:
        operator = policy.operator_organisation
        return _deny(
            clause,
            f"수동 보고된 사건 {with_particle(incident.id, '은/는')} {operator.short_ko}의 검토 전에는 "
            "열람 근거가 되지 않습니다",
            f"incident {incident.id} was reported by hand and grants no view until {operator.short_en} reviews it",
        )
    if user_id is None or incident.taken_by != user_id:
        return _deny(
            clause,
            f"사건 {with_particle(incident.id, '을/를')} 담당(접수)한 경찰관만 열람할 수 있습니다",
            f"only the officer who has taken incident {incident.id} may use it",
        )
    return None


def incident_grants_view(
    policy: Policy,
    role: str,
    incident: IncidentFacts | None,
    camera_id: int | None,
    attached: Collection[int],
    *,
    user_id: int | None = None,
) -> Decision:
    """Art. 9 ⑤, the one test: a role of an organisation listed in
    ``access.incident_only_organisations`` views a camera only for an open incident routed
    (responsible or responding organisation) to its own organisation, in one of the policy's
    ``access.viewing_statuses``, reviewed by the operator if it raised the incident by hand, taken by
    this user (``user_id``), and only a camera that is the incident's own or attached to it. Other
    roles are not limited. ``camera_id=None`` tests the incident alone (e.g. may this incident be
    opened at all)."""
    clause = policy.access.incident_only_clause
    r = policy.role(role)
    org = policy.organisation(r.organisation)
    if not is_incident_only(policy, role):
        return _allow(
            clause,
            f"{org.name_ko}의 영상 열람은 사건 대응에 한정되지 않습니다",
            f"{org.name_en} is not limited to viewing video for incidents",
        )
    if incident is None:
        return _deny(
            clause,
            f"대응 중인 사건을 지정해야 {_subject(org.short_ko)} 영상을 열람할 수 있습니다",
            f"{org.short_en} must name an incident they are responding to",
        )
    refused = _responding_check(policy, role, incident, user_id)
    if refused is not None:
        return refused
    if camera_id is not None and camera_id != incident.camera_id and camera_id not in attached:
        return _deny(
            clause,
            f"이 CCTV는 사건 {incident.id}에 연결되지 않았습니다",
            f"this camera is not attached to incident {incident.id}",
        )
    return _allow(
        clause,
        f"사건 {incident.id} 대응 중 열람",
        f"viewing while responding to incident {incident.id}",
    )


def may_attach_to_incident(
    policy: Policy,
    role: str,
    incident: IncidentFacts,
    *,
    user_id: int | None = None,
    distance_m: float | None = None,
) -> Decision:
    """Art. 9 ⑤ for attaching nearby cameras: an incident-only role attaches cameras only to an
    incident routed to its own organisation that it is among the responding roles of, that it may
    view (:func:`incident_grants_view`'s checks) and only a camera within ``access.attach_radius_m``
    of the incident (``distance_m``; None — the incident has no position — is refused). Other roles
    attach any camera. Whether the incident is still open is the caller's first check (attaching to a
    closed one is refused for all)."""
    clause = policy.access.incident_only_clause
    r = policy.role(role)
    org = policy.organisation(r.organisation)
    if not is_incident_only(policy, role):
        return _allow(
            clause,
            f"{org.name_ko}의 영상 열람은 사건 대응에 한정되지 않습니다",
            f"{org.name_en} is not limited to viewing video for incidents",
        )
    routed = r.organisation in (incident.responsible_org, incident.responding_org)
    if not routed or role not in incident.responding_roles:
        return _deny(
            clause,
            f"이 상황에 대응 중인 {org.short_ko} 역할만 CCTV를 연결할 수 있습니다",
            f"only {org.short_en} roles responding to this incident may attach cameras to it",
        )
    refused = _responding_check(policy, role, incident, user_id)
    if refused is not None:
        return refused
    radius = policy.access.attach_radius_m
    if distance_m is None or distance_m > radius:
        far = "위치를 알 수 없는" if distance_m is None else f"{distance_m:.0f}m 떨어진"
        far_en = "of unknown distance from" if distance_m is None else f"{distance_m:.0f} m from"
        return _deny(
            clause,
            f"{_subject(org.short_ko)} 연결할 수 있는 CCTV는 사건 위치 반경 {radius}m 이내입니다 ({far} CCTV)",
            f"{org.short_en} may attach only cameras within {radius} m of the incident (this one is {far_en} it)",
        )
    return _allow(
        clause,
        f"사건 {incident.id}에 대응 중인 {r.ko}",
        f"{r.en} responding to incident {incident.id}",
    )


def emergency_video(policy: Policy, situation_type: str | None, opened_at: datetime, now: datetime) -> Decision:
    """The 112 room's emergency video (Art. 11 ①): only for an incident whose situation type the
    policy lists (``access.emergency_situation_types``: the 112 emergency-video agreement's crimes),
    and only until ``access.emergency_minutes`` after it opened."""
    _require_aware(opened_at, "opened_at")
    _require_aware(now, "now")
    rules = policy.access
    clause = rules.emergency_clause
    if situation_type is None:
        return _deny(
            clause,
            "긴급 영상은 긴급 영상 대상 사건을 지정해야 열람할 수 있습니다",
            "emergency video needs an incident of a type the emergency-video agreement allows",
        )
    if situation_type not in rules.emergency_situation_types:
        s = policy.situation(situation_type)
        return _deny(
            clause,
            f"'{s.ko}' 상황은 긴급 영상 대상이 아닙니다",
            f"a '{s.en}' situation does not allow emergency video",
        )
    ends = opened_at + timedelta(minutes=rules.emergency_minutes)
    if now > ends:
        return _deny(
            clause,
            f"긴급 영상 열람 시간({rules.emergency_minutes}분)이 끝났습니다",
            f"emergency video ended {rules.emergency_minutes} minutes after it opened",
        )
    return _allow(
        clause,
        f"긴급 영상 ({rules.emergency_minutes}분 이내)",
        f"emergency video (within {rules.emergency_minutes} minutes)",
    )


# ---- the live board --------------------------------------------------------------------------


def may_see_incident(
    policy: Policy,
    role: str,
    department: str | None,
    responsible_org: str,
    responding_org: str,
    camera_purposes: Collection[str] = (),
) -> bool:
    """Does the role see this incident on the live board (its ``board`` in the policy)?

    ``all`` sees everything, ``none`` nothing; a set of organisations sees incidents whose
    responsible or responding organisation is among them; ``own_department`` sees incidents on
    cameras serving one of its department's primary purposes. An unknown role sees nothing.
    """
    try:
        board = policy.role(role).board
    except UnknownCode:
        return False
    if board == "all":
        return True
    if board == "none":
        return False
    if board == "own_department":
        if not department:
            return False
        return not set(policy.department(department).primary_purposes).isdisjoint(camera_purposes)
    return responsible_org in board or responding_org in board


# ---- Annex 2: routing ------------------------------------------------------------------------


def period_at(policy: Policy, at: datetime) -> Period:
    """'day' or 'night' at an instant, in the policy's time zone."""
    _require_aware(at, "at")
    local = at.astimezone(ZoneInfo(policy.duty.timezone))
    return "day" if policy.duty.day.contains(local.time()) else "night"


def route_situation(policy: Policy, situation_type: str, at: datetime) -> Routing:
    _require_aware(at, "at")
    situation = policy.situation(situation_type)
    local = at.astimezone(ZoneInfo(policy.duty.timezone))
    period = period_at(policy, at)
    recogniser = situation.recognise_role.at(period)
    return Routing(
        situation_type=situation.type,
        responsible_organisation=situation.responsible,
        recognising_organisation=situation.recognise_organisation,
        recognising_role=recogniser,
        responding_organisation=situation.respond_organisation,
        responding_roles=situation.respond_roles,
        handler_role=recogniser,
        day_or_night=period,
        two_stage=situation.two_stage,
        clause=situation.clause,
        local_time=local,
    )


# ---- Art. 11: emergency access and usage results ---------------------------------------------


def emergency_access(policy: Policy, at: datetime, *, organisation: str | None = None) -> EmergencyAccess:
    """Art. 11 ①: in an emergency the police view first; the official document is due after."""
    _require_aware(at, "at")
    rules = policy.access
    if organisation is not None:
        org = policy.organisation(organisation)
        if organisation not in rules.emergency_organisations:
            return EmergencyAccess(
                False,
                rules.emergency_clause,
                f"{with_particle(org.name_ko, '은/는')} 긴급 우선 열람 대상이 아닙니다",
                f"{org.name_en} has no emergency first access",
            )
    due = at + timedelta(hours=rules.document_due_hours)
    return EmergencyAccess(
        True,
        rules.emergency_clause,
        f"긴급 우선 열람 — 공문 제출 기한 {rules.document_due_hours}시간",
        f"emergency first access — official document due within {rules.document_due_hours} hours",
        document_due_at=due,
    )


def is_overdue(due_at: datetime, now: datetime) -> bool:
    """Overdue strictly after the deadline; at the deadline itself it is still on time."""
    _require_aware(due_at, "due_at")
    _require_aware(now, "now")
    return now > due_at


def usage_result_due(policy: Policy, provided_at: datetime) -> Deadline:
    """Art. 11 ②: the police enter the usage result of provided video by this deadline."""
    _require_aware(provided_at, "provided_at")
    days = policy.access.usage_result_due_days
    return Deadline(
        due_at=provided_at + timedelta(days=days),
        clause=policy.access.usage_result_clause,
        label_ko=f"CCTV 활용결과 입력 기한 ({days}일)",
        label_en=f"usage result due ({days} days)",
    )


# ---- Art. 9 ②: staffing ----------------------------------------------------------------------


def staffing_ok(policy: Policy, police_on_duty_count: int) -> Decision:
    if police_on_duty_count < 0:
        raise ValueError(f"police_on_duty_count must be >= 0, got {police_on_duty_count}")
    rule = policy.staffing
    role = policy.role(rule.role)
    if police_on_duty_count >= rule.min_on_duty:
        return _allow(
            rule.clause,
            f"{role.ko} {police_on_duty_count}명 상주 (최소 {rule.min_on_duty}명)",
            f"{police_on_duty_count} {role.en.lower()}(s) on duty (minimum {rule.min_on_duty})",
        )
    return _deny(
        rule.clause,
        f"{role.ko} 상주 인원 부족: {police_on_duty_count}명 (최소 {rule.min_on_duty}명, 24시간)",
        f"too few {role.en.lower()}s on duty: {police_on_duty_count} (minimum {rule.min_on_duty}, 24/7)",
    )


# ---- retention -------------------------------------------------------------------------------


def retention_days(policy: Policy, camera_retention_days: int | None) -> int:
    """The camera's own retention period, or the policy default when it sets none."""
    if camera_retention_days is None:
        return policy.retention.default_days
    if camera_retention_days < 1:
        raise ValueError(f"camera_retention_days must be >= 1, got {camera_retention_days}")
    return camera_retention_days


# ---- deadlines with consequences (Art. 11 ① ②, PIPA 35) --------------------------------------


def document_cutoff(policy: Policy, due_at: datetime) -> datetime:
    """Art. 11 ①: the moment an emergency access without its official document stops granting video —
    ``access.document_grace_hours`` after the document was due."""
    _require_aware(due_at, "due_at")
    return due_at + timedelta(hours=policy.access.document_grace_hours)


def emergency_document_check(
    policy: Policy, due_at: datetime | None, received_at: datetime | None, now: datetime
) -> Decision:
    """Art. 11 ①: further access under an emergency is refused once its official document is overdue
    past the policy's grace period; a filed document (or none due) lifts nothing and blocks nothing."""
    _require_aware(now, "now")
    rules = policy.access
    clause = rules.emergency_clause
    if due_at is None or received_at is not None:
        return _allow(clause, "공문 제출됨", "official document filed")
    cutoff = document_cutoff(policy, due_at)
    if now > cutoff:
        grace_ko = f", 유예 {rules.document_grace_hours}시간" if rules.document_grace_hours else ""
        grace_en = f" plus {rules.document_grace_hours} hours' grace" if rules.document_grace_hours else ""
        return _deny(
            clause,
            f"공문 제출 기한({rules.document_due_hours}시간{grace_ko})이 지나 이 긴급 열람으로는 더 열람할 수 "
            f"없습니다 — 공문을 제출하세요 ({policy.clause(clause).id})",
            f"the official document was due within {rules.document_due_hours} hours{grace_en} and is still "
            f"missing: no further access under this emergency until it is filed ({policy.clause(clause).id})",
        )
    return _allow(clause, "공문 제출 기한 이내", "official document still within its deadline")


def subject_request_alert_from(policy: Policy, due_at: datetime) -> datetime:
    """PIPA 35: a subject request still undecided alerts from this moment (before its 10-day limit)."""
    _require_aware(due_at, "due_at")
    return due_at - timedelta(days=policy.access.subject_request_alert_days)


def must_act_on_deadline(policy: Policy, role: str, kind: str) -> bool:
    """Is ``role`` among those the policy says must act on a deadline of ``kind`` (and so is alerted)?"""
    return role in policy.deadline_alert_roles(kind)


def may_lead_shift(policy: Policy, role: str, organisation: str) -> bool:
    """Whether ``role`` leads ``organisation``'s shift: opens, signs and hands over its duty log, and
    acknowledges a handover as the incoming leader (policy ``handover.leaders``)."""
    rules = policy.handover
    return rules is not None and role in rules.leader_roles(organisation)


def reads_all_duty_logs(policy: Policy, role: str) -> bool:
    """Whether ``role`` reads every organisation's duty logs and handovers (``handover.read_all``)."""
    rules = policy.handover
    return rules is not None and role in rules.read_all
