"""The clock: stored times are UTC; people see KST."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


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
