"""Request and response models of retention holds."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints

from gwanje.access.models import RetentionHold
from gwanje.access.schemas import Timestamp
from gwanje.core.schemas import StrictModel


class HoldCreate(StrictModel):
    object_type: Literal["recording", "export", "camera"]
    object_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    legal_basis: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    request_number: Annotated[str, StringConstraints(max_length=100)] | None = None


class HoldRelease(StrictModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class HoldRead(BaseModel):
    """A hold that keeps a recording, an export or a whole camera past its retention period."""

    id: int
    object_type: str
    object_id: str
    legal_basis: str
    request_number: str | None
    placed_by: str
    placed_at: Timestamp
    released_at: Timestamp | None
    released_by: str | None
    release_reason: str | None

    @classmethod
    def of(cls, h: RetentionHold) -> "HoldRead":
        return cls(
            id=h.id,
            object_type=h.object_type,
            object_id=h.object_id,
            legal_basis=h.legal_basis,
            request_number=h.request_number,
            placed_by=h.placed_by_name,
            placed_at=h.placed_at,
            released_at=h.released_at,
            released_by=h.released_by_name,
            release_reason=h.release_reason,
        )
