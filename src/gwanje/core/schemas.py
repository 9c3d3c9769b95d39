"""Shared schema parts: the base of every request model (unknown fields and control characters are
refused) and the wire form of a time."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)


def has_control_chars(value: str) -> bool:
    # NUL cannot be stored by PostgreSQL and truncates SQLite patterns; other C0 controls
    # (except tab and newlines) have no business in registry text either.
    return any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value)


def _check(value: Any) -> Any:
    if isinstance(value, str) and has_control_chars(value):
        raise ValueError("제어 문자는 쓸 수 없습니다 / control characters are not allowed")
    if isinstance(value, (list, tuple)):
        for item in value:
            _check(item)
    return value


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=2000)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return _check(value)


def _iso(value: datetime) -> str:
    return value.isoformat()


# Times on the wire as ``datetime.isoformat()`` ("…+00:00"), as the API has always answered.
Timestamp = Annotated[
    datetime,
    PlainSerializer(_iso, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


# Bounds of what the database can hold, checked at the edge so that an out-of-range number is a
# 422 naming the field rather than a driver overflow: PostgreSQL ``integer`` keys stop at 2^31-1
# (SQLite's at 2^63-1), ``bigint`` sequence numbers (the audit chain) at 2^63-1.
MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1

#: A row id in a path, query or body: 1 … 2^31-1.
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
#: A sequence number of a ``bigint`` column (the audit chain): 1 … 2^63-1.
BigId = Annotated[int, Field(ge=1, le=MAX_BIG_ID)]
#: How many rows to skip in a listing: 0 … 2^31-1.
Offset = Annotated[int, Field(ge=0, le=MAX_ID)]


# The times a caller may send (periods, since/until, when something happened): years 1900 … 2999 in
# UTC. Python's own range ends at years 1 and 9999 *before* the offset is taken off, so
# "0001-01-01T00:00+09:00" could not be turned into UTC at all (a 500 from the database layer), and a
# period ending in 9999 overflows as soon as a retention period is added to it.
MIN_TIME = datetime(1900, 1, 1, tzinfo=timezone.utc)
MAX_TIME = datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)


def _within_time_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(timezone.utc)
    except OverflowError:
        utc = None
    if utc is None or not MIN_TIME <= utc <= MAX_TIME:
        raise ValueError("1900년부터 2999년까지의 시각만 쓸 수 있습니다 / only times from 1900 to 2999 are accepted")
    return value


#: A time with its UTC offset, in years 1900 … 2999: every time in a request (body, query, path).
Instant = Annotated[AwareDatetime, AfterValidator(_within_time_range)]
