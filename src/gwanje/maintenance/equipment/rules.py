"""Pure rules of the equipment register: the fields an item may have and how they are checked, status
changes (a disposed item is the end of it), and the reading of an imported sheet — its headers in Korean
or English, renamed headers tolerated, dates and costs in the forms a district's files hold them.
No I/O here."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

MAX_IMPORT_ROWS = 5000

# (field, limit) of the item's text fields.
TEXT_LIMITS: Mapping[str, int] = {
    "name": 200,
    "room": 40,
    "site": 200,
    "make": 120,
    "model": 120,
    "serial": 120,
    "note": 2000,
}

# The fields an edit may change (the camera link and the status have their own use cases).
EDITABLE: tuple[str, ...] = (
    "item_class",
    "name",
    "owner_organisation",
    "room",
    "site",
    "make",
    "model",
    "serial",
    "acquired_on",
    "cost_krw",
    "warranty_until",
    "note",
)

# The export's columns (Korean headings, the sheet a district keeps), in order, with the item field.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("번호", "id"),
    ("구분", "item_class"),
    ("품명", "name"),
    ("소유기관", "owner_organisation"),
    ("설치장소(실)", "room"),
    ("설치장소(현장)", "site"),
    ("제조사", "make"),
    ("모델", "model"),
    ("일련번호", "serial"),
    ("취득일", "acquired_on"),
    ("취득금액(원)", "cost_krw"),
    ("보증기간", "warranty_until"),
    ("상태", "status"),
    ("비고", "note"),
    ("카메라", "camera_id"),
    ("수정일시(KST)", "updated_at"),
)

# Import headers: each field with the headings it may come under (compared without spaces, brackets or
# case), Korean first. A district's own sheet renames headings freely; these are the names seen in use.
HEADERS: Mapping[str, tuple[str, ...]] = {
    "item_class": ("구분", "분류", "품목구분", "class", "itemclass", "category", "type"),
    "name": ("품명", "품목명", "명칭", "장비명", "name", "itemname", "item"),
    "owner_organisation": ("소유기관", "소유", "소유자", "소유권", "owner", "ownerorganisation", "organisation"),
    "room": ("설치장소실", "실", "보관장소", "room"),
    "site": ("설치장소현장", "설치장소", "장소", "현장", "site", "location"),
    "make": ("제조사", "제조업체", "제작사", "make", "manufacturer", "maker", "brand"),
    "model": ("모델", "모델명", "규격", "model"),
    "serial": ("일련번호", "시리얼", "시리얼번호", "제조번호", "serial", "serialnumber", "serialno", "sn"),
    "acquired_on": (
        "취득일",
        "취득일자",
        "구입일",
        "구입일자",
        "acquiredon",
        "acquired",
        "purchasedate",
        "acquisitiondate",
    ),
    "cost_krw": (
        "취득금액원",
        "취득금액",
        "취득가액",
        "구입금액",
        "금액",
        "cost",
        "costkrw",
        "price",
        "acquisitioncost",
    ),
    "warranty_until": ("보증기간", "보증만료일", "하자보증기간", "warrantyuntil", "warranty", "warrantyend"),
    "status": ("상태", "status"),
    "note": ("비고", "메모", "note", "notes", "remarks"),
}
REQUIRED_HEADERS = ("item_class", "name")


@dataclass(frozen=True)
class Refusal:
    ko: str
    en: str
    field: str | None = None


class Invalid(ValueError):
    """A field that does not hold: its Korean and English reason."""

    def __init__(self, ko: str, en: str, field: str | None = None) -> None:
        super().__init__(en)
        self.refusal = Refusal(ko, en, field)


def make_key(make: str | None) -> str:
    """The make as serials are told apart under it: trimmed, spaces collapsed, case-folded."""
    return " ".join((make or "").split()).casefold()


def clean_text(value: object, field: str) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split()) if field != "note" else str(value).strip()
    if not text:
        return None
    limit = TEXT_LIMITS[field]
    if len(text) > limit:
        raise Invalid(f"{limit}자 이내로 입력하세요: {field}", f"at most {limit} characters: {field}", field)
    return text


_DATE_FORMS = ("%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d", "%Y%m%d", "%Y. %m. %d", "%Y.%m.%d.", "%Y. %m. %d.")
_KOREAN_DATE = re.compile(r"^(\d{4})\s*년\s*(\d{1,2})\s*월\s*(\d{1,2})\s*일?$")


def parse_date(value: object, field: str) -> date | None:
    """A date as a sheet holds it: a date cell, 2024-03-05, 2024.3.5, 2024/03/05, 20240305 or 2024년 3월 5일."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    m = _KOREAN_DATE.match(text)
    if m:
        parts = tuple(int(x) for x in m.groups())
    else:
        parts = ()
        for form in _DATE_FORMS:
            try:
                d = datetime.strptime(text, form).date()
                parts = (d.year, d.month, d.day)
                break
            except ValueError:
                continue
    try:
        if parts:
            found = date(*parts)
            if 1950 <= found.year <= 2200:
                return found
    except ValueError:
        pass
    raise Invalid(
        f"날짜를 읽을 수 없습니다: {field} '{text[:40]}' (예: 2024-03-05)",
        f"cannot read the date: {field} '{text[:40]}' (e.g. 2024-03-05)",
        field,
    )


def parse_cost(value: object) -> int | None:
    """The cost in won: an integer, or text like ``1,250,000``, ``1250000원`` or ``₩1,250,000``. Empty:
    unknown (none); 0 is a cost of nothing (a donated or transferred item), kept as 0."""
    if value is None or isinstance(value, bool):
        if isinstance(value, bool):
            raise Invalid("금액이 아닙니다: cost_krw", "not an amount: cost_krw", "cost_krw")
        return None
    if isinstance(value, int):
        amount = value
    elif isinstance(value, float):
        if value != int(value):
            raise Invalid("금액은 원 단위 정수입니다: cost_krw", "the cost is whole won: cost_krw", "cost_krw")
        amount = int(value)
    else:
        text = str(value).strip().replace(",", "").replace("₩", "").removesuffix("원").strip()
        if not text or text == "-":
            return None
        if not re.fullmatch(r"\d{1,13}(\.0+)?", text):
            raise Invalid(
                f"금액을 읽을 수 없습니다: '{str(value)[:40]}'",
                f"cannot read the cost: '{str(value)[:40]}'",
                "cost_krw",
            )
        amount = int(text.split(".")[0])
    if amount < 0:
        raise Invalid("금액은 0 이상입니다: cost_krw", "the cost cannot be negative: cost_krw", "cost_krw")
    if amount > 2**31 - 1:
        raise Invalid("금액이 너무 큽니다: cost_krw", "the cost is too large: cost_krw", "cost_krw")
    return amount


def dates_refusal(acquired_on: date | None, warranty_until: date | None) -> Refusal | None:
    if acquired_on is not None and warranty_until is not None and warranty_until < acquired_on:
        return Refusal(
            "보증기간은 취득일 이후여야 합니다",
            "the warranty cannot end before the item was acquired",
            "warranty_until",
        )
    return None


def status_change_refusal(current: str, wanted: str, disposed: str) -> Refusal | None:
    """Any status may follow any other, except that a disposed item stays disposed."""
    if current == disposed:
        return Refusal("불용 처리된 품목은 변경할 수 없습니다", "a disposed item cannot be changed", "status")
    if current == wanted:
        return Refusal("이미 그 상태입니다", "the item already has that status", "status")
    return None


def changed(before: Mapping[str, object], after: Mapping[str, object]) -> tuple[dict, dict]:
    """The fields that differ: (their values before, their values after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


# ---- reading an imported sheet ---------------------------------------------------------------


def _heading_key(value: object) -> str:
    return re.sub(r"[\s()\[\]{}·._\-/*:]", "", str(value or "")).casefold()


_LOOKUP = {_heading_key(h): f for f, heads in HEADERS.items() for h in heads}


@dataclass
class Sheet:
    """An imported sheet read: its columns found, and each non-empty row as (line, {field: cell})."""

    columns: dict[str, int] = field(default_factory=dict)
    rows: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)


def read_sheet(cells: Sequence[Sequence[object]]) -> Sheet:
    """Find the header row (the first of the first ten rows naming the required fields), then the rows
    under it; line numbers are the sheet's own (1 = its first row)."""
    for index, row in enumerate(cells[:10]):
        columns: dict[str, int] = {}
        ignored: list[str] = []
        for col, heading in enumerate(row):
            key = _LOOKUP.get(_heading_key(heading))
            if key is not None and key not in columns:
                columns[key] = col
            elif heading not in (None, ""):
                ignored.append(str(heading)[:40])
        if all(r in columns for r in REQUIRED_HEADERS):
            sheet = Sheet(columns=columns, ignored_headers=ignored)
            for offset, data in enumerate(cells[index + 1 :], start=index + 2):
                values = {f: (data[c] if c < len(data) else None) for f, c in columns.items()}
                if all(v is None or str(v).strip() == "" for v in values.values()):
                    continue
                sheet.rows.append((offset, values))
            return sheet
    names = ", ".join(HEADERS[f][0] for f in REQUIRED_HEADERS)
    raise Invalid(
        f"머리행을 찾을 수 없습니다: 필수 열 {names}",
        f"no header row found: the required columns are {names} (or class, name)",
        "file",
    )


def choice_code(value: object, choices: Sequence[object], field: str) -> str:
    """A class, status or organisation given as its code or its Korean or English label."""
    text = " ".join(str(value or "").split())
    if not text:
        raise Invalid(f"필수 입력 항목입니다: {field}", f"required: {field}", field)
    folded = text.casefold()
    for c in choices:
        labels = [
            getattr(c, a, None) for a in ("code", "ko", "en", "name_ko", "name_en", "short_ko", "short_en", "party_ko")
        ]
        if any(isinstance(x, str) and x.casefold() == folded for x in labels):
            return c.code  # type: ignore[attr-defined]
    known = ", ".join(getattr(c, "ko", None) or getattr(c, "name_ko", "") or c.code for c in choices)  # type: ignore[attr-defined]
    raise Invalid(
        f"알 수 없는 값 '{text[:40]}': {field} (가능: {known})",
        f"unknown value '{text[:40]}': {field} (one of: {known})",
        field,
    )
