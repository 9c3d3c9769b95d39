"""The agreement as immutable values. Built by :mod:`gwanje.policy.loader`; no I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from importlib import resources
from pathlib import Path, PurePath
from types import MappingProxyType
from typing import Iterator, Literal, Mapping, Union

StorageMode = Literal["central", "on_site", "mobile"]
Period = Literal["day", "night"]
BoardKeyword = Literal["all", "own_department", "none"]
# How a role sees the live board: a keyword, or the organisations whose incidents it sees (routed_to).
Board = Union[BoardKeyword, frozenset]

STORAGE_MODES: tuple[str, ...] = ("central", "on_site", "mobile")
BOARD_KEYWORDS: tuple[str, ...] = ("all", "own_department", "none")

# The console pages a role may land on after signing in (``roles[].home``), each with the permissions
# of which the role must hold one to open it. Data, not policy: the policy picks one per role. ``none``:
# the role has no console at all (devices and other API-only accounts, which use bearer tokens).
CONSOLE_PAGES: Mapping[str, tuple[str, ...]] = {
    "board": ("situations.read",),
    "board_112": ("situations.read",),
    "ingest": ("situations.read",),
    "cameras": ("registry.read",),
    "map": ("registry.read",),
    "annex1": ("reports.read",),
    "access": (
        "video.provision.request",
        "video.provision.approve",
        "video.emergency_access",
        "video.usage_result.enter",
        "video.subject_request.handle",
        "ledger.read",
    ),
    "audit": ("audit.read",),
}
NO_CONSOLE = "none"
DEFAULT_HOME = "cameras"

# The device message types the situations capability parses (gwanje.situations.messages). Data, not
# policy: a policy says which of them raise which situation (duty.situations[].raised_by).
DEVICE_MESSAGE_TYPES: tuple[str, ...] = (
    "emergency_bell",
    "u_seoul_safety",
    "video_analytics",
    "plate_read",
    "camera_fault",
    "camera_recovery",
    "manual_report",
    "room_access",
)

# What the system itself notices and a policy may route as a situation (``raised_by: [{system: …}]``):
# ``message_loss``: a device's sequence numbers show messages that never arrived (docs/events.md).
# ``staffing_gap``: a staffing rule (Art. 9 ②) has not held for longer than its grace (gwanje.center).
# ``room_access``: a room entry by someone not authorised, a door held open, a badge refused (Annex 2).
SYSTEM_TRIGGERS: tuple[str, ...] = ("message_loss", "staffing_gap", "room_access")

# The incident statuses of the situations state machine (gwanje.situations.choices.IncidentStatus).
# Data, not policy: a policy names which of them let the police view video (access.viewing_statuses).
INCIDENT_STATUSES: tuple[str, ...] = (
    "new",
    "acknowledged",
    "handed_over",
    "dispatched",
    "resolved",
    "closed",
    "false_alarm",
    "cancelled",
)

# Where bare map file names (no folder) are looked up: the package's data folder.
PACKAGE_DATA = "data"


class PolicyError(ValueError):
    """A policy file is malformed. The message names file, line, column and the offending value."""

    def __init__(
        self,
        message_ko: str,
        message_en: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message_ko = message_ko
        self.message_en = message_en
        self.path = path
        self.line = line
        self.column = column
        where = path or "<policy>"
        if line is not None:
            where = f"{where}:{line}:{column}"
        super().__init__(f"{where}: {message_ko} / {message_en}")


class UnknownCode(LookupError):
    """A code (role, purpose, department, …) that the loaded policy does not define."""

    def __init__(self, kind: str, code: object) -> None:
        self.kind = kind
        self.code = code
        super().__init__(f"알 수 없는 {kind} 코드 / unknown {kind} code: {code!r}")

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError key
        return str(self.args[0])


@dataclass(frozen=True)
class Agreement:
    id: str
    title_ko: str
    title_en: str
    signed: date
    location_ko: str | None


@dataclass(frozen=True)
class Organisation:
    code: str
    party_ko: str  # 갑 / 을
    name_ko: str
    name_en: str
    head_ko: str
    head_en: str
    address_ko: str | None
    # How a sentence names the organisation ("경찰", "the police"); the full name when the policy gives none.
    short_ko: str = ""
    short_en: str = ""

    def __post_init__(self) -> None:
        if not self.short_ko:
            object.__setattr__(self, "short_ko", self.name_ko)
        if not self.short_en:
            object.__setattr__(self, "short_en", self.name_en)


@dataclass(frozen=True)
class Clause:
    id: str
    ko: str
    en: str


@dataclass(frozen=True)
class Purpose:
    code: str
    ko: str
    en: str


@dataclass(frozen=True)
class Annex1Row:
    """One printed row of Annex 1: a department's camera group and what it is approved for."""

    department: str
    primary_purpose: str
    camera_group: str | None
    label_ko: str
    secondary_purposes: tuple[str, ...]  # annex order, as printed (may repeat the primary)
    storage_mode: StorageMode
    owner: str
    remarks_ko: str | None
    clause: str

    @property
    def purposes(self) -> tuple[str, ...]:
        """Primary first, then the approved secondary purposes, without repeats."""
        return tuple(dict.fromkeys((self.primary_purpose, *self.secondary_purposes)))


@dataclass(frozen=True)
class Department:
    code: str
    ko: str
    en: str
    organisation: str
    # Derived from the department's Annex 1 rows (empty for departments without cameras).
    primary_purposes: tuple[str, ...]
    secondary_purposes: tuple[str, ...]

    @property
    def purposes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.primary_purposes, *self.secondary_purposes)))


@dataclass(frozen=True)
class Role:
    code: str
    organisation: str
    ko: str
    en: str
    totp_required: bool
    # Purposes the role may view video for; empty when own_department is set.
    purposes: tuple[str, ...]
    own_department: bool = False
    # The live board: "all", "own_department" (incidents on cameras of the department's primary
    # purposes), "none", or a frozenset of organisation codes (incidents routed to one of them).
    board: Board = "none"
    # The console page the role lands on (a key of CONSOLE_PAGES), or "none": no console sign-in.
    home: str = DEFAULT_HOME

    @property
    def console(self) -> bool:
        """Whether accounts of this role may sign into the console (else: API tokens only)."""
        return self.home != NO_CONSOLE


@dataclass(frozen=True)
class Permission:
    code: str
    roles: frozenset[str]
    ko: str
    en: str
    clause: str


@dataclass(frozen=True)
class DayWindow:
    """Local-time window counted as day: start <= t < end (wrapping past midnight if start > end)."""

    start: time
    end: time

    def contains(self, t: time) -> bool:
        t = t.replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


@dataclass(frozen=True)
class ByPeriod:
    """A role that may differ between day and night."""

    day: str
    night: str

    def at(self, period: Period) -> str:
        return self.day if period == "day" else self.night

    @property
    def varies(self) -> bool:
        return self.day != self.night


@dataclass(frozen=True)
class SopStep:
    """One step of a situation's standard operating procedure; required steps gate resolution."""

    code: str
    ko: str
    en: str
    required: bool = True


@dataclass(frozen=True)
class Escalation:
    """Who is alerted, in order, when nobody acknowledges within ``ack_minutes``."""

    ack_minutes: int
    to: tuple[str, ...]


@dataclass(frozen=True)
class Trigger:
    """A device message that raises a situation; ``rules`` narrows it to those analytics rules.

    ``system`` instead names something the system itself notices (:data:`SYSTEM_TRIGGERS`); then
    ``message`` is empty."""

    message: str
    rules: tuple[str, ...] = ()
    system: str | None = None


@dataclass(frozen=True)
class Situation:
    """One Annex 2 situation type: who recognises it and who responds."""

    type: str
    ko: str
    en: str
    responsible: str  # 처리자
    recognise_organisation: str
    recognise_role: ByPeriod
    respond_organisation: str
    respond_roles: tuple[str, ...]
    two_stage: bool  # district recognises (상황인지), police judge and respond (상황판단 및 대응)
    remarks_ko: str | None
    clause: str
    sop: tuple[SopStep, ...] = ()
    escalation: Escalation | None = None
    purpose: str = ""  # the purpose the incident's video serves
    triggers: tuple[Trigger, ...] = ()

    @property
    def raised_by(self) -> tuple[str, ...]:
        """The device message types that raise this situation (in policy order, without repeats)."""
        return tuple(dict.fromkeys(t.message for t in self.triggers if t.system is None))


@dataclass(frozen=True)
class RoomDuty:
    code: str
    ko: str
    en: str
    organisation: str
    department: str | None
    clause: str


@dataclass(frozen=True)
class VideoManagementDuty:
    code: str
    ko: str
    en: str
    organisation: str
    department: str | None
    purposes: tuple[str, ...]
    system_ko: str | None
    clause: str


@dataclass(frozen=True)
class Dispatch:
    """Art. 10: who may dispatch a 112 patrol — a role of one of ``organisations`` that responds to
    the incident or is listed in ``roles``."""

    organisations: frozenset[str]
    roles: frozenset[str]
    clause: str


@dataclass(frozen=True)
class Duty:
    timezone: str
    day: DayWindow
    situations: tuple[Situation, ...]
    rooms: tuple[RoomDuty, ...]
    video_management: tuple[VideoManagementDuty, ...]
    operator: str = ""  # Art. 9 ①: the organisation that runs the center
    supervisors: frozenset[str] = frozenset()  # roles that may always act on any incident
    dispatch: Dispatch = Dispatch(frozenset(), frozenset(), "")


@dataclass(frozen=True)
class Ownership:
    default_owner: str
    installer_keeps: frozenset[str]
    clause: str


# The deadlines that raise alerts, each with the permission whose holders act on it by default.
DEADLINE_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "document": "video.emergency_access",  # Art. 11 ①: the emergency's official document
        "usage_result": "video.usage_result.enter",  # Art. 11 ②: the usage result
        "subject_request": "video.subject_request.handle",  # PIPA 35: the 10-day answer
    }
)


@dataclass(frozen=True)
class AccessRules:
    rbac_clause: str
    incident_only_organisations: frozenset[str]
    incident_only_clause: str
    emergency_organisations: frozenset[str]
    emergency_clause: str
    document_due_hours: int
    usage_result_due_days: int
    usage_result_clause: str
    # Art. 9 ⑤ in detail: the incident statuses in which the police are judging or responding (and so
    # may view), the radius around an incident within which they may attach cameras, and the 112 room's
    # emergency video: the situation types that allow it and how long it lasts.
    viewing_statuses: frozenset[str] = frozenset()
    attach_radius_m: int = 0
    emergency_situation_types: frozenset[str] = frozenset()
    emergency_minutes: int = 0
    # Deadlines with consequences: access under an emergency whose official document is still missing
    # stops document_grace_hours after the document was due; a subject request (PIPA 35, 10 days)
    # alerts from subject_request_alert_days before its limit; deadline_alerts names, per kind
    # (document, usage_result, subject_request), the roles that must act and so see the alert (a kind
    # not named: the roles holding the permission that acts on it, see Policy.deadline_alert_roles).
    document_grace_hours: int = 0
    subject_request_alert_days: int = 2
    deadline_alerts: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class StaffingRule:
    """Art. 9 ②: at least ``min_present`` of ``roles`` of ``organisation`` present in the center (during
    ``hours`` in KST, [start, end), or at all times when None); a gap longer than ``grace_minutes``
    raises the ``staffing_gap`` situation (gwanje.center.presence)."""

    code: str
    ko: str
    en: str
    organisation: str
    roles: tuple[str, ...]
    min_present: int
    grace_minutes: int
    clause: str
    hours: tuple[int, int] | None = None


@dataclass(frozen=True)
class Staffing:
    organisation: str
    role: str
    min_on_duty: int
    clause: str
    rules: tuple[StaffingRule, ...] = ()


@dataclass(frozen=True)
class Course:
    """A training course (Art. 9 ④), valid ``validity_months`` after it was completed."""

    code: str
    ko: str
    en: str
    validity_months: int


@dataclass(frozen=True)
class DutyRequirement:
    """What a role must have on file before it may go on duty: courses still valid, a security pledge."""

    role: str
    courses: tuple[str, ...]
    pledge: bool


@dataclass(frozen=True)
class PresenceSettings:
    """Presence in the center (gwanje.center.presence): the room one checks into, the courses, and
    what each role needs on file before duty (Art. 9 ④)."""

    room: str
    clause: str
    training_clause: str
    courses: tuple[Course, ...]
    requirements: tuple[DutyRequirement, ...]

    def course(self, code: str) -> Course | None:
        return next((c for c in self.courses if c.code == code), None)

    def requirement(self, role: str) -> DutyRequirement | None:
        return next((r for r in self.requirements if r.role == role), None)


@dataclass(frozen=True)
class ReplacementGround:
    code: str
    ko: str
    en: str


@dataclass(frozen=True)
class AgentCost:
    """Art. 12: who bears the agents' cost and, optionally, a default monthly cost per agent."""

    bearer: str
    monthly_cost_per_agent_krw: int | None
    clause: str


@dataclass(frozen=True)
class AgentRules:
    """Monitoring agents (Art. 9 ③ ④): who are agents, who requests them, who decides, the cost,
    the grounds on which an agent's replacement may be demanded, and whether the agent concerned
    may read a demand about them (``agent_sees_demands``)."""

    agent_roles: frozenset[str]
    request_roles: frozenset[str]
    decide_roles: frozenset[str]
    cost: AgentCost
    replacement_grounds: tuple[ReplacementGround, ...]
    request_clause: str
    replacement_clause: str
    agent_sees_demands: bool = False

    def ground(self, code: str) -> ReplacementGround | None:
        return next((g for g in self.replacement_grounds if g.code == code), None)


@dataclass(frozen=True)
class ShiftLeaders:
    """The roles that lead one organisation's shift: open, sign and hand over its duty log."""

    organisation: str
    roles: tuple[str, ...]


@dataclass(frozen=True)
class Door:
    """A door whose badge reader or contact reports ``room_access`` messages as ``device``."""

    device: str
    room: str
    ko: str
    en: str


@dataclass(frozen=True)
class RoomsAccess:
    """출입관리 (Annex 2; gwanje.center.rooms): the doors of the rooms in ``duty.rooms``, how long an
    authorisation may run, when a door held open is an incident, and whether visitors need an escort.
    Entry is granted by the roles holding ``rooms.authorise``; incidents are the situation raised by
    the system trigger ``room_access``."""

    clause: str
    doors: tuple[Door, ...]
    max_authorisation_days: int
    held_open_seconds: int
    visitors_need_escort: bool

    def door(self, device: str) -> Door | None:
        return next((d for d in self.doors if d.device == device), None)


@dataclass(frozen=True)
class Choice:
    """A code with its Korean and English label (an item class or status of the equipment register)."""

    code: str
    ko: str
    en: str


@dataclass(frozen=True)
class Maintenance:
    """장비·시설물·물품 관리 (Art. 2 ④, 5, 6; gwanje.maintenance): the register's item classes and statuses.
    ``default_status``: a new item's; ``disposed_status``: the end of an item, after which it is not edited;
    ``camera_class``: the class a registry camera's item is filed under. Owners follow ``ownership`` (Art. 5).
    Who reads and who keeps the register: ``equipment.read`` and ``equipment.manage``."""

    clause: str
    ownership_clause: str
    classes: tuple[Choice, ...]
    statuses: tuple[Choice, ...]
    default_status: str
    disposed_status: str
    camera_class: str

    def item_class(self, code: str) -> Choice | None:
        return next((c for c in self.classes if c.code == code), None)

    def status(self, code: str) -> Choice | None:
        return next((c for c in self.statuses if c.code == code), None)


@dataclass(frozen=True)
class HandoverRules:
    """Duty logs (근무일지) and handovers (인수인계): who leads each organisation's shift and who
    reads every organisation's logs."""

    leaders: tuple[ShiftLeaders, ...]
    read_all: tuple[str, ...]
    clause: str

    def leader_roles(self, organisation: str) -> tuple[str, ...]:
        for entry in self.leaders:
            if entry.organisation == organisation:
                return entry.roles
        return ()

    @property
    def organisations(self) -> tuple[str, ...]:
        return tuple(entry.organisation for entry in self.leaders)


@dataclass(frozen=True)
class ShiftCode:
    """A roster cell's code (e.g. 주 = day 09:00–18:00 local); an off code has no times. A shift whose
    end is not after its start ends the next day (a night shift)."""

    code: str
    ko: str
    en: str
    start: time | None = None
    end: time | None = None
    colour: str = "#888888"

    @property
    def off(self) -> bool:
        return self.start is None


@dataclass(frozen=True)
class ShiftPattern:
    """A standard rotation (4조 2교대, 4조 3교대): team ``i`` works ``cycle[(day - epoch + i * offset) % len]``."""

    code: str
    ko: str
    en: str
    cycle: tuple[str, ...]
    teams: tuple[str, ...]
    team_offset_days: int
    epoch: date


@dataclass(frozen=True)
class RosterRules:
    """Art. 9 ①: the shift codes and patterns, and which roles keep which organisation's roster."""

    clause: str
    codes: tuple[ShiftCode, ...]
    patterns: tuple[ShiftPattern, ...]
    managers: tuple[tuple[str, tuple[str, ...]], ...]  # (organisation, roles that manage its roster)

    def code(self, code: str) -> ShiftCode | None:
        return next((c for c in self.codes if c.code == code), None)

    def pattern(self, code: str) -> ShiftPattern | None:
        return next((p for p in self.patterns if p.code == code), None)

    def managed_by(self, role: str) -> frozenset[str]:
        """The organisations whose roster ``role`` keeps."""
        return frozenset(org for org, roles in self.managers if role in roles)


@dataclass(frozen=True)
class Retention:
    default_days: int
    clause: str


@dataclass(frozen=True)
class Security:
    """Sign-in security: sessions end when idle or too old; failed sign-ins slow further attempts
    down (per account name and per source address), they never lock an account; tokens expire."""

    session_idle_timeout_minutes: int
    session_absolute_hours: int
    throttle_after_failed_logins: int  # failures on one account name before attempts must wait
    throttle_source_after_failed_logins: int  # failures from one source address before it must wait
    throttle_base_seconds: int  # the first wait; each further failure doubles it
    throttle_max_seconds: int  # the longest wait
    failure_memory_minutes: int  # failures are forgotten after this long without one
    token_default_hours: int
    token_max_days: int
    clause: str

    def throttle_seconds(self, failures: int, threshold: int) -> int:
        """How long to wait after ``failures`` failures (0 below ``threshold``): base × 2^(n−N), capped."""
        if failures < threshold:
            return 0
        return min(self.throttle_max_seconds, self.throttle_base_seconds * 2 ** min(failures - threshold, 30))


class FrozenMap(Mapping[str, str]):
    """An immutable, hashable mapping, so that a Policy stays hashable (usable as a cache key)."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, str] | None = None) -> None:
        self._data = dict(data or {})
        self._hash = hash(frozenset(self._data.items()))

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._data.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mapping) and self._data == dict(other.items())

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


@dataclass(frozen=True)
class StandardData:
    """How the national CCTV standard data (공공데이터 표준) maps onto this policy."""

    purpose_map: Mapping[str, str]  # 설치목적구분 text (spaces removed) -> purpose code
    organisation_rules: tuple[tuple[str, str], ...]  # (the agency name contains, organisation code)
    default_organisation: str


@dataclass(frozen=True)
class MapSettings:
    """GeoJSON files the map draws: bare names are in the package data folder, others relative to the
    policy file."""

    boundary: str
    neighbourhoods: str | None
    # Which feature property names a neighbourhood, by console language (``ko``, ``en``): its label on
    # the map. Empty: the outlines are drawn without labels.
    neighbourhood_names: Mapping[str, str] = field(default_factory=lambda: FrozenMap({}))


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: str
    department: str | None


def _index(items: tuple, key: str) -> Mapping[str, object]:
    return MappingProxyType({getattr(item, key): item for item in items})


@dataclass(frozen=True)
class Policy:
    source: str
    schema_version: int
    agreement: Agreement
    organisations: tuple[Organisation, ...]
    clauses: tuple[Clause, ...]
    purposes: tuple[Purpose, ...]
    departments: tuple[Department, ...]
    annex1: tuple[Annex1Row, ...]
    roles: tuple[Role, ...]
    permissions: tuple[Permission, ...]
    duty: Duty
    ownership: Ownership
    access: AccessRules
    staffing: Staffing
    retention: Retention
    security: Security
    standard_data: StandardData = StandardData(FrozenMap(), (), "")
    map: MapSettings | None = None
    demo_accounts: tuple[DemoAccount, ...] = ()
    agents: AgentRules | None = None
    handover: HandoverRules | None = None
    presence: PresenceSettings | None = None
    roster: RosterRules | None = None
    rooms_access: RoomsAccess | None = None
    maintenance: Maintenance | None = None
    _by: Mapping[str, Mapping[str, object]] = field(init=False, repr=False, compare=False)
    _triggers: Mapping[tuple[str, str | None], Situation] = field(init=False, repr=False, compare=False)
    _system: Mapping[str, Situation] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "_by",
            {
                "organisation": _index(self.organisations, "code"),
                "clause": _index(self.clauses, "id"),
                "purpose": _index(self.purposes, "code"),
                "department": _index(self.departments, "code"),
                "role": _index(self.roles, "code"),
                "permission": _index(self.permissions, "code"),
                "situation": _index(self.duty.situations, "type"),
            },
        )
        triggers: dict[tuple[str, str | None], Situation] = {}
        system: dict[str, Situation] = {}
        for situation in self.duty.situations:
            for trigger in situation.triggers:
                if trigger.system is not None:
                    system.setdefault(trigger.system, situation)
                    continue
                for rule in trigger.rules or (None,):
                    triggers.setdefault((trigger.message, rule), situation)
        object.__setattr__(self, "_triggers", MappingProxyType(triggers))
        object.__setattr__(self, "_system", MappingProxyType(system))

    def _get(self, kind: str, code: str) -> object:
        try:
            return self._by[kind][code]
        except (KeyError, TypeError):
            raise UnknownCode(kind, code) from None

    def organisation(self, code: str) -> Organisation:
        return self._get("organisation", code)  # type: ignore[return-value]

    def clause(self, clause_id: str) -> Clause:
        return self._get("clause", clause_id)  # type: ignore[return-value]

    def purpose(self, code: str) -> Purpose:
        return self._get("purpose", code)  # type: ignore[return-value]

    def department(self, code: str) -> Department:
        return self._get("department", code)  # type: ignore[return-value]

    def role(self, code: str) -> Role:
        return self._get("role", code)  # type: ignore[return-value]

    def permission(self, code: str) -> Permission:
        return self._get("permission", code)  # type: ignore[return-value]

    def situation(self, situation_type: str) -> Situation:
        return self._get("situation", situation_type)  # type: ignore[return-value]

    def annex1_rows(self, department: str) -> tuple[Annex1Row, ...]:
        self.department(department)
        return tuple(row for row in self.annex1 if row.department == department)

    def has_purpose(self, code: str) -> bool:
        return code in self._by["purpose"]

    # ---- who runs the center (Art. 9 ①) and who acts on incidents ----------------------------

    @property
    def operator(self) -> str:
        """The organisation that runs the center; its members see every organisation's records."""
        return self.duty.operator

    @property
    def operator_organisation(self) -> Organisation:
        return self.organisation(self.duty.operator)

    def is_operator_role(self, role: str) -> bool:
        """The role belongs to the operator and is not limited to its own department; unknown → False."""
        found = self._by["role"].get(role) if isinstance(role, str) else None
        return found is not None and found.organisation == self.duty.operator and not found.own_department

    @property
    def supervisors(self) -> frozenset[str]:
        return self.duty.supervisors

    @property
    def dispatch(self) -> Dispatch:
        return self.duty.dispatch

    def roles_with(self, permission: str) -> tuple[str, ...]:
        """Role codes holding a permission, in the order the policy declares roles (none for a permission
        this policy does not define)."""
        try:
            holders = self.permission(permission).roles
        except UnknownCode:
            return ()
        return tuple(r.code for r in self.roles if r.code in holders)

    # ---- deadlines (Art. 11 ① ②, PIPA 35) -----------------------------------------------------

    def deadline_alert_roles(self, kind: str) -> tuple[str, ...]:
        """The roles that must act on a missed or near deadline of ``kind`` (``document``,
        ``usage_result``, ``subject_request``) and so see its alert: ``access.deadline_alerts``, or
        when the policy names none for the kind, the roles holding the permission that acts on it."""
        if kind not in DEADLINE_KINDS:
            raise UnknownCode("deadline", kind)
        for named, roles in self.access.deadline_alerts:
            if named == kind:
                return tuple(r.code for r in self.roles if r.code in roles)
        return self.roles_with(DEADLINE_KINDS[kind])

    # ---- device messages → situations → purposes ---------------------------------------------

    def situation_for_message(self, message_type: str, rule: str | None = None) -> Situation | None:
        """The situation a device message raises; an entry naming the rule wins over one without."""
        if rule is not None:
            found = self._triggers.get((message_type, rule))
            if found is not None:
                return found
        return self._triggers.get((message_type, None))

    def situation_for_system(self, trigger: str) -> Situation | None:
        """The situation the system raises when it notices ``trigger`` (e.g. ``message_loss``)."""
        return self._system.get(trigger)

    def purpose_of_situation(self, situation_type: str) -> str:
        return self.situation(situation_type).purpose

    # ---- video provision (Art. 11 ①, Annex 2 video management) --------------------------------

    def provision_approvers(self, purposes: tuple[str, ...] | list[str] | frozenset[str] = ()) -> tuple[str, ...]:
        """Roles that approve a provision of video for these purposes (all purposes when empty).

        The roles holding ``video.provision.approve`` that belong to the organisation managing the
        purposes' video (``duty.video_management``; the operator when no row covers them), in the
        order the policy declares roles, with the supervisors last (they stand in, they do not
        come first). A row that names a department narrows who among those roles' users handles
        it, which is a matter for the accounts, not for the role list.
        """
        wanted = set(purposes)
        rows = [
            row for row in self.duty.video_management if row.purposes and (not wanted or wanted & set(row.purposes))
        ]
        organisations = {row.organisation for row in rows} or {self.duty.operator}
        try:
            holders = self.permission("video.provision.approve").roles
        except UnknownCode:
            return ()
        chosen = [r.code for r in self.roles if r.code in holders and r.organisation in organisations]
        return tuple(
            [code for code in chosen if code not in self.duty.supervisors]
            + [code for code in chosen if code in self.duty.supervisors]
        )

    # ---- standard data (공공데이터 CCTV 표준데이터) ------------------------------------------------

    def standard_purpose(self, text: str) -> str | None:
        """Purpose code of a 설치목적구분 value (spaces ignored); None when the policy maps it to none."""
        return self.standard_data.purpose_map.get(text.replace(" ", ""))

    def standard_organisation(self, agency_name: str) -> str:
        """The organisation a standard-data agency (관리기관명) stands for: the first rule whose text
        the name contains, else the default."""
        for contains, organisation in self.standard_data.organisation_rules:
            if contains in agency_name:
                return organisation
        return self.standard_data.default_organisation

    # ---- the map -------------------------------------------------------------------------------

    def map_file(self, name: str) -> Path:
        """Where a map file named by the policy lies: a bare name in the package data folder,
        anything else relative to the folder of the policy file. Names with ``..`` are refused."""
        return resolve_map_file(name, self.source)


def resolve_map_file(name: str, source: str) -> Path:
    pure = PurePath(name)
    if not name or ".." in pure.parts or pure.is_absolute() or "\\" in name:
        raise ValueError(f"지도 파일 이름이 잘못되었습니다 / bad map file name: {name!r}")
    if len(pure.parts) == 1:
        return Path(str(resources.files("gwanje").joinpath(PACKAGE_DATA, name)))
    return Path(source).parent / pure
