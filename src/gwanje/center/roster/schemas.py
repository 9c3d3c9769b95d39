"""Request and response models of the roster."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from gwanje.center.roster.models import Shift
from gwanje.center.roster.rules import Gap
from gwanje.core.schemas import Instant, StrictModel, Timestamp

Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ShortCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
Team = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]
Day = Annotated[date, Field(ge=date(1900, 1, 1), le=date(2999, 12, 30))]


class ShiftCreate(StrictModel):
    """A shift: a code on a local day (``day`` + ``code``), or explicit ``starts_at``/``ends_at``."""

    username: Username
    day: Day | None = None
    code: ShortCode | None = None
    starts_at: Instant | None = None
    ends_at: Instant | None = None
    team: Team | None = None


class ShiftRead(BaseModel):
    id: int
    username: str
    organisation: str
    role: str
    team: str | None
    code: str
    starts_at: Timestamp
    ends_at: Timestamp
    source: str
    source_line: int | None
    created_by: str

    @classmethod
    def of(cls, s: Shift) -> ShiftRead:
        return cls(
            id=s.id,
            username=s.username,
            organisation=s.organisation,
            role=s.role,
            team=s.team,
            code=s.code,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            source=s.source,
            source_line=s.source_line,
            created_by=s.created_by_name,
        )


class GapRead(BaseModel):
    """A stretch where fewer people are planned than a staffing rule's minimum (Art. 9 ②)."""

    organisation: str
    roles: list[str]
    minimum: int
    planned: int
    starts_at: Timestamp
    ends_at: Timestamp

    @classmethod
    def of(cls, g: Gap) -> GapRead:
        return cls(
            organisation=g.organisation,
            roles=list(g.roles),
            minimum=g.minimum,
            planned=g.planned,
            starts_at=g.starts_at,
            ends_at=g.ends_at,
        )


class ImportProblem(BaseModel):
    line: int
    ko: str
    en: str


class ImportReportRead(BaseModel):
    filename: str
    layout: str
    rows_read: int
    shifts_created: int
    unchanged: int
    errors: list[ImportProblem]

    @classmethod
    def of(cls, r: object) -> ImportReportRead:
        return cls(
            filename=r.filename,  # type: ignore[attr-defined]
            layout=r.layout,  # type: ignore[attr-defined]
            rows_read=r.rows_read,  # type: ignore[attr-defined]
            shifts_created=r.shifts_created,  # type: ignore[attr-defined]
            unchanged=r.unchanged,  # type: ignore[attr-defined]
            errors=[ImportProblem(line=line, ko=ko, en=en) for line, ko, en in r.errors],  # type: ignore[attr-defined]
        )
