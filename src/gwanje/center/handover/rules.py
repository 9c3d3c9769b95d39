"""Pure duty-log and handover rules: the handover's state machine as a table, what a signed log
refuses, and the canonical content hash that makes an edit after signing detectable. No I/O."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gwanje.core.errors import Conflict, ValidationFailed

MAX_ENTRY_CHARS = 4000
MAX_NOTES = 50

HANDOVER_TRANSITIONS: Mapping[tuple[str, str], str] = {
    ("draft", "offer"): "offered",
    ("offered", "withdraw"): "draft",
    ("offered", "acknowledge"): "acknowledged",
}

ACTION_NAMES: Mapping[str, tuple[str, str]] = {
    "offer": ("인계", "offer"),
    "withdraw": ("인계 철회", "withdraw"),
    "acknowledge": ("인수 확인", "acknowledge"),
}


def next_status(status: str, action: str) -> str:
    """The handover's state after ``action``, or a 409 naming the state it is in."""
    try:
        return HANDOVER_TRANSITIONS[(status, action)]
    except KeyError:
        ko, en = ACTION_NAMES.get(action, (action, action))
        raise Conflict(
            f"'{status}' 상태의 인수인계는 {ko}할 수 없습니다",
            f"a handover in state '{status}' cannot {en}",
            field="status",
            details={"status": status, "action": action},
        ) from None


def refuse_if_signed(status: str) -> None:
    """A signed duty log is closed: nothing is added, changed or removed (409)."""
    if status == "signed":
        raise Conflict(
            "서명된 근무일지는 변경할 수 없습니다",
            "the duty log is signed and can no longer be changed",
            field="status",
        )


def check_text(text: str | None, field: str = "text", limit: int = MAX_ENTRY_CHARS) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("내용을 입력하세요", "write something", field=field)
    if len(text) > limit:
        raise ValidationFailed(f"{limit}자 이내로 입력하세요", f"at most {limit} characters", field=field)
    return text


def check_shift(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed(
            "근무 종료가 시작보다 뒤여야 합니다", "the shift must end after it starts", field="period_end"
        )
    if (end - start).total_seconds() > 24 * 3600:
        raise ValidationFailed("근무는 24시간 이내여야 합니다", "a shift may not exceed 24 hours", field="period_end")


def instant(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return instant(value)
    if isinstance(value, Mapping):
        return {str(k): _norm(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    return value


def canonical_json(
    log: Mapping[str, Any], entries: Sequence[Mapping[str, Any]], items: Sequence[Mapping[str, Any]]
) -> bytes:
    """The log, its entries and its handover items as one canonical JSON document: keys sorted, no
    spaces, times in UTC with microseconds, entries and items in the order given (by id/position)."""
    document = {"log": _norm(log), "entries": _norm(list(entries)), "handover_items": _norm(list(items))}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_hash(
    log: Mapping[str, Any], entries: Sequence[Mapping[str, Any]], items: Sequence[Mapping[str, Any]]
) -> str:
    """SHA-256 (hex) of :func:`canonical_json`."""
    return hashlib.sha256(canonical_json(log, entries, items)).hexdigest()
