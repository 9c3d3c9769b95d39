"""Police hot list (수배·도난 차량) matching of licence-plate reads. Pure: standard library only.

A plate read from an ANPR camera is matched against the hot list the police upload (and replace)
as CSV or through the API. A read matches when it equals a listed plate (``exact``) or differs
from one in exactly one character, and that character pair is a known OCR confusion
(``confusable``); the match says which position and which characters. Two substitutions, or one
substitution that is not in the table, never match: a hot-list hit dispatches police, so the
table is kept to confusions that plate OCR actually makes.

OCR confusion table (symmetric; a read character may be replaced by any character listed with it):

* digits that differ by a closed loop or a stroke: ``0↔8``, ``0↔9``, ``3↔8``, ``6↔8``, ``5↔6``,
  ``1↔7``;
* Latin letters that OCR engines emit for digits (reads only; listed plates never contain Latin
  letters): ``0↔D``, ``0↔O``, ``0↔Q``, ``1↔I``, ``1↔L``, ``2↔Z``, ``5↔S``, ``6↔G``, ``8↔B``;
* Hangul plate syllables that share the initial consonant and differ only in the vowel
  ㅏ/ㅓ/ㅗ/ㅜ, which is one short stroke on a plate: 가거고구, 나너노누, 다더도두, 라러로루, 마머모무,
  바버보부, 사서소수, 아어오우, 자저조주, and 하허호 (rental plates; 후 is not issued).
  배 (delivery) has no vowel sibling on plates and is left alone, as are the special syllables
  육/공/해/국/합 (military), which this list does not carry.

Within one position the alternatives are tried in code-point order, and positions left to right,
so when several listed plates are one confusion away the lowest position wins, then the lowest
listed character: the result is deterministic.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import NamedTuple

MAX_PLATE_LEN = 12
_HANGUL = frozenset(chr(c) for c in range(0xAC00, 0xD7A4))
_DIGITS = frozenset("0123456789")
_LATIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_PLATE_CHARS = _DIGITS | _HANGUL
_READ_CHARS = _PLATE_CHARS | _LATIN
# Separators that plate text carries in exports and OCR output; removed before anything else.
_STRIP = str.maketrans("", "", " \t\r\n\u00a0\u3000-\u2010\u2011\u2012\u2013\u2212.\u00b7")


class HotListReason(str, Enum):
    wanted = "wanted"
    stolen = "stolen"

    @property
    def label_ko(self) -> str:
        return {"wanted": "수배", "stolen": "도난"}[self.value]

    @property
    def label_en(self) -> str:
        return self.value


_REASON_WORDS = {
    "wanted": HotListReason.wanted,
    "수배": HotListReason.wanted,
    "수배차량": HotListReason.wanted,
    "stolen": HotListReason.stolen,
    "도난": HotListReason.stolen,
    "도난차량": HotListReason.stolen,
}

# ---- the confusion table ----------------------------------------------------------------------------

_DIGIT_PAIRS = ("08", "09", "38", "68", "56", "17")
_LATIN_PAIRS = ("0D", "0O", "0Q", "1I", "1L", "2Z", "5S", "6G", "8B")
_HANGUL_GROUPS = (
    "가거고구",
    "나너노누",
    "다더도두",
    "라러로루",
    "마머모무",
    "바버보부",
    "사서소수",
    "아어오우",
    "자저조주",
    "하허호",
)


def _confusion_table() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}

    def link(a: str, b: str) -> None:
        table.setdefault(a, set()).add(b)
        table.setdefault(b, set()).add(a)

    for a, b in _DIGIT_PAIRS + _LATIN_PAIRS:
        link(a, b)
    for group in _HANGUL_GROUPS:
        for i, a in enumerate(group):
            for b in group[i + 1 :]:
                link(a, b)
    return {ch: frozenset(alts) for ch, alts in table.items()}


#: Every confusable pair, both ways: ``CONFUSABLE["0"] == {"8", "9", "D", "O", "Q"}``.
CONFUSABLE: dict[str, frozenset[str]] = _confusion_table()
# The hot path only needs the alternatives a listed plate can contain (digits and Hangul),
# pre-sorted so that the first hit is the deterministic one.
_ALTERNATIVES: dict[str, tuple[str, ...]] = {
    ch: tuple(sorted(a for a in alts if a in _PLATE_CHARS)) for ch, alts in CONFUSABLE.items()
}
_ALTERNATIVES = {ch: alts for ch, alts in _ALTERNATIVES.items() if alts}


# ---- normalisation ------------------------------------------------------------------------------------


def _clean(text: str) -> str:
    if not isinstance(text, str):
        raise ValueError(f"차량번호는 문자열이어야 합니다 / a plate must be text: {text!r}")
    s = text.translate(_STRIP)
    if not unicodedata.is_normalized("NFC", s):  # decomposed jamo from some OCR engines
        s = unicodedata.normalize("NFC", s)
    s = s.upper()
    if not s:
        raise ValueError(f"차량번호가 비어 있습니다 / empty plate: {text!r}")
    if len(s) > MAX_PLATE_LEN:
        raise ValueError(
            f"차량번호가 {MAX_PLATE_LEN}자를 넘습니다 / plate longer than {MAX_PLATE_LEN} characters: {text!r}"
        )
    return s


def normalize_plate(text: str) -> str:
    """A listed plate in canonical form: no spaces, hyphens or dots; NFC; digits and Hangul only.

    ``"서울 12가-3456" → "서울12가3456"``. Raises ValueError when empty, longer than 12 characters,
    or containing anything but digits and Hangul syllables.
    """
    s = _clean(text)
    if not _PLATE_CHARS.issuperset(s):
        bad = next(ch for ch in s if ch not in _PLATE_CHARS)
        raise ValueError(
            f"차량번호에 숫자와 한글 외의 문자가 있습니다 / plate has a character other than digits "
            f"and Hangul ({bad!r}): {text!r}"
        )
    return s


def normalize_read(text: str) -> str:
    """A plate read in canonical form: like :func:`normalize_plate`, but upper-case Latin letters are
    kept, since OCR emits them for look-alike digits (``"12가34S6"``)."""
    s = _clean(text)
    if not _READ_CHARS.issuperset(s):
        bad = next(ch for ch in s if ch not in _READ_CHARS)
        raise ValueError(
            f"판독 결과에 허용되지 않는 문자가 있습니다 / read has a character other than digits, "
            f"Hangul and Latin letters ({bad!r}): {text!r}"
        )
    return s


def plausible_plate(plate: str) -> bool:
    """A listed plate needs at least one Hangul syllable and four digits (every Korean format has
    them: ``12가3456``, ``서울12가3456``, motorcycle ``서울강남가1234``, diplomatic ``외교123456``);
    this refuses truncated cells such as ``"1234"`` that would otherwise match widely."""
    digits = sum(ch in _DIGITS for ch in plate)
    return digits >= 4 and digits < len(plate)


# ---- the list -----------------------------------------------------------------------------------------


class HotListEntry(NamedTuple):
    """One listed vehicle; a tuple so that ``tuple(entry)`` and unpacking work. ``reason`` is the
    plain value of :class:`HotListReason` ("wanted" or "stolen"), ready to store."""

    plate: str
    reason: str
    case_ref: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Match:
    plate: str  # the listed plate
    read: str  # the read, normalised
    kind: str  # "exact" | "confusable"
    position: int | None  # index into ``read`` of the substituted character; None when exact
    read_char: str | None
    list_char: str | None
    reason: str  # HotListReason value: "wanted" | "stolen"
    case_ref: str
    note: str = ""


def _reason(value: object) -> HotListReason:
    if isinstance(value, HotListReason):
        return value
    reason = _REASON_WORDS.get(str(value).strip().lower()) if value is not None else None
    if reason is None:
        raise ValueError(f"알 수 없는 구분입니다 (수배/도난) / unknown reason (wanted/stolen): {value!r}")
    return reason


class HotList:
    """An immutable hot list; build a new one when the police replace the list."""

    __slots__ = ("_plates", "_lengths")

    def __init__(self, plates: dict[str, tuple[str, str, str]]):
        self._plates = plates
        self._lengths = frozenset(len(p) for p in plates)

    @classmethod
    def build(cls, entries: Iterable[HotListEntry | tuple]) -> HotList:
        """From entries or (plate, reason[, case_ref[, note]]) tuples. Raises ValueError on a bad
        plate, an unknown reason or a duplicate plate, naming the entry's position."""
        plates: dict[str, tuple[str, str, str]] = {}
        for n, entry in enumerate(entries):
            if not 2 <= len(entry) <= 4:
                raise ValueError(
                    f"항목 {n}: (차량번호, 구분[, 사건번호[, 비고]]) 형식이어야 합니다 / entry {n}: "
                    "expected (plate, reason[, case_ref[, note]])"
                )
            plate, reason, case_ref, note = (*entry, "", "")[:4]
            try:
                key = normalize_plate(plate)
                if not plausible_plate(key):
                    raise ValueError(f"차량번호 형식이 아닙니다 / not a plate: {plate!r}")
                value = (_reason(reason).value, str(case_ref or ""), str(note or ""))
            except ValueError as exc:
                raise ValueError(f"항목 {n} / entry {n}: {exc}") from None
            if key in plates:
                raise ValueError(f"항목 {n}: 중복된 차량번호 / entry {n}: duplicate plate {key}")
            plates[key] = value
        return cls(plates)

    def __len__(self) -> int:
        return len(self._plates)

    def __contains__(self, plate: object) -> bool:
        return plate in self._plates

    def match(self, read_text: str) -> Match | None:
        """The listed plate that this read is, or is one OCR confusion away from; None otherwise.

        Raises ValueError when the read is not plate-like text (see :func:`normalize_read`).
        """
        plates = self._plates
        if read_text in plates:  # most reads arrive canonical, and a listed plate is canonical
            hit = plates[read_text]
            return Match(read_text, read_text, "exact", None, None, None, hit[0], hit[1], hit[2])
        # Text made only of digits, Hangul syllables and upper-case Latin letters is already
        # canonical (nothing to strip, compose or upper-case): skip normalize_read for it.
        if type(read_text) is str and 0 < len(read_text) <= MAX_PLATE_LEN and _READ_CHARS.issuperset(read_text):
            read = read_text
        else:
            read = normalize_read(read_text)
            hit = plates.get(read)
            if hit is not None:
                return Match(read, read, "exact", None, None, None, hit[0], hit[1], hit[2])
        if len(read) not in self._lengths:
            return None
        alternatives = _ALTERNATIVES
        for pos, ch in enumerate(read):
            alts = alternatives.get(ch)
            if alts is None:
                continue
            head, tail = read[:pos], read[pos + 1 :]
            for alt in alts:
                if head + alt + tail in plates:
                    plate = head + alt + tail
                    hit = plates[plate]
                    return Match(plate, read, "confusable", pos, ch, alt, hit[0], hit[1], hit[2])
        return None


# ---- CSV upload -----------------------------------------------------------------------------------------

_HEADER_NAMES = {
    "차량번호": "plate",
    "plate": "plate",
    "구분": "reason",
    "reason": "reason",
    "사건번호": "case_ref",
    "case_ref": "case_ref",
    "비고": "note",
    "note": "note",
}


@dataclass(frozen=True, slots=True)
class HotListLineError:
    line: int  # 1-based physical line of the record in the file
    code: str  # "bad_plate" | "unknown_reason" | "duplicate_plate" | "bad_row"
    value: str
    ko: str
    en: str

    def __str__(self) -> str:
        return f"{self.line}행 / line {self.line}: {self.ko} / {self.en} ({self.value!r})"


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp949")
    except UnicodeDecodeError:
        raise ValueError(
            "파일 인코딩을 알 수 없습니다 (UTF-8 또는 CP949) / the file is neither UTF-8 nor CP949"
        ) from None


def parse_hotlist_csv(data: bytes) -> tuple[list[HotListEntry], list[HotListLineError]]:
    """Parse a police hot-list CSV (UTF-8, UTF-8 with BOM, or CP949).

    The header is ``차량번호,구분,사건번호,비고`` or ``plate,reason,case_ref,note`` (any order; the
    last two optional; other columns ignored). Returns the good entries and one error per bad line
    (bad plate, unknown reason, duplicate plate: the first occurrence is kept). A file that cannot
    be decoded or has no such header raises ValueError.
    """
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    columns: dict[str, int] | None = None
    entries: list[HotListEntry] = []
    errors: list[HotListLineError] = []
    first_line: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if columns is None:
            columns = {}
            for i, name in enumerate(row):
                key = _HEADER_NAMES.get(name.strip().lower())
                if key is not None and key not in columns:
                    columns[key] = i
            if "plate" not in columns or "reason" not in columns:
                raise ValueError(
                    "머리글에 차량번호와 구분 열이 필요합니다 / the header needs 차량번호 and 구분 "
                    f"(plate and reason) columns: {row!r}"
                )
            width = max(columns.values()) + 1
            continue

        def cell(name: str, row: list[str] = row) -> str:
            i = columns.get(name)
            return row[i].strip() if i is not None and i < len(row) else ""

        if len(row) < width and (len(row) <= columns["plate"] or len(row) <= columns["reason"]):
            errors.append(HotListLineError(line, "bad_row", ",".join(row), "열 개수가 부족합니다", "too few columns"))
            continue
        raw_plate, raw_reason = cell("plate"), cell("reason")
        try:
            plate = normalize_plate(raw_plate)
            if not plausible_plate(plate):
                raise ValueError("not a plate")
        except ValueError:
            errors.append(HotListLineError(line, "bad_plate", raw_plate, "잘못된 차량번호", "bad plate"))
            continue
        reason = _REASON_WORDS.get(raw_reason.lower())
        if reason is None:
            errors.append(
                HotListLineError(
                    line, "unknown_reason", raw_reason, "알 수 없는 구분 (수배/도난)", "unknown reason (wanted/stolen)"
                )
            )
            continue
        if plate in first_line:
            errors.append(
                HotListLineError(
                    line,
                    "duplicate_plate",
                    raw_plate,
                    f"중복된 차량번호 ({first_line[plate]}행과 같음)",
                    f"duplicate plate (same as line {first_line[plate]})",
                )
            )
            continue
        first_line[plate] = line
        entries.append(HotListEntry(plate, reason.value, cell("case_ref"), cell("note")))
    if columns is None:
        raise ValueError("빈 파일입니다 / the file is empty")
    return entries, errors
