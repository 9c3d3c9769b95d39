"""Pure ledger rules: which columns a correction may change, and how a correction is checked. No I/O.

Rows are never changed: the database refuses UPDATE and DELETE on ``ledger_entries``. A correction
is a new row naming the row it corrects and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gwanje.access.choices import LedgerMethod
from gwanje.core.errors import ValidationFailed

CORRECTABLE = (
    "recipient",
    "recipient_organisation",
    "purpose",
    "legal_ground",
    "items",
    "period_start",
    "period_end",
    "occurred_at",
    "retention_until",
    "method",
)


def check_correction(changes: Mapping[str, Any], reason: str | None) -> str:
    """The reason, stripped; refuses an empty reason, fields that cannot change and unknown methods."""
    if not reason or not reason.strip():
        raise ValidationFailed("정정 사유를 입력하세요", "give the reason for the correction", field="reason")
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        raise ValidationFailed(
            f"정정할 수 없는 항목: {', '.join(unknown)}",
            f"fields that cannot be corrected: {', '.join(unknown)}",
            field="changes",
        )
    if not changes:
        raise ValidationFailed("정정할 내용이 없습니다", "nothing to correct", field="changes")
    if "method" in changes and changes["method"] not in LedgerMethod:
        raise ValidationFailed(
            f"알 수 없는 방법: {changes['method']}", f"unknown method: {changes['method']}", field="method"
        )
    return reason.strip()
