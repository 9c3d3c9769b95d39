"""Pure access rules shared by its parts: closed lists, periods, state-machine transitions, who sees
whose records, and how clauses and cameras are written into the ledgers. No I/O.

Each part with its own state machine keeps its table in its own ``rules.py``
(:mod:`gwanje.access.provisions.rules`, :mod:`gwanje.access.subjects.rules`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from gwanje.korean import particle, with_particle
from gwanje.core.choices import ChoiceSet
from gwanje.core.errors import Conflict, ValidationFailed
from gwanje.policy.model import Policy

PIPA_18_2 = "pipa-18-2"
PIPA_35 = "pipa-35"
RETENTION_CLAUSE = "policy-retention"
LEDGER_CLAUSE = "pipa-ledger"

MAX_CAMERAS = 200  # cameras per request


def check_code(choices: type[ChoiceSet], code: str, field: str, what_ko: str, what_en: str) -> str:
    if code not in choices:
        raise ValidationFailed(
            f"허용되지 않는 {what_ko}: {code}",
            f"{what_en} not allowed: {code}",
            field=field,
            details={"allowed": sorted(choices.codes())},
        )
    return code


def check_period(start: datetime, end: datetime, *, max_days: int = 31) -> None:
    if end <= start:
        raise ValidationFailed(
            "기간의 끝이 시작보다 뒤여야 합니다", "the period must end after it starts", field="period_end"
        )
    if end - start > timedelta(days=max_days):
        raise ValidationFailed(
            f"기간은 {max_days}일 이내여야 합니다", f"the period may not exceed {max_days} days", field="period_end"
        )


def check_reason(text: str | None, field: str = "reason") -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("사유를 입력하세요", "give a reason", field=field)
    return text


def check_camera_count(camera_ids: Iterable[int]) -> list[int]:
    """The distinct cameras of a request, in id order: at least one, at most :data:`MAX_CAMERAS`."""
    ids = sorted(set(camera_ids))
    if not ids:
        raise ValidationFailed("CCTV를 하나 이상 지정하세요", "name at least one camera", field="camera_ids")
    if len(ids) > MAX_CAMERAS:
        raise ValidationFailed(
            f"한 번에 {MAX_CAMERAS}대까지 요청할 수 있습니다",
            f"at most {MAX_CAMERAS} cameras per request",
            field="camera_ids",
        )
    return ids


def transition(
    table: Mapping[tuple[str, str], str], labels: type[ChoiceSet], status: str, action: str, what_ko: str, what_en: str
) -> str:
    """The state a declared ``(status, action)`` leads to; any other move is a Conflict naming the allowed ones."""
    try:
        return table[(status, action)]
    except KeyError:
        s_ko, s_en = labels.labels(status)
        raise Conflict(
            f"{with_particle(what_ko, '이/가')} '{s_ko}' 상태여서 '{action}'{particle(action, '을/를')} 할 수 없습니다",
            f"cannot {action} a {what_en} that is {s_en}",
            field="status",
            details={"status": status, "action": action, "allowed": sorted(a for (s, a) in table if s == status)},
        ) from None


def visible_organisation(policy: Policy, organisation: str) -> str | None:
    """Whose requests a member of ``organisation`` sees: the operator every organisation's (None),
    others only their own (Art. 9 ①: the operator runs the center)."""
    return None if organisation == policy.operator else organisation


def sees_all_records(policy: Policy, organisation: str) -> bool:
    return visible_organisation(policy, organisation) is None


def clause_text(policy: Policy, clause: str) -> dict[str, str]:
    """``{"ko": …, "en": …}`` of a clause; an unknown id stands for itself."""
    try:
        c = policy.clause(clause)
    except LookupError:
        return {"ko": clause, "en": clause}
    return {"ko": c.ko, "en": c.en}


def clause_label(policy: Policy, clause: str) -> str:
    """The legal ground as the ledger prints it: ``[id] Korean text``."""
    return f"[{clause}] {clause_text(policy, clause)['ko']}"[:200]


def items_text(cameras: Iterable[Any]) -> str:
    """The ledger's 대상 column: the cameras' management numbers, in id order."""
    names = ", ".join(c.management_number for c in sorted(cameras, key=lambda c: c.id))
    return f"CCTV {names}"[:2000]


def ids_text(camera_ids: Iterable[int]) -> str:
    """Camera ids as stored in a text column: ``,1,2,`` (so ``LIKE '%,2,%'`` finds one)."""
    ids = sorted({int(c) for c in camera_ids})
    return "," + ",".join(str(i) for i in ids) + ("," if ids else "")


def id_list(text: str) -> list[int]:
    return [int(c) for c in text.split(",") if c]
