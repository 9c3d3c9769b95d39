"""Video rules that need no camera and no database: segment lengths and the time ranges one may ask for."""

from __future__ import annotations

from datetime import datetime, timedelta

from gwanje.core.errors import ValidationFailed

MIN_SEGMENT_SECONDS = 2
MAX_SEGMENT_SECONDS = 3600
MAX_CLIP_HOURS = 6
MAX_LISTING_HOURS = 24 * 31  # segment listings (metadata only) may span a month


def check_range(start: datetime, end: datetime, max_hours: float = MAX_CLIP_HOURS) -> None:
    """``[start, end)`` has UTC offsets, runs forwards and is at most ``max_hours`` long."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationFailed(
            "시간대가 있는 시각을 주세요 (예: +09:00)", "give times with a UTC offset (e.g. +09:00)", field="start"
        )
    if end <= start:
        raise ValidationFailed("끝 시각이 시작 시각보다 뒤여야 합니다", "end must be after start", field="end")
    if end - start > timedelta(hours=max_hours):
        raise ValidationFailed(
            f"한 번에 {max_hours:g}시간까지입니다", f"at most {max_hours:g} hours at a time", field="end"
        )


def check_segment_seconds(seconds: int) -> None:
    if not MIN_SEGMENT_SECONDS <= seconds <= MAX_SEGMENT_SECONDS:
        raise ValidationFailed(
            f"세그먼트 길이는 {MIN_SEGMENT_SECONDS}~{MAX_SEGMENT_SECONDS}초입니다",
            f"segment length must be {MIN_SEGMENT_SECONDS}–{MAX_SEGMENT_SECONDS} s",
            field="segment_seconds",
        )


def clip_windows(start: datetime, end: datetime, hours: float = MAX_CLIP_HOURS) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut into consecutive windows of at most one clip's length."""
    windows = []
    step = timedelta(hours=hours)
    at = start
    while at < end:
        until = min(at + step, end)
        windows.append((at, until))
        at = until
    return windows
