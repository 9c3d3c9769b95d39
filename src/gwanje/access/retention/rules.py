"""Retention: when a recording or export must be destroyed. Pure; the video side deletes files.

A hold (``RetentionHold`` or any object with ``released_at``) on a recorded legal basis keeps an
object past its period; released holds do not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class DestructionDecision:
    due: bool
    expires_at: datetime
    held_by: tuple[Any, ...] = ()
    reason_ko: str = ""
    reason_en: str = ""
    clause: str = "policy-retention"

    def __bool__(self) -> bool:
        return self.due


def _aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: 시간대 없는 시각은 받지 않습니다 / naive datetime refused: {value!r}")


def due_for_destruction(
    created_at: datetime, retention_days: int, holds: Iterable[Any], now: datetime
) -> DestructionDecision:
    """Due strictly after ``created_at + retention_days`` unless an unreleased hold applies."""
    _aware(created_at, "created_at")
    _aware(now, "now")
    if retention_days < 1:
        raise ValueError(f"retention_days must be >= 1, got {retention_days}")
    expires = created_at + timedelta(days=retention_days)
    active = tuple(h for h in holds if getattr(h, "released_at", None) is None)
    if now <= expires:
        return DestructionDecision(False, expires, active, "보관기간 이내", "within the retention period")
    if active:
        return DestructionDecision(
            False, expires, active, "법적 근거에 따른 보존 조치 중", "held on a recorded legal basis"
        )
    return DestructionDecision(
        True, expires, (), f"보관기간 {retention_days}일 경과", f"retention period of {retention_days} days has passed"
    )
