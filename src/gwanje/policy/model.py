"""The agreement as immutable values. Built by :mod:`gwanje.policy.loader`; no I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from types import MappingProxyType
from typing import Literal, Mapping

StorageMode = Literal["central", "on_site", "mobile"]
Period = Literal["day", "night"]

STORAGE_MODES: tuple[str, ...] = ("central", "on_site", "mobile")


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
class Duty:
    timezone: str
    day: DayWindow
    situations: tuple[Situation, ...]
    rooms: tuple[RoomDuty, ...]
    video_management: tuple[VideoManagementDuty, ...]


@dataclass(frozen=True)
class Ownership:
    default_owner: str
    installer_keeps: frozenset[str]
    clause: str


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


@dataclass(frozen=True)
class Staffing:
    organisation: str
    role: str
    min_on_duty: int
    clause: str


@dataclass(frozen=True)
class Retention:
    default_days: int
    clause: str


@dataclass(frozen=True)
class Security:
    session_idle_timeout_minutes: int
    lockout_after_failed_logins: int
    clause: str


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
    _by: Mapping[str, Mapping[str, object]] = field(init=False, repr=False, compare=False)

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
