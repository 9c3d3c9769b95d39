"""Rooms request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from gwanje.core.schemas import Id, Instant, StrictModel

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Badge = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=r"^[0-9A-Za-z가-힣_.:\-]+$")
]
Words = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class AuthorisationCreate(StrictModel):
    """Entry to a room for an account, or for a named person without one (a contractor)."""

    room: Code
    account_id: Id | None = None
    person_name: Name | None = None
    organisation: Name | None = None
    badge: Badge | None = None
    purpose: Words
    valid_from: Instant
    valid_until: Instant


class AuthorisationRevoke(StrictModel):
    reason: Words


class VisitorCreate(StrictModel):
    room: Code
    name: Name
    organisation: Name
    purpose: Words
    escort_authorisation_id: Id | None = None
    badge: Badge | None = None
    expected_from: Instant
    expected_until: Instant


class AccessCreate(StrictModel):
    """A line of the log written at the console: exactly one of ``authorisation_id``, ``visitor_id`` or
    ``person_name`` (someone with no authorisation, written as not authorised and raised)."""

    room: Code
    event: Literal["entry", "exit"]
    at: Instant | None = None
    authorisation_id: Id | None = None
    visitor_id: Id | None = None
    person_name: Name | None = None
    organisation: Name | None = None
    note: Words | None = None


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class AuthorisationRead(_Read):
    id: int
    room: str
    account_id: int | None
    person_name: str
    organisation: str
    badge: str | None
    purpose: str
    valid_from: datetime
    valid_until: datetime
    granted_by: str
    granted_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None


class VisitorRead(_Read):
    id: int
    room: str
    name: str
    organisation: str
    purpose: str
    escort_authorisation_id: int | None
    escort_name: str | None
    badge: str | None
    expected_from: datetime
    expected_until: datetime
    registered_by: str
    registered_at: datetime


class AccessRead(_Read):
    id: int
    room: str
    at: datetime
    event: str
    person_name: str | None
    organisation: str | None
    account_id: int | None
    badge: str | None
    authorisation_id: int | None
    visitor_id: int | None
    escort_name: str | None
    authorised: bool
    door: str | None
    source: str
    inbox_id: int | None
    recorded_by: str
    recorded_at: datetime
    incident_id: int | None
    note: str | None


class RoomRead(BaseModel):
    code: str
    ko: str
    en: str
    organisation: str
    department: str | None
    authorised_now: int
    inside_now: list[str]


class AccessLogRead(BaseModel):
    entries: list[AccessRead]
