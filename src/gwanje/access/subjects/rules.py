"""Pure rules of data-subject requests (PIPA Art. 35): the state machine, the 10-day deadline and
the only lawful grounds to refuse. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from gwanje.access.choices import InvalidRefusalReason, SubjectRefusalReason, SubjectStatus
from gwanje.access.rules import PIPA_35, check_code, transition
from gwanje.core.errors import ValidationFailed

SUBJECT_TRANSITIONS: Mapping[tuple[str, str], str] = {
    ("received", "provide"): "provided",
    ("received", "delay"): "delayed",
    ("received", "refuse"): "refused",
    ("delayed", "provide"): "provided",
    ("delayed", "refuse"): "refused",
}

# The outcome a handler records, and the state-machine action it is.
OUTCOME_ACTIONS: Mapping[str, str] = {"provided": "provide", "delayed": "delay", "refused": "refuse"}

# Requests still waiting for their outcome.
OPEN_STATUSES = frozenset({"received", "delayed"})

SUBJECT_DUE_DAYS = 10  # PIPA Art. 35 ③ and enforcement decree Art. 41 ④


def subject_next(status: str, action: str) -> str:
    return transition(SUBJECT_TRANSITIONS, SubjectStatus, status, action, "열람 청구", "subject request")


def check_refusal_reason(code: str) -> str:
    choice = InvalidRefusalReason.get(code)
    if choice is not None:
        raise ValidationFailed(
            choice.ko,
            choice.en,
            field="reason",
            clause=PIPA_35,
            details={"allowed": sorted(SubjectRefusalReason.codes())},
        )
    return check_code(SubjectRefusalReason, code, "reason", "거절 사유", "refusal reason")


def subject_due_at(received_at: datetime) -> datetime:
    return received_at + timedelta(days=SUBJECT_DUE_DAYS)
