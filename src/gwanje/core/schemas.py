"""Shared schema parts: the base of every request model (unknown fields and control characters are
refused) and the wire form of a time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema, field_validator


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
