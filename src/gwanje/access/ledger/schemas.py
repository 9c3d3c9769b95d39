"""Request and response models of the ledgers."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, StringConstraints

from gwanje.access.models import LedgerEntry
from gwanje.access.rules import id_list
from gwanje.access.schemas import Timestamp
from gwanje.core.schemas import Instant, StrictModel

Text = Annotated[str, StringConstraints(max_length=2000)]


class LedgerEntryRead(BaseModel):
    """One row of 개인영상정보 관리대장 (use, provision, viewing or destruction)."""

    id: int
    kind: str
    recorded_at: Timestamp
    recipient: str | None
    recipient_organisation: str | None
    purpose: str | None
    legal_ground: str | None
    items: str
    camera_ids: list[int]
    period_start: Timestamp | None
    period_end: Timestamp | None
    occurred_at: Timestamp
    retention_until: Timestamp | None
    method: str
    handler_name: str
    reference_type: str | None
    reference_id: str | None
    clause: str | None
    audit_seq: int | None
    corrects_id: int | None
    correction_reason: str | None

    @classmethod
    def of(cls, e: LedgerEntry) -> "LedgerEntryRead":
        return cls(
            id=e.id,
            kind=e.kind,
            recorded_at=e.recorded_at,
            recipient=e.recipient,
            recipient_organisation=e.recipient_organisation,
            purpose=e.purpose,
            legal_ground=e.legal_ground,
            items=e.items,
            camera_ids=id_list(e.camera_ids),
            period_start=e.period_start,
            period_end=e.period_end,
            occurred_at=e.occurred_at,
            retention_until=e.retention_until,
            method=e.method,
            handler_name=e.handler_name,
            reference_type=e.reference_type,
            reference_id=e.reference_id,
            clause=e.clause,
            audit_seq=e.audit_seq,
            corrects_id=e.corrects_id,
            correction_reason=e.correction_reason,
        )


class LedgerCorrectionCreate(StrictModel):
    """A correction: the reason and the fields that change (the others are copied from the row)."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    recipient: Annotated[str, StringConstraints(max_length=200)] | None = None
    recipient_organisation: Annotated[str, StringConstraints(max_length=120)] | None = None
    purpose: Annotated[str, StringConstraints(max_length=40)] | None = None
    legal_ground: Annotated[str, StringConstraints(max_length=200)] | None = None
    items: Text | None = None
    period_start: Instant | None = None
    period_end: Instant | None = None
    occurred_at: Instant | None = None
    retention_until: Instant | None = None
    method: Annotated[str, StringConstraints(max_length=40)] | None = None
