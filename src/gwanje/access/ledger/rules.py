"""Pure ledger rules: which columns a correction may change, and how a correction is checked. No I/O.

Rows are never changed: the database refuses UPDATE and DELETE on ``ledger_entries``. A correction
is a new row naming the row it corrects and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gwanje.access.choices import LedgerMethod, LegalGround
from gwanje.access.rules import clause_label, clause_text
from gwanje.core.errors import ValidationFailed
from gwanje.policy.model import Policy

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


_CLAUSE_PART = re.compile(r"^\[([^\]]+)\] ")


def legal_ground_shown(policy: Policy, legal_ground: str | None, lang: str) -> str | None:
    """The 법적 근거 column in ``lang``. A row stores it in Korean, as printed: ``[clause] 조항`` and
    the Korean labels of the legal grounds, joined by "; ". In English each part the policy or the
    closed list of grounds wrote is shown in English; anything else (a correction's free text) as stored.
    """
    if not legal_ground or lang != "en":
        return legal_ground
    grounds = {c.ko: c.en for c in LegalGround}
    shown = []
    for part in legal_ground.split("; "):
        match = _CLAUSE_PART.match(part)
        if match and part == clause_label(policy, match.group(1)):
            part = f"[{match.group(1)}] {clause_text(policy, match.group(1))['en']}"
        else:
            part = grounds.get(part, part)
        shown.append(part)
    return "; ".join(shown)


def organisation_shown(policy: Policy, name_ko: str | None, lang: str) -> str | None:
    """The recipient's organisation (stored by its Korean name, as printed) in ``lang``."""
    if not name_ko or lang != "en":
        return name_ko
    return next((o.name_en for o in policy.organisations if o.name_ko == name_ko), name_ko)
