"""The national CCTV standard data (전국CCTV표준데이터): parsing and writing, no I/O beyond the file.

One data row is one site (개소) with ``카메라대수`` cameras. Headers are found by column name, so the
13-column form, the numbered form (a leading ``번호``) and the LOCALDATA form (``개방자치단체코드`` and
``관리번호`` first, ``데이터갱신구분`` … last) all read the same way; unknown extra columns are ignored.

A row is either parsed into a :class:`SiteRecord` or rejected with :class:`Reason` s that name the
problem in Korean and English; a file is only refused as a whole when it cannot be decoded or its
header lacks a required column.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, BinaryIO, NamedTuple, Union

from gwanje.core.errors import ValidationFailed
from gwanje.policy import load_default
from gwanje.policy.model import Policy
from gwanje.registry.rules import KOREA_LAT, KOREA_LON, inside_korea, valid_month

Source = Union[bytes, bytearray, memoryview, str, os.PathLike, BinaryIO]

# ---- columns -----------------------------------------------------------------------------------

AGENCY = "관리기관명"
ROAD = "소재지도로명주소"
LOT = "소재지지번주소"
PURPOSE = "설치목적구분"
COUNT = "카메라대수"
PIXELS = "카메라화소수"
DIRECTION = "촬영방면정보"
RETENTION = "보관일수"
INSTALLED = "설치연월"
PHONE = "관리기관전화번호"
LAT = "WGS84위도"
LON = "WGS84경도"
DATA_DATE = "데이터기준일자"

STANDARD_COLUMNS: tuple[str, ...] = (
    AGENCY,
    ROAD,
    LOT,
    PURPOSE,
    COUNT,
    PIXELS,
    DIRECTION,
    RETENTION,
    INSTALLED,
    PHONE,
    LAT,
    LON,
    DATA_DATE,
)
REQUIRED_COLUMNS = STANDARD_COLUMNS

LOCAL_GOV_CODE = "개방자치단체코드"
MANAGEMENT_NO = "관리번호"
PROVIDER_CODE = "제공기관코드"
PROVIDER_NAME = "제공기관명"
ROW_NUMBER = "번호"
LOCALDATA_TRAILER = ("데이터갱신구분", "데이터갱신시점", "최종수정시점")

# gwanje's own columns, written after the 13 by ``gwanje export standard`` (and 관리번호 before them):
# what a re-import needs to rebuild each site's department, camera group, purpose and storage. Files
# from elsewhere do not have them; other readers ignore them.
EXT_DEPARTMENT = "담당부서코드"
EXT_PURPOSE = "주목적코드"
EXT_GROUP = "카메라그룹코드"
EXT_STORAGE = "저장방식코드"
EXTENSION_COLUMNS: tuple[str, ...] = (EXT_DEPARTMENT, EXT_PURPOSE, EXT_GROUP, EXT_STORAGE)
STORAGE_MODES = ("central", "on_site", "mobile")  # gwanje.registry.choices.StorageMode

# English names ``--columns`` accepts for the columns gwanje reads (the Korean names work as well).
COLUMN_ALIASES: dict[str, str] = {
    "agency": AGENCY,
    "road_address": ROAD,
    "lot_address": LOT,
    "purpose": PURPOSE,
    "camera_count": COUNT,
    "pixels": PIXELS,
    "direction": DIRECTION,
    "retention_days": RETENTION,
    "installed_month": INSTALLED,
    "phone": PHONE,
    "latitude": LAT,
    "longitude": LON,
    "data_date": DATA_DATE,
    "row_number": ROW_NUMBER,
    "management_number": MANAGEMENT_NO,
    "local_gov_code": LOCAL_GOV_CODE,
    "department": EXT_DEPARTMENT,
    "primary_purpose": EXT_PURPOSE,
    "camera_group": EXT_GROUP,
    "storage_mode": EXT_STORAGE,
}
KNOWN_COLUMNS: tuple[str, ...] = tuple(COLUMN_ALIASES.values())

DEFAULT_RETENTION_DAYS = 30
MAX_CAMERAS_PER_SITE = 999
# Registry column widths (gwanje.registry.models); a camera's number is the site key + "-NNN" (80).
MAX_SITE_KEY = 76

# ---- purposes and organisations ------------------------------------------------------------------
#
# Which purpose a 설치목적구분 text stands for, and which organisation a 관리기관명 names, is the
# policy's to say (``standard_data`` in the policy file). A text the policy does not map is never
# filed silently: the row is kept as ``other`` with a warning when the policy has that purpose, and
# refused otherwise.

OTHER_PURPOSE = "other"

# The 설치목적구분 value written for a primary purpose on export (the national standard's own words).
STANDARD_FROM_PURPOSE: dict[str, str] = {
    "crime_prevention": "생활방범",
    "illegal_parking": "교통단속",
    "green_parking": "교통단속",
    "traffic_enforcement": "교통단속",
    "illegal_dumping": "쓰레기단속",
    "facility_management": "시설물관리",
    "disaster": "재난재해",
    "child_protection": "어린이보호",
    "traffic_info": "교통정보수집",
    "bicycle_storage": "기타",
    "other": "기타",
}


@lru_cache(maxsize=1)
def _default_policy() -> Policy:
    return load_default()


def purpose_outcome(policy: Policy, value: str) -> tuple[str | None, Reason | None]:
    """``(purpose, None)`` for a text the policy maps; ``("other", warning)`` or ``(None, refusal)`` else."""
    code = policy.standard_purpose(value)
    if code is not None and policy.has_purpose(code):
        return code, None
    shown = value.strip()
    if policy.has_purpose(OTHER_PURPOSE):
        return OTHER_PURPOSE, Reason(
            "purpose_unmapped",
            f"정책에 없는 설치목적구분 {shown!r}: '기타'(other)로 등록했습니다",
            f"installation purpose (설치목적구분) {shown!r} is not in the policy: registered as 'other'",
        )
    return None, Reason(
        "purpose_unmapped",
        f"정책에 없는 설치목적구분입니다: {shown!r}",
        f"installation purpose (설치목적구분) {shown!r} is not in the policy",
    )


def purpose_from_standard(value: str, policy: Policy | None = None) -> str:
    """Purpose code for a 설치목적구분 value; an unmapped value is ``other`` (the text is kept elsewhere)."""
    return purpose_outcome(policy or _default_policy(), value)[0] or OTHER_PURPOSE


def standard_purpose_for(primary_purpose: str) -> str:
    """The 설치목적구분 value to write for a primary purpose code."""
    return STANDARD_FROM_PURPOSE.get(primary_purpose, "기타")


def owner_for_agency(agency: str, policy: Policy | None = None) -> str:
    """The organisation that owns a site's cameras (Art. 5), from its managing agency, as the policy says."""
    return (policy or _default_policy()).standard_organisation(agency)


# ---- errors and rejection reasons -----------------------------------------------------------------


class StandardFormatError(ValidationFailed):
    """The file as a whole cannot be read as standard data (encoding, header)."""

    code = "standard_format"


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a row was rejected: a stable code and an operator message in Korean and English."""

    code: str
    ko: str
    en: str

    def __str__(self) -> str:
        return f"{self.ko} / {self.en}"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "ko": self.ko, "en": self.en}


# ---- parsed values -----------------------------------------------------------------------------


class SiteRecord(NamedTuple):
    """One accepted row, normalised (a named tuple: 100k of them are built per national file)."""

    site_key: str
    managing_agency: str
    road_address: str | None
    lot_address: str | None
    standard_purpose: str  # the file's own 설치목적구분 text
    primary_purpose: str
    camera_count: int
    pixels: float | None  # 카메라화소수, in 만 pixels (200 = 2.0 MP)
    direction: str | None
    retention_days: int
    installed_month: str | None  # YYYY-MM
    agency_phone: str | None
    latitude: float
    longitude: float
    data_date: date | None
    owner_organisation: str
    digest: str
    # From gwanje's own columns (a gwanje export); None where the file does not say.
    department: str | None = None
    camera_group: str | None = None
    storage_mode: str | None = None

    @property
    def resolution_mp(self) -> float | None:
        return None if self.pixels is None else round(self.pixels / 100.0, 4)


class StandardRow(NamedTuple):
    """A data row: its physical start line (header = line 1) and a record or the reasons it was refused.

    An accepted row may carry ``warnings``: it was kept, but not as the file said (an unmapped purpose).
    """

    line: int
    record: SiteRecord | None
    reasons: tuple[Reason, ...] = ()
    warnings: tuple[Reason, ...] = ()

    @property
    def ok(self) -> bool:
        return self.record is not None


@dataclass(frozen=True)
class StandardHeader:
    encoding: str  # "utf-8", "utf-8-sig" or "cp949"
    form: str  # "standard13", "numbered", "localdata", "gwanje" (a gwanje export), "extended"
    columns: tuple[str, ...]
    has_management_number: bool


# ---- value parsing -----------------------------------------------------------------------------

_MONTHS = {
    m: i
    for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)
}
_YM = re.compile(r"^(\d{4})\s*[-./]?\s*(\d{1,2})(?:\s*[-./]\s*\d{1,2})?\.?$")
_YM_KO = re.compile(r"^(\d{4})\s*년\s*(\d{1,2})\s*월?(?:\s*\d{1,2}\s*일)?$")
_YY_MON = re.compile(r"^(\d{1,2})-([A-Za-z]{3})$")
_DATE = re.compile(r"^(\d{4})[-./]?(\d{1,2})[-./]?(\d{1,2})(?:$|[ T])")
_MON_YY = re.compile(r"^([A-Za-z]{3})-(\d{2}|\d{4})$")


def _century(yy: int) -> int:
    # A spreadsheet turned "2017-12" into "17-Dec"; cameras from before 2000 read as 19xx.
    return 2000 + yy if yy <= (date.today().year % 100) + 1 else 1900 + yy


@lru_cache(maxsize=4096)
def parse_month(value: str) -> str | None:
    """``설치연월`` → ``YYYY-MM``; None when empty. Raises ValueError when it is not a month."""
    text = value.strip()
    if not text:
        return None
    year = month = None
    m = _YM.match(text) or _YM_KO.match(text)
    if m:
        year, month = int(m.group(1)), int(m.group(2))
    else:
        m = _YY_MON.match(text)
        if m and m.group(2).lower() in _MONTHS:
            year, month = _century(int(m.group(1))), _MONTHS[m.group(2).lower()]
        else:
            m = _MON_YY.match(text)
            if m and m.group(1).lower() in _MONTHS:
                y = int(m.group(2))
                year, month = (y if y >= 100 else _century(y)), _MONTHS[m.group(1).lower()]
    if year is None or month is None:
        raise ValueError(text)
    result = f"{year:04d}-{month:02d}"
    if not valid_month(result) or not 1900 <= year <= 2100:
        raise ValueError(text)
    return result


@lru_cache(maxsize=1024)
def parse_data_date(value: str) -> date | None:
    """``데이터기준일자``: 2018-03-28, 2018.03.28, 20180328 (optionally with a time) → date.

    Anything else → None: the date is informational and never a reason to refuse a row.
    """
    m = _DATE.match(value.strip())
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _number(text: str) -> float:
    value = float(text.replace(",", ""))
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(text)
    return value


@lru_cache(maxsize=4096)
def _fmt_number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# Cached per distinct text: a national file has a handful of distinct counts, pixel values and months.

_AGENCY_MISSING = Reason("agency_missing", "관리기관명이 없습니다", "managing agency (관리기관명) is missing")


@lru_cache(maxsize=4096)
def _count_of(text: str) -> int | Reason:
    text = text.strip()
    try:
        value = _number(text)
        if not value.is_integer() or value <= 0:
            raise ValueError(text)
    except ValueError:
        return Reason(
            "camera_count_invalid",
            f"카메라대수는 1 이상의 정수여야 합니다: {text!r}",
            f"camera count (카메라대수) must be a whole number of at least 1: {text!r}",
        )
    if value > MAX_CAMERAS_PER_SITE:
        return Reason(
            "camera_count_implausible",
            f"카메라대수가 너무 큽니다: {text}",
            f"camera count is implausibly large (over {MAX_CAMERAS_PER_SITE}): {text}",
        )
    return int(value)


@lru_cache(maxsize=4096)
def _pixels_of(text: str) -> float | None | Reason:
    text = text.strip()
    if not text:
        return None
    try:
        value = _number(text)
        if value < 0:
            raise ValueError(text)
    except ValueError:
        return Reason(
            "pixels_invalid",
            f"카메라화소수가 0 이상의 숫자가 아닙니다: {text!r}",
            f"pixel count (카메라화소수) is not a non-negative number: {text!r}",
        )
    return value or None  # "0" means unknown in published files


@lru_cache(maxsize=4096)
def _retention_of(text: str) -> int | None | Reason:
    """Days; None when the file does not know (empty or 0: kept with the policy default and flagged)."""
    text = text.strip()
    if not text:
        return None
    try:
        value = _number(text)
        if value == 0:
            return None
        if not value.is_integer() or value < 0:
            raise ValueError(text)
    except ValueError:
        return Reason(
            "retention_invalid",
            f"보관일수는 1 이상의 정수여야 합니다: {text!r}",
            f"retention days (보관일수) must be a whole number of at least 1: {text!r}",
        )
    return int(value)


@lru_cache(maxsize=4096)
def _month_of(text: str) -> str | None | Reason:
    try:
        return parse_month(text)
    except ValueError:
        return Reason(
            "installed_month_invalid",
            f"설치연월을 해석할 수 없습니다: {text.strip()!r}",
            f"installation month (설치연월) is not a month: {text.strip()!r}",
        )


_SENTINEL = re.compile(r"^-?9{2,}(?:\.9*)?$")
# Codes of rows whose position is a placeholder, not a place (the import report counts them).
SENTINEL_POSITION_CODES = frozenset({"position_zero", "position_sentinel"})


def _position_reason(lat_text: str, lon_text: str, lat: float | None, lon: float | None) -> Reason:
    if not lat_text or not lon_text:
        return Reason("position_missing", "위도 또는 경도가 없습니다", "latitude or longitude is missing")
    if lat is None or lon is None:
        return Reason(
            "position_invalid",
            f"위도·경도가 숫자가 아닙니다: {lat_text}, {lon_text}",
            f"latitude/longitude is not a number: {lat_text}, {lon_text}",
        )
    if lat == 0 and lon == 0:
        return Reason("position_zero", "위도·경도가 0/0입니다 (좌표 없음)", "position is 0/0 (no coordinates)")
    if _SENTINEL.match(lat_text) or _SENTINEL.match(lon_text):
        return Reason(
            "position_sentinel",
            f"위도·경도가 자리표시 값입니다 (좌표 없음): {lat_text}, {lon_text}",
            f"position is a placeholder value (no coordinates): {lat_text}, {lon_text}",
        )
    if inside_korea(lon, lat):
        return Reason(
            "position_swapped",
            f"위치가 대한민국 밖입니다 (위도·경도가 바뀐 듯): {lat_text}, {lon_text}",
            f"position is outside Korea (latitude and longitude swapped?): {lat_text}, {lon_text}",
        )
    return Reason(
        "position_outside_korea",
        f"위치가 대한민국 밖입니다: {lat_text}, {lon_text}",
        f"position is outside Korea: {lat_text}, {lon_text}",
    )


def _too_long(
    agency: str, road: str, lot: str, purpose: str, direction: str, phone: str, site_key: str
) -> tuple[Reason, ...]:
    checks = (
        (AGENCY, agency, 120),
        (ROAD, road, 300),
        (LOT, lot, 300),
        (PURPOSE, purpose, 40),
        (DIRECTION, direction, 120),
        (PHONE, phone, 40),
        (MANAGEMENT_NO, site_key, MAX_SITE_KEY),
    )
    return tuple(
        Reason(
            "field_too_long", f"{name} 값이 너무 깁니다 (최대 {limit}자)", f"{name} is longer than {limit} characters"
        )
        for name, value, limit in checks
        if len(value) > limit
    )


# ---- decoding and header -------------------------------------------------------------------------


def read_bytes(source: Source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, (str, os.PathLike)):
        return Path(source).read_bytes()
    if hasattr(source, "read"):
        data = source.read()
        if isinstance(data, str):
            raise StandardFormatError("파일은 바이트로 주어야 합니다", "give the file as bytes, not text")
        return bytes(data)
    raise TypeError(f"unsupported source: {type(source).__name__}")


def decode(data: bytes) -> tuple[str, str]:
    """Text and encoding: UTF-8 (with or without BOM) first, then CP949; anything else is refused."""
    try:
        text = data.decode("utf-8-sig")
        return text, ("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp949"), "cp949"
    except UnicodeDecodeError as exc:
        raise StandardFormatError(
            f"파일 인코딩을 알 수 없습니다 (UTF-8, CP949 모두 아님; {exc.start}번째 바이트)",
            f"unknown file encoding: neither UTF-8 nor CP949 (byte {exc.start})",
            field="encoding",
        ) from None


def _header_name(cell: str) -> str:
    return cell.replace("\ufeff", "").strip().strip('"').replace(" ", "")


def _form(columns: tuple[str, ...], has_mgmt: bool) -> str:
    if any(c in columns for c in EXTENSION_COLUMNS):
        return "gwanje"
    if has_mgmt or LOCAL_GOV_CODE in columns or any(c in columns for c in LOCALDATA_TRAILER):
        return "localdata"
    if columns and columns[0] == ROW_NUMBER:
        return "numbered"
    if set(columns) == set(STANDARD_COLUMNS):
        return "standard13"
    return "extended"


def _lines(text: str) -> Iterator[str]:
    """Physical lines with their endings, sliced lazily (io.StringIO would hold a second, wider copy)."""
    if "\n" not in text and "\r" in text:  # classic Mac line endings
        yield from text.splitlines(keepends=True)
        return
    start, find = 0, text.find
    while True:
        end = find("\n", start)
        if end < 0:
            if start < len(text):
                yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


# ---- mapping a non-standard header onto the standard's columns (``--columns``) --------------------


@dataclass(frozen=True)
class ColumnMapping:
    """How a file's columns stand for the standard's: by name (``pairs``) or by position.

    ``pairs`` are ``(file column, standard column)``; ``positional`` gives, for the file's first,
    second, … column, the standard column it holds (None: keep the file's own name).
    """

    pairs: tuple[tuple[str, str], ...] = ()
    positional: tuple[str | None, ...] | None = None


def _mapping_error(ko: str, en: str, **details: Any) -> StandardFormatError:
    return StandardFormatError(ko, en, field="columns", details=details)


def _target(name: str) -> str:
    text = _header_name(name)
    if text.lower() in COLUMN_ALIASES:
        return COLUMN_ALIASES[text.lower()]
    if text in KNOWN_COLUMNS:
        return text
    raise _mapping_error(
        f"열 대응의 표준 열 이름을 알 수 없습니다: {name.strip()!r} "
        f"(사용 가능: {', '.join(COLUMN_ALIASES)} 또는 한글 열 이름)",
        f"unknown standard column in the column mapping: {name.strip()!r} "
        f"(use one of {', '.join(COLUMN_ALIASES)} or the Korean column name)",
        unknown=name.strip(),
    )


def parse_column_mapping(spec: str) -> ColumnMapping:
    """Read a ``--columns`` value.

    * ``FILE=STANDARD,...``: the file's column ``FILE`` holds the standard column ``STANDARD``
      (its Korean name or English alias, e.g. ``agency`` or ``관리기관명``); columns not named keep
      their names.
    * ``STANDARD,STANDARD,...`` (no ``=``): the file's columns in order; an empty item or ``-`` keeps
      that column's own name.
    * ``standard``: the file has exactly 13 columns, the standard's in the standard's order.
    """
    text = spec.strip()
    if not text:
        raise _mapping_error("열 대응이 비어 있습니다", "the column mapping is empty")
    if text.lower() == "standard":
        return ColumnMapping(positional=STANDARD_COLUMNS)
    items = [item.strip() for item in text.split(",")]
    with_eq = [item for item in items if "=" in item]
    if with_eq and len(with_eq) != len(items):
        raise _mapping_error(
            "열 대응은 모두 '파일열=표준열' 쌍이거나 모두 순서 목록이어야 합니다",
            "a column mapping is either all FILE=STANDARD pairs or all a positional list, not both",
        )
    targets: list[str | None] = []
    pairs: list[tuple[str, str]] = []
    for item in items:
        if with_eq:
            source, _, name = item.partition("=")
            source = _header_name(source)
            if not source or not name.strip():
                raise _mapping_error(
                    f"열 대응 항목이 '파일열=표준열' 꼴이 아닙니다: {item!r}",
                    f"column mapping item is not FILE=STANDARD: {item!r}",
                )
            if source in (p for p, _ in pairs):
                raise _mapping_error(
                    f"파일 열 {source!r}이(가) 두 번 대응되었습니다",
                    f"file column {source!r} is mapped twice",
                    duplicate=source,
                )
            target = _target(name)
            pairs.append((source, target))
            targets.append(target)
        else:
            targets.append(None if item in ("", "-") else _target(item))
    named = [t for t in targets if t is not None]
    twice = sorted({t for t in named if named.count(t) > 1})
    if twice:
        raise _mapping_error(
            f"같은 표준 열에 여러 파일 열이 대응되었습니다: {', '.join(twice)}",
            f"several file columns are mapped to the same standard column: {', '.join(twice)}",
            duplicate=twice,
        )
    if not named:
        raise _mapping_error("열 대응에 표준 열이 하나도 없습니다", "the column mapping names no standard column")
    return ColumnMapping(pairs=tuple(pairs)) if with_eq else ColumnMapping(positional=tuple(targets))


def apply_column_mapping(columns: tuple[str, ...], mapping: ColumnMapping) -> tuple[str, ...]:
    """The header as the mapping reads it; a mapping that does not fit the file is refused."""
    out = list(columns)
    if mapping.positional == STANDARD_COLUMNS and len(columns) != len(STANDARD_COLUMNS):
        # ``standard`` on a file with a leading 번호 (or other extra columns) would shift every column.
        raise _mapping_error(
            f"'standard'는 열이 13개인 파일에만 쓸 수 있습니다 (이 파일은 {len(columns)}개): "
            "순서 목록에서 '-'로 다른 열을 건너뛰세요 (예: --columns \"-,관리기관명,…\")",
            f"'standard' only fits a file of exactly 13 columns (this one has {len(columns)}): give a positional "
            "list that skips the other columns with '-' (e.g. --columns \"-,관리기관명,…\")",
            found=list(columns),
        )
    if mapping.positional is not None:
        if len(mapping.positional) > len(columns):
            raise _mapping_error(
                f"열 대응이 {len(mapping.positional)}개인데 파일의 열은 {len(columns)}개입니다",
                f"the column mapping lists {len(mapping.positional)} columns but the file has {len(columns)}",
                found=list(columns),
            )
        renamed = {i: t for i, t in enumerate(mapping.positional) if t is not None}
    else:
        renamed = {}
        for source, target in mapping.pairs:
            if source not in columns:
                raise _mapping_error(
                    f"파일에 열 {source!r}이(가) 없습니다 (파일의 열: {', '.join(columns)})",
                    f"the file has no column {source!r} (its columns: {', '.join(columns)})",
                    missing=source,
                    found=list(columns),
                )
            renamed[columns.index(source)] = target
    for i, target in renamed.items():
        out[i] = target
    clash = sorted({c for c in out if c and out.count(c) > 1 and c in KNOWN_COLUMNS})
    if clash:
        raise _mapping_error(
            f"대응 후 같은 열이 두 번 있습니다: {', '.join(clash)} (파일에 이미 있는 열에 대응했습니다)",
            f"after mapping, a column appears twice: {', '.join(clash)} (mapped onto a column the file already has)",
            duplicate=clash,
        )
    return tuple(out)


def _missing_columns_error(missing: list[str], columns: tuple[str, ...], mapped: bool) -> StandardFormatError:
    hint_ko = (
        "열 대응(--columns)을 확인하세요"
        if mapped
        else "표준과 다른 열 이름이면 --columns로 대응시키세요 "
        '(예: --columns "agency=관리기관명,…", 표준 순서의 13열이면 --columns standard)'
    )
    hint_en = (
        "check the column mapping (--columns)"
        if mapped
        else "if the file names its columns differently, map them with --columns "
        '(e.g. --columns "agency=관리기관명,…", or --columns standard for the 13 columns in the standard order)'
    )
    return StandardFormatError(
        f"표준데이터 헤더가 아닙니다. 필수 열이 없습니다: {', '.join(missing)}. {hint_ko}",
        f"not a standard-data header; required columns missing: {', '.join(missing)}. {hint_en}",
        field=missing[0],
        details={"missing": missing, "found": list(columns)},
    )


# ---- the reader --------------------------------------------------------------------------------


class StandardReader:
    """Decodes a file and yields its rows one at a time (so a 100k-row file need not sit in memory twice)."""

    def __init__(self, source: Source, policy: Policy | None = None, mapping: ColumnMapping | None = None):
        self.policy = policy or _default_policy()
        data = read_bytes(source)
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.size = len(data)
        self._text, encoding = decode(data)
        del data
        self._reader = csv.reader(_lines(self._text))
        header: list[str] | None = None
        for cells in self._reader:
            if any(c.strip() for c in cells):
                header = cells
                break
        if header is None:
            raise StandardFormatError("빈 파일입니다", "the file is empty", field="header")
        self._header_line = self._reader.line_num
        names = tuple(_header_name(c) for c in header)
        if mapping is not None:
            names = apply_column_mapping(names, mapping)
        missing = [name for name in REQUIRED_COLUMNS if name not in names]
        if missing:
            raise _missing_columns_error(missing, names, mapping is not None)
        columns = names
        self._index = {name: columns.index(name) for name in columns if name}
        has_mgmt = MANAGEMENT_NO in self._index
        self.header = StandardHeader(encoding, _form(columns, has_mgmt), columns, has_mgmt)
        self._consumed = False

    @property
    def encoding(self) -> str:
        return self.header.encoding

    def estimated_rows(self) -> int:
        """Physical lines after the header: exact unless fields hold line breaks (for progress only)."""
        text = self._text
        lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        return max(lines - self._header_line, 0)

    def __iter__(self) -> Iterator[StandardRow]:
        if self._consumed:
            raise RuntimeError("a StandardReader can be iterated once")
        self._consumed = True
        idx = self._index
        ncols = len(self.header.columns)
        i_agency, i_road, i_lot, i_purpose = idx[AGENCY], idx[ROAD], idx[LOT], idx[PURPOSE]
        i_count, i_pixels, i_dir, i_ret = idx[COUNT], idx[PIXELS], idx[DIRECTION], idx[RETENTION]
        i_inst, i_phone, i_lat, i_lon, i_date = idx[INSTALLED], idx[PHONE], idx[LAT], idx[LON], idx[DATA_DATE]
        i_mgmt = idx.get(MANAGEMENT_NO)
        i_gov = idx.get(LOCAL_GOV_CODE, idx.get(PROVIDER_CODE))
        ext = tuple(idx.get(name) for name in EXTENSION_COLUMNS)
        has_ext = any(i is not None for i in ext)
        departments = {d.code: d.organisation for d in self.policy.departments}
        default_days = self.policy.retention.default_days
        # How often each site identity has appeared so far: the k-th repeat is a site of its own.
        seen: dict[str, tuple[int, int]] = {}
        reader = self._reader
        prev_line = reader.line_num
        sha1 = hashlib.sha1
        sha256 = hashlib.sha256
        policy = self.policy
        # A national file has a handful of distinct purposes and a few hundred agencies: decide each once.
        purposes: dict[str, tuple[str | None, Reason | None]] = {}
        owners: dict[str, str] = {}
        count_of, pixels_of, retention_of, month_of = _count_of, _pixels_of, _retention_of, _month_of
        (lat_lo, lat_hi), (lon_lo, lon_hi) = KOREA_LAT, KOREA_LON
        fmt_number = _fmt_number
        for cells in reader:
            line = prev_line + 1
            prev_line = reader.line_num
            n = len(cells)
            if n != ncols:
                if not any(c.strip() for c in cells):
                    continue  # blank line
                if n < ncols:
                    cells = cells + [""] * (ncols - n)
                elif any(c.strip() for c in cells[ncols:]):
                    yield StandardRow(
                        line,
                        None,
                        (
                            Reason(
                                "field_count",
                                f"필드 수({n})가 헤더({ncols})와 다릅니다 (따옴표 누락?)",
                                f"{n} fields but the header has {ncols} (unbalanced quotes?)",
                            ),
                        ),
                    )
                    continue
            reasons: list[Reason] = []
            agency = cells[i_agency].strip()
            if not agency:
                reasons.append(_AGENCY_MISSING)
            purpose_text = cells[i_purpose].strip()
            outcome = purposes.get(purpose_text)
            if outcome is None:
                outcome = purposes[purpose_text] = purpose_outcome(policy, purpose_text)
            primary, purpose_note = outcome
            if primary is None:
                reasons.append(purpose_note)
            count = count_of(cells[i_count])
            if count.__class__ is Reason:
                reasons.append(count)
            pixels = pixels_of(cells[i_pixels])
            if pixels.__class__ is Reason:
                reasons.append(pixels)
            notes: list[Reason] = [] if purpose_note is None else [purpose_note]
            retention = retention_of(cells[i_ret])
            if retention is None:
                retention = default_days
                notes.append(_retention_default(cells[i_ret].strip(), default_days))
            elif retention.__class__ is Reason:
                reasons.append(retention)
            month = month_of(cells[i_inst])
            if month.__class__ is Reason:
                reasons.append(month)
            lat_text, lon_text = cells[i_lat], cells[i_lon]
            try:
                lat, lon = float(lat_text), float(lon_text)
                if not (lat_lo <= lat <= lat_hi and lon_lo <= lon <= lon_hi):
                    reasons.append(_position_reason(lat_text.strip(), lon_text.strip(), lat, lon))
            except ValueError:
                reasons.append(_position_reason(lat_text.strip(), lon_text.strip(), None, None))
            if reasons:
                yield StandardRow(line, None, tuple(reasons))
                continue

            road, lot = cells[i_road].strip(), cells[i_lot].strip()
            if i_mgmt is not None and cells[i_mgmt].strip():
                gov = cells[i_gov].strip() if i_gov is not None else ""
                mgmt = cells[i_mgmt].strip()
                site_key = f"{gov}-{mgmt}" if gov else mgmt
                basis = None
            else:
                # Without 관리번호 a site is its agency, addresses, purpose, install month and position:
                # distinct sites on one pole share coordinates but not all of these.
                basis = f"{agency}|{road}|{lot}|{purpose_text}|{month or ''}|{lat:.6f}|{lon:.6f}"
                site_key = "STD-" + sha1(basis.encode("utf-8")).hexdigest()[:20]
            first = seen.get(site_key)
            if first is not None:
                # A row repeated (one row per camera of a shared pole, or a copied row): its cameras
                # are kept as a site of its own, numbered by its place among the repeats, so that
                # re-importing the same file finds the same sites.
                occurrence = first[1] + 1
                seen[site_key] = (first[0], occurrence)
                if basis is None:
                    site_key = f"{site_key}-R{occurrence}"
                else:
                    site_key = "STD-" + sha1(f"{basis}|{occurrence}".encode()).hexdigest()[:20]
                notes.append(_repeated(first[0]))
            else:
                seen[site_key] = (line, 1)
            direction, phone = cells[i_dir].strip(), cells[i_phone].strip()
            if (
                len(agency) > 120
                or len(road) > 300
                or len(lot) > 300
                or len(purpose_text) > 40
                or len(direction) > 120
                or len(phone) > 40
                or len(site_key) > MAX_SITE_KEY
            ):
                yield StandardRow(line, None, _too_long(agency, road, lot, purpose_text, direction, phone, site_key))
                continue
            owner = owners.get(agency)
            if owner is None:
                owner = owners[agency] = policy.standard_organisation(agency)
            department = group = storage = None
            extra: tuple[str, ...] = ()
            if has_ext:
                values = tuple(cells[i].strip() if i is not None else "" for i in ext)
                mapped = primary
                department, primary, group, storage, ext_notes = _extension(policy, departments, owner, primary, values)
                notes.extend(ext_notes)
                # The digest is the row's: a purpose the file states beyond its 설치목적구분 is part of
                # it; department, group and storage are the cameras' assignment, which a re-import
                # does not take from existing cameras (see importer._apply_changes).
                extra = (primary,) if primary != mapped else ()
            data_date = parse_data_date(cells[i_date].strip())
            digest = sha256(
                "\x1f".join(
                    (
                        site_key,
                        agency,
                        road,
                        lot,
                        purpose_text,
                        str(count),
                        fmt_number(pixels),
                        direction,
                        str(retention),
                        month or "",
                        phone,
                        repr(lat),
                        repr(lon),
                        str(data_date or ""),
                        *extra,
                    )
                ).encode("utf-8")
            ).hexdigest()
            yield StandardRow(
                line,
                SiteRecord(
                    site_key=site_key,
                    managing_agency=agency,
                    road_address=road or None,
                    lot_address=lot or None,
                    standard_purpose=purpose_text,
                    primary_purpose=primary,
                    camera_count=count,
                    pixels=pixels,
                    direction=direction or None,
                    retention_days=retention,
                    installed_month=month,
                    agency_phone=phone or None,
                    latitude=lat,
                    longitude=lon,
                    data_date=data_date,
                    owner_organisation=owner,
                    digest=digest,
                    department=department,
                    camera_group=group,
                    storage_mode=storage,
                ),
                (),
                tuple(notes),
            )
        self._text = ""  # release the decoded text once read


def _retention_default(text: str, days: int) -> Reason:
    shown = text or "(빈 값)"
    return Reason(
        "retention_default",
        f"보관일수를 알 수 없어 ({shown}) 정책 기본값 {days}일로 등록했습니다",
        f"retention days (보관일수) unknown ({text or 'empty'}): registered with the policy default of {days} days",
    )


def _repeated(first_line: int) -> Reason:
    return Reason(
        "repeated_row",
        f"{first_line}행과 같은 개소의 반복 행: 카메라를 별도 개소로 유지했습니다",
        f"repeats the site on line {first_line}: its cameras are kept, as a site of their own",
    )


def _extension(
    policy: Policy, departments: dict[str, str], owner: str, primary: str, values: tuple[str, ...]
) -> tuple[str | None, str, str | None, str | None, list[Reason]]:
    """Department, purpose, camera group and storage from gwanje's own columns, as far as the policy knows them.

    A value the policy does not know is dropped with a warning; the site then gets the policy's
    defaults for its purpose, as a file without these columns would.
    """
    department_code, purpose_code, group, storage = values
    notes: list[Reason] = []
    if purpose_code:
        if policy.has_purpose(purpose_code):
            primary = purpose_code
        else:
            notes.append(
                Reason(
                    "extension_unknown",
                    f"정책에 없는 주목적코드 {purpose_code!r}: 설치목적구분으로 정했습니다",
                    f"primary purpose code {purpose_code!r} is not in the policy: taken from 설치목적구분",
                )
            )
    department: str | None = None
    if department_code:
        if departments.get(department_code) == owner:
            department = department_code
        else:
            notes.append(
                Reason(
                    "extension_unknown",
                    f"담당부서코드 {department_code!r}는 정책에 없거나 관리기관의 부서가 아닙니다: "
                    "정책 기본값으로 정했습니다",
                    f"department code {department_code!r} is not in the policy or not the managing agency's: "
                    "the policy default applies",
                )
            )
    if storage and storage not in STORAGE_MODES:
        notes.append(
            Reason(
                "extension_unknown",
                f"알 수 없는 저장방식코드 {storage!r}: 정책 기본값으로 정했습니다",
                f"unknown storage mode code {storage!r}: the policy default applies",
            )
        )
        storage = ""
    if department is None:  # group and storage belong to the department's row; without it, the policy's
        return None, primary, None, None, notes
    return department, primary, group or None, storage or None, notes


def legacy_site_key(rec: SiteRecord) -> str | None:
    """The key a site without 관리번호 had before addresses and install month were part of its identity
    (agency, purpose and position only); None for a site keyed by its 관리번호."""
    if not rec.site_key.startswith("STD-"):
        return None
    basis = f"{rec.managing_agency}|{rec.standard_purpose}|{rec.latitude:.6f}|{rec.longitude:.6f}"
    return "STD-" + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:20]


def open_standard(
    source: Source, policy: Policy | None = None, columns: ColumnMapping | str | None = None
) -> StandardReader:
    """Decode and check the header now; rows are parsed as they are iterated.

    ``policy`` maps purposes and agencies (``standard_data``); the packaged policy when None.
    ``columns`` maps a non-standard header onto the standard's (see :func:`parse_column_mapping`).
    """
    mapping = parse_column_mapping(columns) if isinstance(columns, str) else columns
    return StandardReader(source, policy, mapping)


@dataclass(frozen=True)
class StandardFile:
    header: StandardHeader
    sha256: str
    rows: list[StandardRow]

    @property
    def records(self) -> list[SiteRecord]:
        return [r.record for r in self.rows if r.record is not None]

    @property
    def rejected(self) -> list[StandardRow]:
        return [r for r in self.rows if r.record is None]

    @property
    def warned(self) -> list[StandardRow]:
        return [r for r in self.rows if r.warnings]


def parse_standard(
    source: Source, policy: Policy | None = None, columns: ColumnMapping | str | None = None
) -> StandardFile:
    """Parse a whole file into memory (tests, previews); the importer streams with :func:`open_standard`."""
    reader = open_standard(source, policy, columns)
    return StandardFile(reader.header, reader.sha256, list(reader))


# ---- writing -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StandardOut:
    """What one output row needs: a site and the attributes its cameras share."""

    managing_agency: str
    road_address: str | None
    lot_address: str | None
    standard_purpose: str | None
    primary_purpose: str
    camera_count: int
    resolution_mp: float | None
    direction: str | None
    retention_days: int | None
    installed_month: str | None
    agency_phone: str | None
    latitude: float
    longitude: float
    data_date: date | None
    # gwanje's own columns (written by an extended export)
    site_key: str | None = None
    department: str | None = None
    camera_group: str | None = None
    storage_mode: str | None = None


EXTENDED_COLUMNS: tuple[str, ...] = (*STANDARD_COLUMNS, MANAGEMENT_NO, *EXTENSION_COLUMNS)


def extended_values(site: StandardOut) -> list[str]:
    """The 13 standard fields, then 관리번호 and gwanje's own columns (what a re-import rebuilds from)."""
    return [
        *standard_values(site),
        site.site_key or "",
        site.department or "",
        site.primary_purpose,
        site.camera_group or "",
        site.storage_mode or "",
    ]


def standard_values(site: StandardOut) -> list[str]:
    """The 13 standard fields of one site, formatted so that parsing them gives the same values back."""
    pixels = None if site.resolution_mp is None else round(site.resolution_mp * 100.0, 4)
    return [
        site.managing_agency,
        site.road_address or "",
        site.lot_address or "",
        site.standard_purpose or standard_purpose_for(site.primary_purpose),
        str(site.camera_count),
        _fmt_number(pixels),
        site.direction or "",
        str(site.retention_days if site.retention_days is not None else DEFAULT_RETENTION_DAYS),
        site.installed_month or "",
        site.agency_phone or "",
        repr(float(site.latitude)),
        repr(float(site.longitude)),
        site.data_date.isoformat() if site.data_date else "",
    ]


def write_standard(sites: Iterable[StandardOut], out: IO[str], *, extended: bool = False) -> int:
    """Write the 13-column form (``extended``: and gwanje's columns after them) to a text stream.

    The caller picks the encoding. Returns the row count.
    """
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXTENDED_COLUMNS if extended else STANDARD_COLUMNS)
    values = extended_values if extended else standard_values
    n = 0
    for site in sites:
        writer.writerow(values(site))
        n += 1
    return n


def write_standard_file(
    sites: Iterable[StandardOut], path: str | os.PathLike, encoding: str = "utf-8-sig", *, extended: bool = False
) -> int:
    """Write to ``path``: UTF-8 with BOM by default (what spreadsheets expect), ``cp949`` on request.

    The file is written next to its target and renamed, so a failure leaves no half-written file.
    """
    if encoding.lower().replace("_", "-") not in {"utf-8-sig", "utf-8", "cp949", "euc-kr"}:
        raise StandardFormatError(
            f"지원하지 않는 인코딩: {encoding}", f"unsupported encoding: {encoding}", field="encoding"
        )
    target = Path(path)
    tmp = target.with_name(target.name + ".part")
    try:
        with open(tmp, "w", encoding=encoding, errors="strict", newline="") as fh:
            n = write_standard(sites, fh, extended=extended)
    except UnicodeEncodeError as exc:
        tmp.unlink(missing_ok=True)
        bad = exc.object[exc.start : exc.end]
        raise StandardFormatError(
            f"{encoding}(으)로 쓸 수 없는 문자가 있습니다: {bad!r}; UTF-8로 내보내세요",
            f"character {bad!r} cannot be written in {encoding}; export as UTF-8",
            field="encoding",
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
    return n


def rows_digest_fields(record: SiteRecord) -> dict[str, Any]:
    """The record's values as a plain dict (audit before/after, previews)."""
    return {
        "site_key": record.site_key,
        "managing_agency": record.managing_agency,
        "road_address": record.road_address,
        "lot_address": record.lot_address,
        "standard_purpose": record.standard_purpose,
        "primary_purpose": record.primary_purpose,
        "camera_count": record.camera_count,
        "resolution_mp": record.resolution_mp,
        "direction": record.direction,
        "retention_days": record.retention_days,
        "installed_month": record.installed_month,
        "agency_phone": record.agency_phone,
        "latitude": record.latitude,
        "longitude": record.longitude,
        "data_date": record.data_date,
        "owner_organisation": record.owner_organisation,
    }
