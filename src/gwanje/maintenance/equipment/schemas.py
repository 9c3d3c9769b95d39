"""Equipment register request and response models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gwanje.core.schemas import StrictModel

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
Long = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Cost = Annotated[int, Field(ge=0, le=2**31 - 1, description="acquisition cost in won (KRW); 0 for a donated item")]
Version = Annotated[int, Field(ge=1, le=2**31 - 1, description="the item's version the change was made on")]


class ItemCreate(StrictModel):
    """An item: its class and owner as the policy's codes (or labels); the owner defaults per Art. 5."""

    item_class: Label
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    owner_organisation: Label | None = None
    room: Code | None = None
    site: Long | None = None
    make: Short | None = None
    model: Short | None = None
    serial: Short | None = None
    acquired_on: date | None = None
    cost_krw: Cost | None = None
    warranty_until: date | None = None
    status: Label | None = None
    note: Note | None = None


class ItemUpdate(StrictModel):
    """The fields to change, and the version they were read at (a stale version is refused, 409)."""

    version: Version
    item_class: Label | None = None
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    owner_organisation: Label | None = None
    room: Code | None = None
    site: Long | None = None
    make: Short | None = None
    model: Short | None = None
    serial: Short | None = None
    acquired_on: date | None = None
    cost_krw: Cost | None = None
    warranty_until: date | None = None
    note: Note | None = None


class StatusChange(StrictModel):
    version: Version
    status: Label
    note: Note | None = None


class Disposal(StrictModel):
    version: Version
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class ItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    item_class: str
    name: str
    owner_organisation: str
    room: str | None
    site: str | None
    camera_id: int | None
    make: str | None
    model: str | None
    serial: str | None
    acquired_on: date | None
    cost_krw: int | None
    warranty_until: date | None
    status: str
    note: str | None
    version: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


class ItemPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[ItemRead]


class HistoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    item_id: int
    version: int
    action: str
    at: datetime
    actor: str
    organisation: str | None
    before: str | None
    after: str


class SyncRead(BaseModel):
    cameras: int
    created: int
    updated: int
    unchanged: int


class ImportProblem(BaseModel):
    line: int
    ko: str
    en: str


class ImportReportRead(BaseModel):
    filename: str
    rows_read: int
    created: int
    errors: list[ImportProblem]
    ignored_headers: list[str]

    @classmethod
    def of(cls, r: object) -> ImportReportRead:
        return cls(
            filename=r.filename,  # type: ignore[attr-defined]
            rows_read=r.rows_read,  # type: ignore[attr-defined]
            created=r.created,  # type: ignore[attr-defined]
            errors=[ImportProblem(line=line, ko=ko, en=en) for line, ko, en in r.errors],  # type: ignore[attr-defined]
            ignored_headers=list(r.ignored_headers),  # type: ignore[attr-defined]
        )
