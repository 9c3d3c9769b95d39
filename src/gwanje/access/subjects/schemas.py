"""Request and response models of data-subject requests (PIPA Art. 35)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from gwanje.access.choices import SubjectDelayReason, SubjectRefusalReason, SubjectStatus
from gwanje.access.models import SubjectRequest
from gwanje.access.rules import MAX_CAMERAS, id_list
from gwanje.access.schemas import Timestamp
from gwanje.core.clock import utcnow
from gwanje.core.schemas import Id, Instant, StrictModel
from gwanje.policy import decisions

Text = Annotated[str, StringConstraints(max_length=2000)]


class Label(BaseModel):
    ko: str
    en: str


class SubjectRequestCreate(StrictModel):
    """Intake after the handling officer checked the requester's identity."""

    requester_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    requester_contact: Annotated[str, StringConstraints(max_length=200)] | None = None
    identity_method: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    camera_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_CAMERAS)]
    period_start: Instant
    period_end: Instant
    description: Text | None = None
    received_at: Instant | None = None


class SubjectRequestDecision(StrictModel):
    outcome: Literal["provided", "delayed", "refused"]
    reason: Annotated[str, StringConstraints(max_length=40)] | None = None
    note: Text | None = None
    method: Literal["viewing_in_person", "copy"] = "viewing_in_person"


class SubjectRequestRead(BaseModel):
    """A viewing request and where it stands; ``overdue`` once the 10 days passed undecided."""

    id: int
    status: str
    status_label: Label
    requester_name: str
    requester_contact: str | None
    identity_method: str
    identity_verified_by: str
    identity_verified_at: Timestamp
    camera_ids: list[int]
    period_start: Timestamp
    period_end: Timestamp
    description: str | None
    received_at: Timestamp
    due_at: Timestamp
    overdue: bool
    outcome_reason: str | None
    outcome_reason_label: Label | None
    outcome_note: str | None
    mask_others: bool
    decided_by: str | None
    decided_at: Timestamp | None

    @classmethod
    def of(cls, s: SubjectRequest, now: datetime | None = None) -> "SubjectRequestRead":
        now = now or utcnow()
        reason = SubjectRefusalReason.get(s.outcome_reason or "") or SubjectDelayReason.get(s.outcome_reason or "")
        ko, en = SubjectStatus.labels(s.status)
        return cls(
            id=s.id,
            status=s.status,
            status_label=Label(ko=ko, en=en),
            requester_name=s.requester_name,
            requester_contact=s.requester_contact,
            identity_method=s.identity_method,
            identity_verified_by=s.identity_verified_by_name,
            identity_verified_at=s.identity_verified_at,
            camera_ids=id_list(s.camera_ids),
            period_start=s.period_start,
            period_end=s.period_end,
            description=s.description,
            received_at=s.received_at,
            due_at=s.due_at,
            overdue=s.status == "received" and decisions.is_overdue(s.due_at, now),
            outcome_reason=s.outcome_reason,
            outcome_reason_label=Label(ko=reason.ko, en=reason.en) if reason is not None else None,
            outcome_note=s.outcome_note,
            mask_others=s.mask_others,
            decided_by=s.decided_by_name,
            decided_at=s.decided_at,
        )
