"""The clock: stored times are UTC; people see KST."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")

# How far the clock is set ahead of (or behind) the system's: zero in service. Tests move it with
# :func:`shifted` to see what a deadline does hours or days later, through every layer that asks
# :func:`utcnow` (use cases, routes, templates).
_offset = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(timezone.utc) + _offset


@contextmanager
def shifted(by: timedelta) -> Iterator[None]:
    """Run the block with the clock ``by`` later than the system's (nested shifts add up)."""
    global _offset
    before = _offset
    _offset = before + by
    try:
        yield
    finally:
        _offset = before


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def to_kst(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return as_utc(value).astimezone(KST)


def format_kst(value: datetime | None) -> str:
    kst = to_kst(value)
    return "" if kst is None else kst.strftime("%Y-%m-%d %H:%M:%S KST")
