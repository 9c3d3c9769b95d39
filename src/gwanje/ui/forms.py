"""Reading submitted console forms: text, numbers, KST times, lists of words and uploaded files.

Every problem is a :class:`ValidationFailed` naming the field, so a page can show the refusal next
to what was typed. Times are typed and shown in KST (``<input type=datetime-local>``) and stored in
UTC.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from starlette.datastructures import FormData, UploadFile

from gwanje.core.clock import KST, to_kst
from gwanje.core.errors import ValidationFailed
from gwanje.core.schemas import MAX_ID, has_control_chars
from gwanje.http.deps import CSRF_FIELD


class FormInput:
    """Reads one submitted form; every problem is a ValidationFailed naming the field."""

    def __init__(self, form: FormData):
        self.form = form

    def values(self) -> dict[str, str]:
        """What was typed, to fill the form again after a refusal (files and the token left out)."""
        return {k: v for k, v in self.form.items() if isinstance(v, str) and k != CSRF_FIELD}

    def text(self, name: str, limit: int, *, required: bool = False) -> str | None:
        value = str(self.form.get(name) or "").strip()
        if len(value) > limit:
            raise ValidationFailed(
                f"{limit}자 이내로 입력하세요: {name}", f"at most {limit} characters: {name}", field=name
            )
        if has_control_chars(value):
            raise ValidationFailed(
                f"제어 문자는 쓸 수 없습니다: {name}", f"control characters are not allowed: {name}", field=name
            )
        if required and not value:
            raise ValidationFailed(f"필수 입력 항목입니다: {name}", f"required: {name}", field=name)
        return value or None

    def number(self, name: str, *, required: bool = False) -> int | None:
        value = self.text(name, 12, required=required)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_ID:
            raise ValidationFailed(f"번호가 올바르지 않습니다: {name}", f"not a number: {name}", field=name)
        return int(value)

    def flag(self, name: str) -> bool:
        """A checkbox: ticked when it sent yes, on, true or 1."""
        return (self.text(name, 10) or "").lower() in ("yes", "on", "true", "1")

    def kst(self, name: str, *, required: bool = True) -> datetime | None:
        return parse_kst(self.text(name, 40, required=required), name)

    def words(self, name: str, *, limit: int) -> list[str]:
        """Words (e.g. management numbers) typed one per line or separated by commas or spaces, at most ``limit``."""
        value = self.text(name, 20_000, required=True) or ""
        words = list(dict.fromkeys(w for w in re.split(r"[\s,;]+", value) if w))
        if len(words) > limit:
            raise ValidationFailed(
                f"한 번에 {limit}대까지 지정할 수 있습니다", f"at most {limit} cameras at once", field=name
            )
        return words

    def file(self, name: str) -> UploadFile | None:
        value = self.form.get(name)
        if isinstance(value, UploadFile) and value.filename:
            return value
        return None


def parse_kst(value: str | None, field: str) -> datetime | None:
    """``2026-11-20T10:00`` (or ``2026-11-20 10:00``) typed in KST → an aware UTC datetime."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        raise ValidationFailed(
            f"일시 형식이 올바르지 않습니다 (예: 2026-11-20 10:00): {field}",
            f"not a date and time (e.g. 2026-11-20 10:00): {field}",
            field=field,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=KST)
    return parsed.astimezone(timezone.utc)


def parse_kst_day(value: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A KST calendar day (``2026-11-20``) → its start in UTC; ``end`` gives the start of the next day."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        raise ValidationFailed(
            f"날짜 형식이 올바르지 않습니다 (예: 2026-11-20): {field}",
            f"not a date (e.g. 2026-11-20): {field}",
            field=field,
        ) from None
    start = datetime(day.year, day.month, day.day, tzinfo=KST)
    return (start + timedelta(days=1) if end else start).astimezone(timezone.utc)


def parse_month(value: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A KST month (``2026-11``) → its first instant in UTC; ``end`` gives the next month's."""
    value = (value or "").strip()
    if not value:
        return None
    match = re.fullmatch(r"(\d{4})-(\d{2})", value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValidationFailed(
            f"월 형식이 올바르지 않습니다 (예: 2026-11): {field}", f"not a month (e.g. 2026-11): {field}", field=field
        )
    year, month = int(match.group(1)), int(match.group(2))
    if end:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return datetime(year, month, 1, tzinfo=KST).astimezone(timezone.utc)


def kst_input(value: datetime | None) -> str:
    """A stored UTC time as the value of a ``datetime-local`` input (KST, minutes)."""
    kst = to_kst(value)
    return "" if kst is None else kst.strftime("%Y-%m-%dT%H:%M")
