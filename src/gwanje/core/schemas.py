"""The base of every request model: unknown fields and control characters are refused."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


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
