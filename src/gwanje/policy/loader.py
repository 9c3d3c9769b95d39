"""Load a policy file strictly: every refusal names the file, line, column and the offending value.

The YAML is composed into nodes (not loaded into plain dicts) so that each node keeps its position
mark while it is converted into the frozen model.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date, time
from importlib import resources
from pathlib import PurePath
from typing import Callable, Iterable, NoReturn, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gwanje.korean import particle, with_particle
from .model import (
    AgentCost,
    AgentRules,
    ReplacementGround,
    HandoverRules,
    ShiftLeaders,
    BOARD_KEYWORDS,
    CONSOLE_PAGES,
    DEADLINE_KINDS,
    DEFAULT_HOME,
    NO_CONSOLE,
    DEVICE_MESSAGE_TYPES,
    INCIDENT_STATUSES,
    STORAGE_MODES,
    SYSTEM_TRIGGERS,
    AccessRules,
    Agreement,
    Annex1Row,
    ByPeriod,
    Clause,
    DayWindow,
    DemoAccount,
    Department,
    Dispatch,
    Duty,
    Escalation,
    FrozenMap,
    MapSettings,
    Organisation,
    Ownership,
    Permission,
    Policy,
    PolicyError,
    Purpose,
    Retention,
    Role,
    RosterRules,
    Door,
    Choice,
    Maintenance,
    RoomsAccess,
    RoomDuty,
    Security,
    ShiftCode,
    ShiftPattern,
    Situation,
    SopStep,
    Staffing,
    StaffingRule,
    Course,
    DutyRequirement,
    PresenceSettings,
    StandardData,
    Trigger,
    VideoManagementDuty,
    resolve_map_file,
)

SCHEMA_VERSION = 1
DEFAULT_POLICY = "seongdong.yaml"

_TAG = "tag:yaml.org,2002:"
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
_DEVICE = re.compile(r"^[0-9A-Za-z가-힣_.:\-]{1,120}$")  # as a device message's identifiers
_PERMISSION_CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_CLAUSE_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")

# Korean and English names of each kind of code, for messages.
_KINDS: dict[str, tuple[str, str]] = {
    "organisation": ("기관", "organisation"),
    "clause": ("조항", "clause"),
    "purpose": ("목적", "purpose"),
    "department": ("부서", "department"),
    "role": ("역할", "role"),
    "storage_mode": ("저장방식", "storage mode"),
    "message": ("장치 메시지 유형", "device message type"),
    "system": ("시스템 감지 항목", "system trigger"),
    "situation": ("상황 유형", "situation type"),
    "incident_status": ("상황 상태", "incident status"),
}

T = TypeVar("T")


def load_policy(path: str | os.PathLike[str]) -> Policy:
    """Read and validate a policy file. Raises PolicyError on any defect."""
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise PolicyError(
            f"정책 파일을 읽을 수 없습니다: {exc.strerror}",
            f"cannot read policy file: {exc.strerror}",
            path=source,
        ) from exc
    except UnicodeDecodeError as exc:
        raise PolicyError("정책 파일은 UTF-8이어야 합니다", "policy file must be UTF-8", path=source) from exc
    return parse_policy(text, source=source)


def load_default() -> Policy:
    """The packaged u-Seongdong policy (gwanje/policies/seongdong.yaml)."""
    resource = resources.files("gwanje").joinpath("policies", DEFAULT_POLICY)
    return parse_policy(resource.read_text(encoding="utf-8"), source=str(resource))


def parse_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Validate policy YAML given as text; `source` names it in error messages."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise PolicyError(
            f"YAML 구문 오류: {exc.problem}",
            f"YAML syntax error: {exc.problem}",
            path=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"YAML 오류: {exc}", f"YAML error: {exc}", path=source) from exc
    if root is None:
        raise PolicyError("정책 파일이 비어 있습니다", "policy file is empty", path=source, line=1, column=1)
    return _Builder(source).policy(root)


class _Map:
    """A YAML mapping node that refuses unknown, duplicate and missing keys."""

    def __init__(
        self, b: _Builder, node: Node, what: str, required: Iterable[str], optional: Iterable[str] = ()
    ) -> None:
        if not isinstance(node, MappingNode):
            b.fail(node, f"{what}: 매핑이어야 합니다", f"{what}: expected a mapping")
        self.node = node
        required = tuple(required)
        allowed = (*required, *optional)
        self.values: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not (isinstance(key_node, ScalarNode) and key_node.tag == _TAG + "str"):
                b.fail(key_node, f"{what}: 키는 문자열이어야 합니다", f"{what}: keys must be strings")
            key = key_node.value
            if key in self.values:
                b.fail(key_node, f"{what}: 중복된 키 '{key}'", f"{what}: duplicate key '{key}'")
            if key not in allowed:
                known = ", ".join(allowed)
                b.fail(
                    key_node,
                    f"{what}: 알 수 없는 키 '{key}' (허용: {known})",
                    f"{what}: unknown key '{key}' (allowed: {known})",
                )
            self.values[key] = value_node
        missing = [key for key in required if key not in self.values]
        if missing:
            b.fail(
                node,
                f"{what}: 필수 키 누락 '{', '.join(missing)}'",
                f"{what}: missing required key '{', '.join(missing)}'",
            )

    def __getitem__(self, key: str) -> Node:
        return self.values[key]

    def get(self, key: str) -> Node | None:
        return self.values.get(key)


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self._constructor = SafeConstructor()
        self.known: dict[str, dict[str, object]] = {kind: {} for kind in _KINDS}
        self.known["storage_mode"] = {mode: mode for mode in STORAGE_MODES}
        self.known["message"] = {message: message for message in DEVICE_MESSAGE_TYPES}
        self.known["system"] = {name: name for name in SYSTEM_TRIGGERS}
        self.known["incident_status"] = {status: status for status in INCIDENT_STATUSES}
        self.role_orgs: dict[str, str] = {}
        self.home_nodes: dict[str, Node] = {}

    # ---- primitives -------------------------------------------------------------------------

    def fail(self, node: Node, ko: str, en: str) -> NoReturn:
        mark = node.start_mark
        raise PolicyError(ko, en, path=self.source, line=mark.line + 1, column=mark.column + 1)

    def _scalar(self, node: Node, what: str, tag: str, ko: str, en: str) -> object:
        if not (isinstance(node, ScalarNode) and node.tag == _TAG + tag):
            shown = node.value if isinstance(node, ScalarNode) else type(node).__name__
            self.fail(node, f"{what}: {ko}이어야 합니다 (값: {shown!r})", f"{what}: expected {en} (got {shown!r})")
        return self._constructor.construct_object(node)

    def text(self, node: Node, what: str) -> str:
        value = self._scalar(node, what, "str", "문자열", "a string")
        assert isinstance(value, str)
        if not value.strip():
            self.fail(node, f"{what}: 빈 문자열", f"{what}: empty string")
        return value

    def opt_text(self, node: Node, what: str) -> str | None:
        return None if self.is_null(node) else self.text(node, what)

    def integer(self, node: Node, what: str, minimum: int) -> int:
        value = self._scalar(node, what, "int", "정수", "an integer")
        assert isinstance(value, int)
        if value < minimum:
            self.fail(
                node,
                f"{what}: {minimum} 이상이어야 합니다 (값: {value})",
                f"{what}: must be >= {minimum} (got {value})",
            )
        return value

    def boolean(self, node: Node, what: str) -> bool:
        value = self._scalar(node, what, "bool", "true/false", "true or false")
        assert isinstance(value, bool)
        return value

    def calendar_date(self, node: Node, what: str) -> date:
        value = self._scalar(node, what, "timestamp", "날짜(YYYY-MM-DD)", "a date (YYYY-MM-DD)")
        if not isinstance(value, date) or hasattr(value, "hour"):
            self.fail(
                node, f"{what}: 날짜만 허용 (값: {node.value!r})", f"{what}: expected a date only (got {node.value!r})"
            )
        return value

    def clock_time(self, node: Node, what: str) -> time:
        raw = node.value if isinstance(node, ScalarNode) else type(node).__name__
        if not (isinstance(node, ScalarNode) and node.tag == _TAG + "str" and _HHMM.match(node.value)):
            self.fail(
                node,
                f'{what}: 잘못된 시각 {raw!r} — 따옴표로 감싼 "HH:MM" 형식이어야 합니다',
                f'{what}: bad time {raw!r} — expected a quoted "HH:MM"',
            )
        hours, minutes = node.value.split(":")
        return time(int(hours), int(minutes))

    def is_null(self, node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.tag == _TAG + "null"

    def seq(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.fail(node, f"{what}: 목록이어야 합니다", f"{what}: expected a list")
        return list(node.value)

    def pattern(self, node: Node, what: str, regex: re.Pattern[str]) -> str:
        value = self.text(node, what)
        if not regex.match(value):
            self.fail(node, f"{what}: 잘못된 코드 형식 {value!r}", f"{what}: malformed code {value!r}")
        return value

    def ref(self, node: Node, what: str, kind: str) -> str:
        """A code that must already be defined, e.g. a role named in a permission."""
        value = self.text(node, what)
        if value not in self.known[kind]:
            ko, en = _KINDS[kind]
            known = ", ".join(self.known[kind]) or "-"
            self.fail(
                node,
                f"{what}: 알 수 없는 {ko} '{value}' (정의된 {ko}: {known})",
                f"{what}: unknown {en} '{value}' (defined: {known})",
            )
        return value

    def opt_ref(self, node: Node, what: str, kind: str) -> str | None:
        return None if self.is_null(node) else self.ref(node, what, kind)

    def refs(self, node: Node, what: str, kind: str) -> tuple[str, ...]:
        return tuple(self.ref(item, what, kind) for item in self.seq(node, what))

    def define(self, node: Node, what: str, kind: str, code: str, value: object) -> None:
        if code in self.known[kind]:
            ko, en = _KINDS[kind]
            self.fail(node, f"{what}: 중복된 {ko} '{code}'", f"{what}: duplicate {en} '{code}'")
        self.known[kind][code] = value

    def items(self, node: Node, what: str, build: Callable[[Node, str], T]) -> tuple[T, ...]:
        return tuple(build(item, f"{what}[{i}]") for i, item in enumerate(self.seq(node, what)))

    def role_of(self, node: Node, what: str, organisation: str) -> str:
        """A role that must belong to the organisation named beside it."""
        role = self.ref(node, what, "role")
        if self.role_orgs[role] != organisation:
            self.fail(
                node,
                f"{what}: 역할 '{role}'{particle(role, '은/는')} '{organisation}' 소속이 아닙니다",
                f"{what}: role '{role}' does not belong to organisation '{organisation}'",
            )
        return role

    # ---- sections ---------------------------------------------------------------------------

    def policy(self, root: Node) -> Policy:
        top = _Map(
            self,
            root,
            "policy",
            (
                "schema_version",
                "agreement",
                "organisations",
                "clauses",
                "purposes",
                "departments",
                "annex1",
                "roles",
                "permissions",
                "duty",
                "ownership",
                "access",
                "staffing",
                "retention",
                "security",
                "standard_data",
                "map",
            ),
            ("demo_accounts", "agents", "handover", "presence", "roster", "rooms_access", "maintenance"),
        )
        version = self.integer(top["schema_version"], "schema_version", 1)
        if version != SCHEMA_VERSION:
            self.fail(
                top["schema_version"],
                f"schema_version: 지원하지 않는 버전 {version} (지원: {SCHEMA_VERSION})",
                f"schema_version: unsupported version {version} (supported: {SCHEMA_VERSION})",
            )
        agreement = self.agreement(top["agreement"])
        organisations = self.items(top["organisations"], "organisations", self.organisation)
        clauses = self.items(top["clauses"], "clauses", self.clause)
        purposes = self.items(top["purposes"], "purposes", self.purpose)
        departments = self.items(top["departments"], "departments", self.department)
        annex1 = self.items(top["annex1"], "annex1", self.annex1_row)
        self.unique_annex_rows(top["annex1"], annex1)
        roles = self.items(top["roles"], "roles", self.role)
        permissions = self.permissions(top["permissions"])
        self.homes_reachable(roles, permissions)
        duty = self.duty(top["duty"])
        return Policy(
            source=self.source,
            schema_version=version,
            agreement=agreement,
            organisations=organisations,
            clauses=clauses,
            purposes=purposes,
            departments=tuple(_with_annex_purposes(d, annex1) for d in departments),
            annex1=annex1,
            roles=roles,
            permissions=permissions,
            duty=duty,
            ownership=self.ownership(top["ownership"]),
            access=self.access(top["access"]),
            staffing=self.staffing(top["staffing"]),
            retention=self.retention(top["retention"]),
            security=self.security(top["security"]),
            standard_data=self.standard_data(top["standard_data"]),
            map=self.map_settings(top["map"]),
            demo_accounts=self.demo_accounts(top.get("demo_accounts"), departments),
            agents=self.agents(top.get("agents")),
            handover=self.handover(top.get("handover")),
            presence=self.presence(top.get("presence")),
            roster=self.roster(top.get("roster"), permissions),
            rooms_access=self.rooms_access(top.get("rooms_access"), duty, permissions),
            maintenance=self.maintenance(top.get("maintenance"), permissions),
        )

    def agreement(self, node: Node) -> Agreement:
        m = _Map(self, node, "agreement", ("id", "title_ko", "title_en", "signed"), ("location_ko",))
        location = m.get("location_ko")
        return Agreement(
            id=self.text(m["id"], "agreement.id"),
            title_ko=self.text(m["title_ko"], "agreement.title_ko"),
            title_en=self.text(m["title_en"], "agreement.title_en"),
            signed=self.calendar_date(m["signed"], "agreement.signed"),
            location_ko=None if location is None else self.opt_text(location, "agreement.location_ko"),
        )

    def organisation(self, node: Node, what: str) -> Organisation:
        m = _Map(
            self,
            node,
            what,
            ("code", "party_ko", "name_ko", "name_en", "head_ko", "head_en"),
            ("address_ko", "short_ko", "short_en"),
        )
        code = self.pattern(m["code"], f"{what}.code", _CODE)
        address = m.get("address_ko")
        org = Organisation(
            code=code,
            party_ko=self.text(m["party_ko"], f"{what}.party_ko"),
            name_ko=self.text(m["name_ko"], f"{what}.name_ko"),
            name_en=self.text(m["name_en"], f"{what}.name_en"),
            head_ko=self.text(m["head_ko"], f"{what}.head_ko"),
            head_en=self.text(m["head_en"], f"{what}.head_en"),
            address_ko=None if address is None else self.opt_text(address, f"{what}.address_ko"),
            short_ko="" if m.get("short_ko") is None else self.text(m["short_ko"], f"{what}.short_ko"),
            short_en="" if m.get("short_en") is None else self.text(m["short_en"], f"{what}.short_en"),
        )
        self.define(m["code"], what, "organisation", code, org)
        return org

    def clause(self, node: Node, what: str) -> Clause:
        m = _Map(self, node, what, ("id", "ko", "en"))
        clause_id = self.pattern(m["id"], f"{what}.id", _CLAUSE_ID)
        clause = Clause(clause_id, self.text(m["ko"], f"{what}.ko"), self.text(m["en"], f"{what}.en"))
        self.define(m["id"], what, "clause", clause_id, clause)
        return clause

    def purpose(self, node: Node, what: str) -> Purpose:
        m = _Map(self, node, what, ("code", "ko", "en"))
        code = self.pattern(m["code"], f"{what}.code", _CODE)
        purpose = Purpose(code, self.text(m["ko"], f"{what}.ko"), self.text(m["en"], f"{what}.en"))
        self.define(m["code"], what, "purpose", code, purpose)
        return purpose

    def department(self, node: Node, what: str) -> Department:
        m = _Map(self, node, what, ("code", "ko", "en", "organisation"))
        code = self.pattern(m["code"], f"{what}.code", _CODE)
        department = Department(
            code=code,
            ko=self.text(m["ko"], f"{what}.ko"),
            en=self.text(m["en"], f"{what}.en"),
            organisation=self.ref(m["organisation"], f"{what}.organisation", "organisation"),
            primary_purposes=(),
            secondary_purposes=(),
        )
        self.define(m["code"], what, "department", code, department)
        return department

    def annex1_row(self, node: Node, what: str) -> Annex1Row:
        m = _Map(
            self,
            node,
            what,
            (
                "department",
                "primary_purpose",
                "camera_group",
                "label_ko",
                "secondary_purposes",
                "storage_mode",
                "owner",
                "remarks_ko",
                "clause",
            ),
        )
        group = m["camera_group"]
        return Annex1Row(
            department=self.ref(m["department"], f"{what}.department", "department"),
            primary_purpose=self.ref(m["primary_purpose"], f"{what}.primary_purpose", "purpose"),
            camera_group=None if self.is_null(group) else self.pattern(group, f"{what}.camera_group", _CODE),
            label_ko=self.text(m["label_ko"], f"{what}.label_ko"),
            secondary_purposes=self.refs(m["secondary_purposes"], f"{what}.secondary_purposes", "purpose"),
            storage_mode=self.ref(m["storage_mode"], f"{what}.storage_mode", "storage_mode"),  # type: ignore[arg-type]
            owner=self.ref(m["owner"], f"{what}.owner", "organisation"),
            remarks_ko=self.opt_text(m["remarks_ko"], f"{what}.remarks_ko"),
            clause=self.ref(m["clause"], f"{what}.clause", "clause"),
        )

    def unique_annex_rows(self, node: Node, rows: tuple[Annex1Row, ...]) -> None:
        seen: set[tuple[str, str, str | None]] = set()
        for item, row in zip(self.seq(node, "annex1"), rows):
            key = (row.department, row.primary_purpose, row.camera_group)
            if key in seen:
                self.fail(
                    item,
                    f"annex1: 중복된 행 (부서 {key[0]}, 주목적 {key[1]}, 그룹 {key[2]})",
                    f"annex1: duplicate row (department {key[0]}, primary purpose {key[1]}, group {key[2]})",
                )
            seen.add(key)

    def role(self, node: Node, what: str) -> Role:
        m = _Map(self, node, what, ("code", "organisation", "ko", "en", "totp_required", "purposes"), ("board", "home"))
        code = self.pattern(m["code"], f"{what}.code", _CODE)
        organisation = self.ref(m["organisation"], f"{what}.organisation", "organisation")
        purposes_node = m["purposes"]
        own_department = False
        purposes: tuple[str, ...]
        keyword = _keyword(purposes_node)
        if keyword == "all":
            purposes = tuple(self.known["purpose"])
        elif keyword == "own_department":
            purposes, own_department = (), True
        elif isinstance(purposes_node, SequenceNode):
            purposes = self.refs(purposes_node, f"{what}.purposes", "purpose")
        else:
            self.fail(
                purposes_node,
                f"{what}.purposes: 목적 목록, 'all' 또는 'own_department'이어야 합니다",
                f"{what}.purposes: expected a list of purposes, 'all' or 'own_department'",
            )
        role = Role(
            code=code,
            organisation=organisation,
            ko=self.text(m["ko"], f"{what}.ko"),
            en=self.text(m["en"], f"{what}.en"),
            totp_required=self.boolean(m["totp_required"], f"{what}.totp_required"),
            purposes=purposes,
            own_department=own_department,
            board=self.board(m.get("board"), f"{what}.board"),
            home=self.home(m.get("home"), f"{what}.home"),
        )
        if m.get("home") is not None:
            self.home_nodes[code] = m["home"]
        self.define(m["code"], what, "role", code, role)
        self.role_orgs[code] = organisation
        return role

    def home(self, node: Node | None, what: str) -> str:
        if node is None:
            return DEFAULT_HOME
        keyword = _keyword(node)
        if keyword == NO_CONSOLE or keyword in CONSOLE_PAGES:
            return keyword
        shown = node.value if isinstance(node, ScalarNode) else type(node).__name__
        pages = ", ".join([*CONSOLE_PAGES, NO_CONSOLE])
        self.fail(
            node,
            f"{what}: 알 수 없는 화면 {shown!r} (가능: {pages})",
            f"{what}: unknown console page {shown!r} (expected one of {pages})",
        )

    def homes_reachable(self, roles: tuple[Role, ...], permissions: tuple[Permission, ...]) -> None:
        """A role's landing page must be one it may open: it holds one of the page's permissions."""
        held = {p.code: p.roles for p in permissions}
        for role in roles:
            needed = CONSOLE_PAGES.get(role.home, ())
            if needed and not any(role.code in held.get(code, ()) for code in needed):
                node = self.home_nodes.get(role.code)
                if node is None:
                    continue  # the default landing page: the console shows what the role may open
                wanted = ", ".join(needed)
                self.fail(
                    node,
                    f"roles.{role.code}.home: 역할이 '{role.home}' 화면을 열 권한({wanted})이 없습니다",
                    f"roles.{role.code}.home: the role may not open the '{role.home}' page (needs {wanted})",
                )

    def board(self, node: Node | None, what: str) -> str | frozenset[str]:
        if node is None:
            return "none"
        keyword = _keyword(node)
        if keyword in BOARD_KEYWORDS:
            return keyword
        if isinstance(node, MappingNode):
            m = _Map(self, node, what, ("routed_to",))
            organisations = self.refs(m["routed_to"], f"{what}.routed_to", "organisation")
            if not organisations:
                self.fail(m["routed_to"], f"{what}.routed_to: 비어 있습니다", f"{what}.routed_to: must not be empty")
            return frozenset(organisations)
        shown = node.value if isinstance(node, ScalarNode) else type(node).__name__
        self.fail(
            node,
            f"{what}: 'all', 'own_department', 'none' 또는 {{routed_to: [기관…]}}이어야 합니다 (값: {shown!r})",
            f"{what}: expected 'all', 'own_department', 'none' or {{routed_to: [organisations…]}} (got {shown!r})",
        )

    def permissions(self, node: Node) -> tuple[Permission, ...]:
        if not isinstance(node, MappingNode):
            self.fail(node, "permissions: 매핑이어야 합니다", "permissions: expected a mapping")
        result: list[Permission] = []
        seen: set[str] = set()
        for key_node, value_node in node.value:
            code = self.pattern(key_node, "permissions", _PERMISSION_CODE)
            if code in seen:
                self.fail(key_node, f"permissions: 중복된 권한 '{code}'", f"permissions: duplicate permission '{code}'")
            seen.add(code)
            what = f"permissions.{code}"
            m = _Map(self, value_node, what, ("roles", "ko", "en", "clause"))
            roles_node = m["roles"]
            if _keyword(roles_node) == "all":
                roles = frozenset(self.known["role"])
            else:
                roles = frozenset(self.refs(roles_node, f"{what}.roles", "role"))
            result.append(
                Permission(
                    code=code,
                    roles=roles,
                    ko=self.text(m["ko"], f"{what}.ko"),
                    en=self.text(m["en"], f"{what}.en"),
                    clause=self.ref(m["clause"], f"{what}.clause", "clause"),
                )
            )
        return tuple(result)

    def duty(self, node: Node) -> Duty:
        m = _Map(
            self,
            node,
            "duty",
            ("timezone", "day", "operator", "supervisors", "dispatch", "situations", "rooms", "video_management"),
        )
        operator = self.ref(m["operator"], "duty.operator", "organisation")
        supervisors = frozenset(self.refs(m["supervisors"], "duty.supervisors", "role"))
        dispatch = self.dispatch(m["dispatch"])
        timezone = self.text(m["timezone"], "duty.timezone")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(
                m["timezone"],
                f"duty.timezone: 알 수 없는 시간대 {timezone!r}",
                f"duty.timezone: unknown time zone {timezone!r}",
            )
        day = _Map(self, m["day"], "duty.day", ("start", "end"))
        window = DayWindow(self.clock_time(day["start"], "duty.day.start"), self.clock_time(day["end"], "duty.day.end"))
        if window.start == window.end:
            self.fail(m["day"], "duty.day: 시작과 종료 시각이 같습니다", "duty.day: start and end are the same time")
        situations = self.items(m["situations"], "duty.situations", self.situation)
        seen: set[str] = set()
        for item, situation in zip(self.seq(m["situations"], "duty.situations"), situations):
            if situation.type in seen:
                self.fail(
                    item,
                    f"duty.situations: 중복된 상황 유형 '{situation.type}'",
                    f"duty.situations: duplicate situation type '{situation.type}'",
                )
            seen.add(situation.type)
            self.known["situation"][situation.type] = situation
        self.unique_triggers(m["situations"], situations)
        return Duty(
            timezone=timezone,
            day=window,
            situations=situations,
            rooms=self.items(m["rooms"], "duty.rooms", self.room),
            video_management=self.items(m["video_management"], "duty.video_management", self.video_management),
            operator=operator,
            supervisors=supervisors,
            dispatch=dispatch,
        )

    def dispatch(self, node: Node) -> Dispatch:
        m = _Map(self, node, "duty.dispatch", ("organisations", "roles", "clause"))
        organisations = self.refs(m["organisations"], "duty.dispatch.organisations", "organisation")
        if not organisations:
            self.fail(
                m["organisations"],
                "duty.dispatch.organisations: 비어 있습니다",
                "duty.dispatch.organisations: must not be empty",
            )
        roles = []
        for item in self.seq(m["roles"], "duty.dispatch.roles"):
            role = self.ref(item, "duty.dispatch.roles", "role")
            if self.role_orgs[role] not in organisations:
                self.fail(
                    item,
                    f"duty.dispatch.roles: 역할 '{role}'{particle(role, '은/는')} 출동 지령 기관"
                    f"({', '.join(organisations)}) 소속이 아닙니다",
                    f"duty.dispatch.roles: role '{role}' does not belong to a dispatching organisation "
                    f"({', '.join(organisations)})",
                )
            roles.append(role)
        return Dispatch(
            organisations=frozenset(organisations),
            roles=frozenset(roles),
            clause=self.ref(m["clause"], "duty.dispatch.clause", "clause"),
        )

    def triggers(self, node: Node | None, what: str) -> tuple[Trigger, ...]:
        if node is None:
            return ()
        result = []
        for i, item in enumerate(self.seq(node, what)):
            if isinstance(item, MappingNode) and any(
                isinstance(k, ScalarNode) and k.value == "system" for k, _ in item.value
            ):
                m = _Map(self, item, f"{what}[{i}]", ("system",))
                result.append(Trigger("", (), self.ref(m["system"], f"{what}[{i}].system", "system")))
                continue
            m = _Map(self, item, f"{what}[{i}]", ("message",), ("rule",))
            message = self.ref(m["message"], f"{what}[{i}].message", "message")
            rules: tuple[str, ...] = ()
            if m.get("rule") is not None:
                rules = tuple(
                    self.pattern(r, f"{what}[{i}].rule", _CODE) for r in self.seq(m["rule"], f"{what}[{i}].rule")
                )
                if not rules:
                    self.fail(m["rule"], f"{what}[{i}].rule: 비어 있습니다", f"{what}[{i}].rule: must not be empty")
            result.append(Trigger(message, rules))
        return tuple(result)

    def unique_triggers(self, node: Node, situations: tuple[Situation, ...]) -> None:
        """No two entries may claim the same (message, rule) pair: a message raises one situation."""
        claimed: dict[tuple[str, str | None], str] = {}
        for item, situation in zip(self.seq(node, "duty.situations"), situations):
            for trigger in situation.triggers:
                if trigger.system is not None:
                    key = (f"system:{trigger.system}", None)
                    if key in claimed:
                        self.fail(
                            item,
                            f"duty.situations: 시스템 감지 {with_particle(trigger.system, '이/가')} '{claimed[key]}'와 "
                            f"'{situation.type}'에 중복 지정되었습니다",
                            f"duty.situations: system trigger {trigger.system} raises both '{claimed[key]}' and "
                            f"'{situation.type}'",
                        )
                    claimed[key] = situation.type
                    continue
                for rule in trigger.rules or (None,):
                    key = (trigger.message, rule)
                    if key in claimed:
                        by = f"{trigger.message}" + (f" (rule {rule})" if rule else "")
                        self.fail(
                            item,
                            f"duty.situations: 장치 메시지 {with_particle(by, '이/가')} '{claimed[key]}'와 "
                            f"'{situation.type}'에 "
                            "중복 지정되었습니다",
                            f"duty.situations: device message {by} raises both '{claimed[key]}' and '{situation.type}'",
                        )
                    claimed[key] = situation.type

    def situation(self, node: Node, what: str) -> Situation:
        m = _Map(
            self,
            node,
            what,
            ("type", "ko", "en", "responsible", "recognise", "respond", "two_stage", "remarks_ko", "clause", "purpose"),
            ("sop", "escalation", "raised_by"),
        )
        recognise = _Map(self, m["recognise"], f"{what}.recognise", ("organisation", "role"))
        recognise_org = self.ref(recognise["organisation"], f"{what}.recognise.organisation", "organisation")
        role_node = recognise["role"]
        if isinstance(role_node, MappingNode):
            by_period = _Map(self, role_node, f"{what}.recognise.role", ("day", "night"))
            recognise_role = ByPeriod(
                day=self.role_of(by_period["day"], f"{what}.recognise.role.day", recognise_org),
                night=self.role_of(by_period["night"], f"{what}.recognise.role.night", recognise_org),
            )
        else:
            role = self.role_of(role_node, f"{what}.recognise.role", recognise_org)
            recognise_role = ByPeriod(day=role, night=role)
        respond = _Map(self, m["respond"], f"{what}.respond", ("organisation", "roles"))
        respond_org = self.ref(respond["organisation"], f"{what}.respond.organisation", "organisation")
        respond_roles = tuple(
            self.role_of(item, f"{what}.respond.roles", respond_org)
            for item in self.seq(respond["roles"], f"{what}.respond.roles")
        )
        if not respond_roles:
            self.fail(
                respond["roles"], f"{what}.respond.roles: 비어 있습니다", f"{what}.respond.roles: must not be empty"
            )
        return Situation(
            type=self.pattern(m["type"], f"{what}.type", _CODE),
            ko=self.text(m["ko"], f"{what}.ko"),
            en=self.text(m["en"], f"{what}.en"),
            responsible=self.ref(m["responsible"], f"{what}.responsible", "organisation"),
            recognise_organisation=recognise_org,
            recognise_role=recognise_role,
            respond_organisation=respond_org,
            respond_roles=respond_roles,
            two_stage=self.boolean(m["two_stage"], f"{what}.two_stage"),
            remarks_ko=self.opt_text(m["remarks_ko"], f"{what}.remarks_ko"),
            clause=self.ref(m["clause"], f"{what}.clause", "clause"),
            sop=self.sop(m.get("sop"), f"{what}.sop"),
            escalation=self.escalation(m.get("escalation"), f"{what}.escalation"),
            purpose=self.ref(m["purpose"], f"{what}.purpose", "purpose"),
            triggers=self.triggers(m.get("raised_by"), f"{what}.raised_by"),
        )

    def sop(self, node: Node | None, what: str) -> tuple[SopStep, ...]:
        if node is None:
            return ()
        steps = []
        seen: set[str] = set()
        for i, item in enumerate(self.seq(node, what)):
            m = _Map(self, item, f"{what}[{i}]", ("code", "ko", "en"), ("required",))
            code = self.pattern(m["code"], f"{what}[{i}].code", _CODE)
            if code in seen:
                self.fail(m["code"], f"{what}: 중복된 단계 '{code}'", f"{what}: duplicate step '{code}'")
            seen.add(code)
            required = m.get("required")
            steps.append(
                SopStep(
                    code=code,
                    ko=self.text(m["ko"], f"{what}[{i}].ko"),
                    en=self.text(m["en"], f"{what}[{i}].en"),
                    required=True if required is None else self.boolean(required, f"{what}[{i}].required"),
                )
            )
        return tuple(steps)

    def escalation(self, node: Node | None, what: str) -> Escalation | None:
        if node is None:
            return None
        m = _Map(self, node, what, ("ack_minutes", "to"))
        return Escalation(
            ack_minutes=self.integer(m["ack_minutes"], f"{what}.ack_minutes", 1),
            to=self.refs(m["to"], f"{what}.to", "role"),
        )

    def room(self, node: Node, what: str) -> RoomDuty:
        m = _Map(self, node, what, ("code", "ko", "en", "organisation", "department", "clause"))
        return RoomDuty(
            code=self.pattern(m["code"], f"{what}.code", _CODE),
            ko=self.text(m["ko"], f"{what}.ko"),
            en=self.text(m["en"], f"{what}.en"),
            organisation=self.ref(m["organisation"], f"{what}.organisation", "organisation"),
            department=self.opt_ref(m["department"], f"{what}.department", "department"),
            clause=self.ref(m["clause"], f"{what}.clause", "clause"),
        )

    def video_management(self, node: Node, what: str) -> VideoManagementDuty:
        m = _Map(
            self,
            node,
            what,
            ("code", "ko", "en", "organisation", "department", "purposes", "system_ko", "clause"),
        )
        return VideoManagementDuty(
            code=self.pattern(m["code"], f"{what}.code", _CODE),
            ko=self.text(m["ko"], f"{what}.ko"),
            en=self.text(m["en"], f"{what}.en"),
            organisation=self.ref(m["organisation"], f"{what}.organisation", "organisation"),
            department=self.opt_ref(m["department"], f"{what}.department", "department"),
            purposes=self.refs(m["purposes"], f"{what}.purposes", "purpose"),
            system_ko=self.opt_text(m["system_ko"], f"{what}.system_ko"),
            clause=self.ref(m["clause"], f"{what}.clause", "clause"),
        )

    def ownership(self, node: Node) -> Ownership:
        m = _Map(self, node, "ownership", ("default_owner", "installer_keeps", "clause"))
        return Ownership(
            default_owner=self.ref(m["default_owner"], "ownership.default_owner", "organisation"),
            installer_keeps=frozenset(self.refs(m["installer_keeps"], "ownership.installer_keeps", "organisation")),
            clause=self.ref(m["clause"], "ownership.clause", "clause"),
        )

    def access(self, node: Node) -> AccessRules:
        m = _Map(
            self,
            node,
            "access",
            (
                "rbac_clause",
                "incident_only_organisations",
                "incident_only_clause",
                "emergency_organisations",
                "emergency_clause",
                "document_due_hours",
                "usage_result_due_days",
                "usage_result_clause",
                "viewing_statuses",
                "attach_radius_m",
                "emergency_situation_types",
                "emergency_minutes",
            ),
            ("document_grace_hours", "subject_request_alert_days", "deadline_alerts"),
        )
        grace, alert_days, alerts = (
            m.get("document_grace_hours"),
            m.get("subject_request_alert_days"),
            m.get("deadline_alerts"),
        )
        return AccessRules(
            rbac_clause=self.ref(m["rbac_clause"], "access.rbac_clause", "clause"),
            incident_only_organisations=frozenset(
                self.refs(m["incident_only_organisations"], "access.incident_only_organisations", "organisation")
            ),
            incident_only_clause=self.ref(m["incident_only_clause"], "access.incident_only_clause", "clause"),
            emergency_organisations=frozenset(
                self.refs(m["emergency_organisations"], "access.emergency_organisations", "organisation")
            ),
            emergency_clause=self.ref(m["emergency_clause"], "access.emergency_clause", "clause"),
            document_due_hours=self.integer(m["document_due_hours"], "access.document_due_hours", 1),
            usage_result_due_days=self.integer(m["usage_result_due_days"], "access.usage_result_due_days", 1),
            usage_result_clause=self.ref(m["usage_result_clause"], "access.usage_result_clause", "clause"),
            viewing_statuses=frozenset(self.refs(m["viewing_statuses"], "access.viewing_statuses", "incident_status")),
            attach_radius_m=self.integer(m["attach_radius_m"], "access.attach_radius_m", 1),
            emergency_situation_types=frozenset(
                self.refs(m["emergency_situation_types"], "access.emergency_situation_types", "situation")
            ),
            emergency_minutes=self.integer(m["emergency_minutes"], "access.emergency_minutes", 1),
            document_grace_hours=0 if grace is None else self.integer(grace, "access.document_grace_hours", 0),
            subject_request_alert_days=2
            if alert_days is None
            else self.integer(alert_days, "access.subject_request_alert_days", 0),
            deadline_alerts=() if alerts is None else self.deadline_alerts(alerts),
        )

    def deadline_alerts(self, node: Node) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """``access.deadline_alerts``: per deadline kind, the roles that must act (at least one)."""
        m = _Map(self, node, "access.deadline_alerts", (), tuple(DEADLINE_KINDS))
        out = []
        for kind in DEADLINE_KINDS:
            item = m.get(kind)
            if item is None:
                continue
            what = f"access.deadline_alerts.{kind}"
            roles = self.refs(item, what, "role")
            if not roles:
                self.fail(item, f"{what}: 역할이 하나 이상 있어야 합니다", f"{what}: name at least one role")
            out.append((kind, roles))
        return tuple(out)

    def staffing(self, node: Node) -> Staffing:
        m = _Map(self, node, "staffing", ("organisation", "role", "min_on_duty", "clause"), ("rules",))
        organisation = self.ref(m["organisation"], "staffing.organisation", "organisation")
        rules_node = m.get("rules")
        rules = () if rules_node is None else self.items(rules_node, "staffing.rules", self.staffing_rule)
        codes = [r.code for r in rules]
        if len(set(codes)) != len(codes):
            self.fail(rules_node, "staffing.rules: 규칙 코드가 중복됩니다", "staffing.rules: duplicate rule code")
        return Staffing(
            organisation=organisation,
            role=self.role_of(m["role"], "staffing.role", organisation),
            min_on_duty=self.integer(m["min_on_duty"], "staffing.min_on_duty", 0),
            clause=self.ref(m["clause"], "staffing.clause", "clause"),
            rules=rules,
        )

    def staffing_rule(self, node: Node, what: str) -> StaffingRule:
        m = _Map(
            self,
            node,
            what,
            ("code", "ko", "en", "organisation", "roles", "min_present", "grace_minutes", "clause"),
            ("hours",),
        )
        organisation = self.ref(m["organisation"], f"{what}.organisation", "organisation")
        roles = tuple(self.role_of(r, f"{what}.roles", organisation) for r in self.seq(m["roles"], f"{what}.roles"))
        if not roles:
            self.fail(
                m["roles"], f"{what}.roles: 역할이 하나 이상 있어야 합니다", f"{what}.roles: name at least one role"
            )
        hours = None
        hours_node = m.get("hours")
        if hours_node is not None and not self.is_null(hours_node):
            pair = self.seq(hours_node, f"{what}.hours")
            if len(pair) != 2:
                self.fail(
                    hours_node, f"{what}.hours: [시작, 끝] 두 값이어야 합니다", f"{what}.hours: give [start, end]"
                )
            start, end = (self.integer(h, f"{what}.hours", 0) for h in pair)
            if start > 23 or end > 24 or start == end:
                self.fail(
                    hours_node, f"{what}.hours: 0~24시 범위여야 합니다", f"{what}.hours: hours 0-24, start != end"
                )
            hours = (start, end)
        return StaffingRule(
            code=self.pattern(m["code"], f"{what}.code", _CODE),
            ko=self.text(m["ko"], f"{what}.ko"),
            en=self.text(m["en"], f"{what}.en"),
            organisation=organisation,
            roles=roles,
            min_present=self.integer(m["min_present"], f"{what}.min_present", 1),
            grace_minutes=self.integer(m["grace_minutes"], f"{what}.grace_minutes", 0),
            clause=self.ref(m["clause"], f"{what}.clause", "clause"),
            hours=hours,
        )

    def presence(self, node: Node | None) -> PresenceSettings | None:
        if node is None:
            return None
        m = _Map(self, node, "presence", ("room", "clause", "training_clause", "courses", "requirements"))
        courses = self.items(m["courses"], "presence.courses", self.course)
        known = {c.code for c in courses}
        requirements = self.items(m["requirements"], "presence.requirements", self.duty_requirement)
        for item, req in zip(self.seq(m["requirements"], "presence.requirements"), requirements, strict=True):
            unknown = [c for c in req.courses if c not in known]
            if unknown:
                self.fail(
                    item,
                    f"presence.requirements: 알 수 없는 과정 '{', '.join(unknown)}'",
                    f"presence.requirements: unknown course '{', '.join(unknown)}'",
                )
        return PresenceSettings(
            room=self.pattern(m["room"], "presence.room", _CODE),
            clause=self.ref(m["clause"], "presence.clause", "clause"),
            training_clause=self.ref(m["training_clause"], "presence.training_clause", "clause"),
            courses=courses,
            requirements=requirements,
        )

    def course(self, node: Node, what: str) -> Course:
        m = _Map(self, node, what, ("code", "ko", "en", "validity_months"))
        return Course(
            code=self.pattern(m["code"], f"{what}.code", _CODE),
            ko=self.text(m["ko"], f"{what}.ko"),
            en=self.text(m["en"], f"{what}.en"),
            validity_months=self.integer(m["validity_months"], f"{what}.validity_months", 1),
        )

    def duty_requirement(self, node: Node, what: str) -> DutyRequirement:
        m = _Map(self, node, what, ("role", "courses", "pledge"))
        return DutyRequirement(
            role=self.ref(m["role"], f"{what}.role", "role"),
            courses=tuple(self.text(c, f"{what}.courses") for c in self.seq(m["courses"], f"{what}.courses")),
            pledge=self.boolean(m["pledge"], f"{what}.pledge"),
        )

    def agents(self, node: Node | None) -> AgentRules | None:
        """``agents:`` — monitoring agents requested by the police and their replacement (Art. 9 ③ ④)."""
        if node is None:
            return None
        m = _Map(
            self,
            node,
            "agents",
            (
                "agent_roles",
                "request_roles",
                "decide_roles",
                "cost",
                "replacement_grounds",
                "request_clause",
                "replacement_clause",
            ),
            ("agent_sees_demands",),
        )
        c = _Map(self, m["cost"], "agents.cost", ("bearer", "clause"), ("monthly_cost_per_agent_krw",))
        cost_node = c.get("monthly_cost_per_agent_krw")
        grounds: list[ReplacementGround] = []
        for i, item in enumerate(self.seq(m["replacement_grounds"], "agents.replacement_grounds")):
            what = f"agents.replacement_grounds[{i}]"
            g = _Map(self, item, what, ("code", "ko", "en"))
            code = self.pattern(g["code"], f"{what}.code", _CODE)
            if any(x.code == code for x in grounds):
                self.fail(g["code"], f"{what}: 중복된 사유 '{code}'", f"{what}: duplicate ground '{code}'")
            grounds.append(ReplacementGround(code, self.text(g["ko"], f"{what}.ko"), self.text(g["en"], f"{what}.en")))
        if not grounds:
            self.fail(
                m["replacement_grounds"],
                "agents.replacement_grounds: 사유가 하나 이상 필요합니다",
                "agents.replacement_grounds: name at least one ground",
            )
        roles = {}
        for key in ("agent_roles", "request_roles", "decide_roles"):
            roles[key] = frozenset(self.refs(m[key], f"agents.{key}", "role"))
            if not roles[key]:
                self.fail(
                    m[key], f"agents.{key}: 역할이 하나 이상 있어야 합니다", f"agents.{key}: name at least one role"
                )
        sees = m.get("agent_sees_demands")
        return AgentRules(
            agent_roles=roles["agent_roles"],
            request_roles=roles["request_roles"],
            decide_roles=roles["decide_roles"],
            cost=AgentCost(
                bearer=self.ref(c["bearer"], "agents.cost.bearer", "organisation"),
                monthly_cost_per_agent_krw=(
                    None
                    if cost_node is None or self.is_null(cost_node)
                    else self.integer(cost_node, "agents.cost.monthly_cost_per_agent_krw", 0)
                ),
                clause=self.ref(c["clause"], "agents.cost.clause", "clause"),
            ),
            replacement_grounds=tuple(grounds),
            request_clause=self.ref(m["request_clause"], "agents.request_clause", "clause"),
            replacement_clause=self.ref(m["replacement_clause"], "agents.replacement_clause", "clause"),
            agent_sees_demands=False if sees is None else self.boolean(sees, "agents.agent_sees_demands"),
        )

    def rooms_access(self, node: Node | None, duty: Duty, permissions: tuple[Permission, ...]) -> RoomsAccess | None:
        """``rooms_access:`` — the doors of ``duty.rooms`` and the rules of 출입관리 (Annex 2)."""
        if node is None:
            return None
        m = _Map(
            self,
            node,
            "rooms_access",
            ("clause", "doors", "max_authorisation_days", "held_open_seconds", "visitors_need_escort"),
        )
        rooms = {r.code for r in duty.rooms}
        doors = self.items(m["doors"], "rooms_access.doors", lambda n, what: self.door(n, what, rooms))
        seen: set[str] = set()
        for item, door in zip(self.seq(m["doors"], "rooms_access.doors"), doors, strict=True):
            if door.device in seen:
                self.fail(
                    item,
                    f"rooms_access.doors: 출입문 장치 '{door.device}' 중복",
                    f"rooms_access.doors: door device '{door.device}' listed twice",
                )
            seen.add(door.device)
        if not any(t.system == "room_access" for s in duty.situations for t in s.triggers):
            self.fail(
                node,
                "rooms_access: 출입 이상(room_access)으로 발생하는 상황이 duty.situations에 없습니다"
                " (raised_by: [{system: room_access}])",
                "rooms_access: no situation in duty.situations is raised by the system trigger room_access"
                " (raised_by: [{system: room_access}])",
            )
        granting = next((p for p in permissions if p.code == "rooms.authorise"), None)
        if granting is None or not granting.roles:
            self.fail(
                node,
                "rooms_access: 출입 권한을 부여할 역할이 없습니다 (permissions.rooms.authorise)",
                "rooms_access: no role may grant entry (permissions.rooms.authorise)",
            )
        return RoomsAccess(
            clause=self.ref(m["clause"], "rooms_access.clause", "clause"),
            doors=doors,
            max_authorisation_days=self.integer(m["max_authorisation_days"], "rooms_access.max_authorisation_days", 1),
            held_open_seconds=self.integer(m["held_open_seconds"], "rooms_access.held_open_seconds", 1),
            visitors_need_escort=self.boolean(m["visitors_need_escort"], "rooms_access.visitors_need_escort"),
        )

    def maintenance(self, node: Node | None, permissions: tuple[Permission, ...]) -> Maintenance | None:
        """``maintenance:`` — the register of equipment, facilities and supplies (Art. 2 ④, 5, 6)."""
        if node is None:
            return None
        m = _Map(
            self,
            node,
            "maintenance",
            ("clause", "ownership_clause", "classes", "statuses", "default_status", "disposed_status", "camera_class"),
        )
        classes = self.choices(m["classes"], "maintenance.classes")
        statuses = self.choices(m["statuses"], "maintenance.statuses")
        picks = {}
        for key, among, label in (
            ("default_status", statuses, "statuses"),
            ("disposed_status", statuses, "statuses"),
            ("camera_class", classes, "classes"),
        ):
            code = self.pattern(m[key], f"maintenance.{key}", _CODE)
            if all(c.code != code for c in among):
                known = ", ".join(c.code for c in among)
                self.fail(
                    m[key],
                    f"maintenance.{key}: maintenance.{label}에 없는 코드 '{code}' (정의된 코드: {known})",
                    f"maintenance.{key}: '{code}' is not in maintenance.{label} (defined: {known})",
                )
            picks[key] = code
        if picks["default_status"] == picks["disposed_status"]:
            self.fail(
                m["disposed_status"],
                "maintenance.disposed_status: 새 품목의 상태(default_status)와 같을 수 없습니다",
                "maintenance.disposed_status: cannot be the status of a new item (default_status)",
            )
        managing = next((p for p in permissions if p.code == "equipment.manage"), None)
        if managing is None or not managing.roles:
            self.fail(
                node,
                "maintenance: 장비 관리대장을 관리할 역할이 없습니다 (permissions.equipment.manage)",
                "maintenance: no role keeps the equipment register (permissions.equipment.manage)",
            )
        return Maintenance(
            clause=self.ref(m["clause"], "maintenance.clause", "clause"),
            ownership_clause=self.ref(m["ownership_clause"], "maintenance.ownership_clause", "clause"),
            classes=classes,
            statuses=statuses,
            default_status=picks["default_status"],
            disposed_status=picks["disposed_status"],
            camera_class=picks["camera_class"],
        )

    def choices(self, node: Node, what: str) -> tuple[Choice, ...]:
        result: list[Choice] = []
        for i, item in enumerate(self.seq(node, what)):
            here = f"{what}[{i}]"
            c = _Map(self, item, here, ("code", "ko", "en"))
            code = self.pattern(c["code"], f"{here}.code", _CODE)
            if any(x.code == code for x in result):
                self.fail(c["code"], f"{here}: 중복된 코드 '{code}'", f"{here}: duplicate code '{code}'")
            result.append(Choice(code, self.text(c["ko"], f"{here}.ko"), self.text(c["en"], f"{here}.en")))
        if not result:
            self.fail(node, f"{what}: 하나 이상 필요합니다", f"{what}: name at least one")
        return tuple(result)

    def door(self, node: Node, what: str, rooms: set[str]) -> Door:
        m = _Map(self, node, what, ("device", "room", "ko", "en"))
        room = self.text(m["room"], f"{what}.room")
        if room not in rooms:
            self.fail(
                m["room"],
                f"{what}.room: duty.rooms에 없는 실 '{room}' (정의된 실: {', '.join(sorted(rooms)) or '-'})",
                f"{what}.room: room '{room}' is not in duty.rooms (defined: {', '.join(sorted(rooms)) or '-'})",
            )
        return Door(
            device=self.pattern(m["device"], f"{what}.device", _DEVICE),
            room=room,
            ko=self.text(m["ko"], f"{what}.ko"),
            en=self.text(m["en"], f"{what}.en"),
        )

    def handover(self, node: Node | None) -> HandoverRules | None:
        """``handover:`` — who leads each organisation's shift (signs its duty log, hands it over)."""
        if node is None:
            return None
        m = _Map(self, node, "handover", ("leaders", "clause"), ("read_all",))
        leaders = self.items(m["leaders"], "handover.leaders", self.shift_leaders)
        seen: set[str] = set()
        for item_node, entry in zip(self.seq(m["leaders"], "handover.leaders"), leaders):
            if entry.organisation in seen:
                self.fail(
                    item_node,
                    f"handover.leaders: 기관 '{entry.organisation}' 중복",
                    f"handover.leaders: organisation '{entry.organisation}' listed twice",
                )
            seen.add(entry.organisation)
        read_all = m.get("read_all")
        return HandoverRules(
            leaders=leaders,
            read_all=self.refs(read_all, "handover.read_all", "role") if read_all is not None else (),
            clause=self.ref(m["clause"], "handover.clause", "clause"),
        )

    def shift_leaders(self, node: Node, what: str) -> ShiftLeaders:
        m = _Map(self, node, what, ("organisation", "roles"))
        organisation = self.ref(m["organisation"], f"{what}.organisation", "organisation")
        roles = tuple(self.role_of(r, f"{what}.roles", organisation) for r in self.seq(m["roles"], f"{what}.roles"))
        if not roles:
            self.fail(m["roles"], f"{what}.roles: 비어 있습니다", f"{what}.roles: is empty")
        return ShiftLeaders(organisation=organisation, roles=roles)

    # ---- roster (gwanje.center.roster) ----------------------------------------------------------

    def roster(self, node: Node | None, permissions: tuple[Permission, ...]) -> RosterRules | None:
        if node is None:
            return None
        m = _Map(self, node, "roster", ("clause", "codes", "patterns", "managers"))
        codes = self.items(m["codes"], "roster.codes", self.shift_code)
        seen: set[str] = set()
        for item, code in zip(self.seq(m["codes"], "roster.codes"), codes):
            if code.code in seen:
                self.fail(
                    item, f"roster.codes: 중복된 근무 코드 '{code.code}'", f"roster.codes: duplicate code '{code.code}'"
                )
            seen.add(code.code)
        patterns = tuple(
            self.shift_pattern(item, f"roster.patterns[{i}]", seen)
            for i, item in enumerate(self.seq(m["patterns"], "roster.patterns"))
        )
        managers_node = m["managers"]
        if not isinstance(managers_node, MappingNode):
            self.fail(managers_node, "roster.managers: 매핑이어야 합니다", "roster.managers: expected a mapping")
        holders = next((p.roles for p in permissions if p.code == "roster.manage"), frozenset())
        managers = []
        for key_node, value_node in managers_node.value:
            org = self.ref(key_node, "roster.managers", "organisation")
            roles = self.refs(value_node, f"roster.managers.{org}", "role")
            for role, item in zip(roles, self.seq(value_node, f"roster.managers.{org}")):
                if role not in holders:
                    self.fail(
                        item,
                        f"roster.managers.{org}: 역할 '{role}'에 roster.manage 권한이 없습니다",
                        f"roster.managers.{org}: role '{role}' does not hold roster.manage",
                    )
            managers.append((org, roles))
        return RosterRules(
            clause=self.ref(m["clause"], "roster.clause", "clause"),
            codes=codes,
            patterns=patterns,
            managers=tuple(managers),
        )

    def shift_code(self, node: Node, what: str) -> ShiftCode:
        m = _Map(self, node, what, ("code", "ko", "en"), ("start", "end", "colour"))
        start, end = m.get("start"), m.get("end")
        if (start is None) != (end is None):
            self.fail(node, f"{what}: start와 end는 함께 씁니다", f"{what}: give both start and end, or neither")
        colour = m.get("colour")
        return ShiftCode(
            code=self.text(m["code"], f"{what}.code").strip(),
            ko=self.text(m["ko"], f"{what}.ko"),
            en=self.text(m["en"], f"{what}.en"),
            start=None if start is None else self.clock_time(start, f"{what}.start"),
            end=None if end is None else self.clock_time(end, f"{what}.end"),
            colour="#888888" if colour is None else self.text(colour, f"{what}.colour"),
        )

    def shift_pattern(self, node: Node, what: str, codes: set[str]) -> ShiftPattern:
        m = _Map(self, node, what, ("code", "ko", "en", "cycle", "teams", "team_offset_days", "epoch"))
        cycle = tuple(self.text(item, f"{what}.cycle") for item in self.seq(m["cycle"], f"{what}.cycle"))
        for item, code in zip(self.seq(m["cycle"], f"{what}.cycle"), cycle):
            if code not in codes:
                self.fail(
                    item, f"{what}.cycle: 알 수 없는 근무 코드 '{code}'", f"{what}.cycle: unknown shift code '{code}'"
                )
        if not cycle:
            self.fail(m["cycle"], f"{what}.cycle: 비어 있습니다", f"{what}.cycle: empty")
        teams = tuple(self.text(item, f"{what}.teams") for item in self.seq(m["teams"], f"{what}.teams"))
        if not teams:
            self.fail(m["teams"], f"{what}.teams: 비어 있습니다", f"{what}.teams: empty")
        return ShiftPattern(
            code=self.text(m["code"], f"{what}.code"),
            ko=self.text(m["ko"], f"{what}.ko"),
            en=self.text(m["en"], f"{what}.en"),
            cycle=cycle,
            teams=teams,
            team_offset_days=self.integer(m["team_offset_days"], f"{what}.team_offset_days", 0),
            epoch=self.calendar_date(m["epoch"], f"{what}.epoch"),
        )

    def retention(self, node: Node) -> Retention:
        m = _Map(self, node, "retention", ("default_days", "clause"))
        return Retention(
            default_days=self.integer(m["default_days"], "retention.default_days", 1),
            clause=self.ref(m["clause"], "retention.clause", "clause"),
        )

    def security(self, node: Node) -> Security:
        keys = (
            "session_idle_timeout_minutes",
            "session_absolute_hours",
            "throttle_after_failed_logins",
            "throttle_source_after_failed_logins",
            "throttle_base_seconds",
            "throttle_max_seconds",
            "failure_memory_minutes",
            "token_default_hours",
            "token_max_days",
        )
        m = _Map(self, node, "security", (*keys, "clause"))
        values = {key: self.integer(m[key], f"security.{key}", 1) for key in keys}
        if values["throttle_max_seconds"] < values["throttle_base_seconds"]:
            self.fail(
                m["throttle_max_seconds"],
                "security.throttle_max_seconds: throttle_base_seconds 이상이어야 합니다",
                "security.throttle_max_seconds: must be at least throttle_base_seconds",
            )
        if values["token_default_hours"] > values["token_max_days"] * 24:
            self.fail(
                m["token_default_hours"],
                "security.token_default_hours: token_max_days를 넘을 수 없습니다",
                "security.token_default_hours: must not exceed token_max_days",
            )
        if values["session_absolute_hours"] * 60 < values["session_idle_timeout_minutes"]:
            self.fail(
                m["session_absolute_hours"],
                "security.session_absolute_hours: 유휴 제한시간보다 짧을 수 없습니다",
                "security.session_absolute_hours: must not be shorter than the idle timeout",
            )
        return Security(**values, clause=self.ref(m["clause"], "security.clause", "clause"))

    def standard_data(self, node: Node) -> StandardData:
        m = _Map(self, node, "standard_data", ("purpose_map", "organisation_rules", "default_organisation"))
        what = "standard_data.purpose_map"
        if not isinstance(m["purpose_map"], MappingNode):
            self.fail(m["purpose_map"], f"{what}: 매핑이어야 합니다", f"{what}: expected a mapping")
        purpose_map: dict[str, str] = {}
        for key_node, value_node in m["purpose_map"].value:
            text = self.text(key_node, what).replace(" ", "")
            if text in purpose_map:
                self.fail(key_node, f"{what}: 중복된 설치목적구분 '{text}'", f"{what}: duplicate purpose text '{text}'")
            purpose_map[text] = self.ref(value_node, f"{what}.{text}", "purpose")
        rules = []
        for i, item in enumerate(self.seq(m["organisation_rules"], "standard_data.organisation_rules")):
            where = f"standard_data.organisation_rules[{i}]"
            rule = _Map(self, item, where, ("contains", "organisation"))
            rules.append(
                (
                    self.text(rule["contains"], f"{where}.contains"),
                    self.ref(rule["organisation"], f"{where}.organisation", "organisation"),
                )
            )
        return StandardData(
            purpose_map=FrozenMap(purpose_map),
            organisation_rules=tuple(rules),
            default_organisation=self.ref(
                m["default_organisation"], "standard_data.default_organisation", "organisation"
            ),
        )

    def map_settings(self, node: Node) -> MapSettings:
        m = _Map(self, node, "map", ("boundary",), ("neighbourhoods", "neighbourhood_names"))
        neighbourhoods = m.get("neighbourhoods")
        names: dict[str, str] = {}
        names_node = m.get("neighbourhood_names")
        if names_node is not None:
            if neighbourhoods is None or self.is_null(neighbourhoods):
                self.fail(
                    names_node,
                    "map.neighbourhood_names: map.neighbourhoods 없이는 쓸 수 없습니다",
                    "map.neighbourhood_names: needs map.neighbourhoods",
                )
            labels = _Map(self, names_node, "map.neighbourhood_names", ("ko",), ("en",))
            names = {lang: self.text(labels[lang], f"map.neighbourhood_names.{lang}") for lang in labels.values}
            self.check_label_property(names_node, self.map_name(neighbourhoods, "map.neighbourhoods"), names["ko"])
        return MapSettings(
            boundary=self.map_name(m["boundary"], "map.boundary"),
            neighbourhoods=None
            if neighbourhoods is None or self.is_null(neighbourhoods)
            else self.map_name(neighbourhoods, "map.neighbourhoods"),
            neighbourhood_names=FrozenMap(names),
        )

    def check_label_property(self, node: Node, name: str, prop: str) -> None:
        """Every neighbourhood must carry its Korean label, or the map would draw blank names."""
        path = resolve_map_file(name, self.source)
        if not path.is_file():
            return  # a relative file of a policy given as text: checked when the map asks for it
        try:
            features = json.loads(path.read_text(encoding="utf-8")).get("features") or []
        except (OSError, ValueError, AttributeError):
            self.fail(
                node, f"map.neighbourhoods: GeoJSON이 아닙니다: {path}", f"map.neighbourhoods: not GeoJSON: {path}"
            )
        unnamed = sum(1 for f in features if not isinstance(((f or {}).get("properties") or {}).get(prop), str))
        if unnamed:
            self.fail(
                node,
                f"map.neighbourhood_names.ko: 속성 '{prop}'이 없는 동이 {unnamed}곳 있습니다",
                f"map.neighbourhood_names.ko: {unnamed} neighbourhood(s) lack the property '{prop}'",
            )

    def map_name(self, node: Node, what: str) -> str:
        name = self.text(node, what)
        try:
            path = resolve_map_file(name, self.source)
        except ValueError:
            self.fail(
                node,
                f"{what}: 잘못된 파일 이름 {name!r} (상위 폴더 '..'나 절대 경로는 쓸 수 없습니다)",
                f"{what}: bad file name {name!r} (no '..' and no absolute path)",
            )
        # A bare name must be shipped; a relative one is checked when the policy came from a file.
        if (len(PurePath(name).parts) == 1 or os.path.isfile(self.source)) and not path.is_file():
            self.fail(node, f"{what}: 파일이 없습니다: {path}", f"{what}: no such file: {path}")
        return name

    def demo_accounts(self, node: Node | None, departments: tuple[Department, ...]) -> tuple[DemoAccount, ...]:
        if node is None:
            return ()
        organisation_of = {d.code: d.organisation for d in departments}
        accounts = []
        seen: set[str] = set()
        for i, item in enumerate(self.seq(node, "demo_accounts")):
            what = f"demo_accounts[{i}]"
            m = _Map(self, item, what, ("username", "display_name", "role"), ("department",))
            username = self.pattern(m["username"], f"{what}.username", _CODE)
            if username in seen:
                self.fail(
                    m["username"], f"{what}: 중복된 사용자 '{username}'", f"{what}: duplicate username '{username}'"
                )
            seen.add(username)
            role = self.ref(m["role"], f"{what}.role", "role")
            dept_node = m.get("department")
            department = None if dept_node is None else self.opt_ref(dept_node, f"{what}.department", "department")
            if department is not None and organisation_of[department] != self.role_orgs[role]:
                self.fail(
                    dept_node,  # type: ignore[arg-type]
                    f"{what}.department: 부서 '{department}'{particle(department, '은/는')} "
                    f"역할 '{role}'의 기관 소속이 아닙니다",
                    f"{what}.department: department '{department}' is not of role '{role}''s organisation",
                )
            accounts.append(
                DemoAccount(
                    username=username,
                    display_name=self.text(m["display_name"], f"{what}.display_name"),
                    role=role,
                    department=department,
                )
            )
        return tuple(accounts)


def _keyword(node: Node) -> str | None:
    """The value of a plain string scalar (for `all` / `own_department`), else None."""
    if isinstance(node, ScalarNode) and node.tag == _TAG + "str":
        return node.value
    return None


def _with_annex_purposes(department: Department, annex1: tuple[Annex1Row, ...]) -> Department:
    rows = [row for row in annex1 if row.department == department.code]
    primary = tuple(dict.fromkeys(row.primary_purpose for row in rows))
    secondary = tuple(dict.fromkeys(p for row in rows for p in row.secondary_purposes if p not in primary))
    return Department(
        code=department.code,
        ko=department.ko,
        en=department.en,
        organisation=department.organisation,
        primary_purposes=primary,
        secondary_purposes=secondary,
    )
