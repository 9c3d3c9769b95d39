"""개인영상정보 관리대장: append, correct, list, and print as XLSX or PDF (Korean fonts).

Rows are never changed: the database refuses UPDATE and DELETE on ``ledger_entries``. A
correction is a new row naming the row it corrects and the reason.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gwanje.access import rules
from gwanje.access.models import LedgerEntry
from gwanje.core.clock import format_kst, utcnow
from gwanje.core.errors import DomainError, ValidationFailed, not_found
from gwanje.policy.model import Policy

log = logging.getLogger(__name__)

NANUM_GOTHIC = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
NANUM_GOTHIC_BOLD = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")
LEDGER_CLAUSE = "pipa-ledger"


def ids_text(camera_ids: Iterable[int]) -> str:
    ids = sorted({int(c) for c in camera_ids})
    return "," + ",".join(str(i) for i in ids) + ("," if ids else "")


def append(session: Session, *, kind: str, items: str, method: str, handler_id: int | None, handler_name: str,
           occurred_at: datetime, recipient: str | None = None, recipient_organisation: str | None = None,
           purpose: str | None = None, legal_ground: str | None = None, camera_ids: Iterable[int] = (),
           period_start: datetime | None = None, period_end: datetime | None = None,
           retention_until: datetime | None = None, reference_type: str | None = None,
           reference_id: Any = None, clause: str | None = None, audit_seq: int | None = None,
           corrects_id: int | None = None, correction_reason: str | None = None) -> LedgerEntry:
    if kind not in rules.LEDGER_KINDS:
        raise ValueError(f"unknown ledger kind: {kind}")
    if method not in rules.LEDGER_METHODS:
        raise ValueError(f"unknown ledger method: {method}")
    entry = LedgerEntry(
        kind=kind, recorded_at=utcnow(), recipient=recipient, recipient_organisation=recipient_organisation,
        purpose=purpose, legal_ground=legal_ground, items=items, camera_ids=ids_text(camera_ids),
        period_start=period_start, period_end=period_end, occurred_at=occurred_at,
        retention_until=retention_until, method=method, handler_id=handler_id, handler_name=handler_name,
        reference_type=reference_type, reference_id=None if reference_id is None else str(reference_id),
        clause=clause, audit_seq=audit_seq, corrects_id=corrects_id, correction_reason=correction_reason,
    )
    session.add(entry)
    session.flush()
    return entry


CORRECTABLE = ("recipient", "recipient_organisation", "purpose", "legal_ground", "items", "period_start",
               "period_end", "occurred_at", "retention_until", "method")


def correction_of(session: Session, entry_id: int, changes: dict[str, Any], reason: str, *,
                  handler_id: int | None, handler_name: str) -> LedgerEntry:
    """A new row: the original with ``changes`` applied, pointing back at it, with the reason."""
    original = session.get(LedgerEntry, entry_id)
    if original is None:
        raise not_found("관리대장 행", "ledger row", entry_id)
    if not reason or not reason.strip():
        raise ValidationFailed("정정 사유를 입력하세요", "give the reason for the correction", field="reason")
    unknown = sorted(set(changes) - set(CORRECTABLE))
    if unknown:
        raise ValidationFailed(f"정정할 수 없는 항목: {', '.join(unknown)}",
                               f"fields that cannot be corrected: {', '.join(unknown)}", field="changes")
    if not changes:
        raise ValidationFailed("정정할 내용이 없습니다", "nothing to correct", field="changes")
    if "method" in changes and changes["method"] not in rules.LEDGER_METHODS:
        raise ValidationFailed(f"알 수 없는 방법: {changes['method']}", f"unknown method: {changes['method']}",
                               field="method")
    values = {name: getattr(original, name) for name in CORRECTABLE}
    values.update(changes)
    return append(
        session, kind=original.kind, handler_id=handler_id, handler_name=handler_name,
        camera_ids=[int(c) for c in original.camera_ids.split(",") if c],
        reference_type=original.reference_type, reference_id=original.reference_id, clause=original.clause,
        corrects_id=original.id, correction_reason=reason.strip(), **values,
    )


def list_entries(session: Session, *, kind: str | None = None, since: datetime | None = None,
                 until: datetime | None = None, limit: int = 1000) -> list[LedgerEntry]:
    stmt = select(LedgerEntry).order_by(LedgerEntry.id).limit(limit)
    if kind:
        stmt = stmt.where(LedgerEntry.kind == kind)
    if since:
        stmt = stmt.where(LedgerEntry.occurred_at >= since)
    if until:
        stmt = stmt.where(LedgerEntry.occurred_at < until)
    return list(session.scalars(stmt))


def entry_dict(e: LedgerEntry) -> dict[str, Any]:
    return {
        "id": e.id, "kind": e.kind, "recorded_at": e.recorded_at, "recipient": e.recipient,
        "recipient_organisation": e.recipient_organisation, "purpose": e.purpose, "legal_ground": e.legal_ground,
        "items": e.items, "camera_ids": [int(c) for c in e.camera_ids.split(",") if c],
        "period_start": e.period_start, "period_end": e.period_end, "occurred_at": e.occurred_at,
        "retention_until": e.retention_until, "method": e.method, "handler_name": e.handler_name,
        "reference_type": e.reference_type, "reference_id": e.reference_id, "clause": e.clause,
        "audit_seq": e.audit_seq, "corrects_id": e.corrects_id, "correction_reason": e.correction_reason,
    }


# ---- printing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    ko: str
    width: float  # mm in the PDF; characters / 2 in the XLSX


COLUMNS: Sequence[Column] = (
    Column("id", "번호", 10),
    Column("kind", "구분", 12),
    Column("occurred_at", "일시", 30),
    Column("recipient", "이용·제공받는 자 / 열람자", 32),
    Column("purpose", "목적", 24),
    Column("legal_ground", "법적 근거", 40),
    Column("items", "대상 (CCTV·영상 범위)", 48),
    Column("period", "이용·보유 기간", 36),
    Column("method", "방법", 22),
    Column("handler_name", "처리자", 20),
    Column("correction", "정정", 22),
)


def _cells(policy: Policy, e: LedgerEntry) -> dict[str, str]:
    purpose = e.purpose or ""
    if purpose and policy.has_purpose(purpose):
        purpose = policy.purpose(purpose).ko
    period = ""
    if e.period_start or e.period_end:
        period = f"{format_kst(e.period_start)[:16]} ~ {format_kst(e.period_end)[:16]}"
    if e.retention_until:
        period = (period + " / " if period else "") + f"보유 {format_kst(e.retention_until)[:10]}까지"
    recipient = " ".join(p for p in (e.recipient_organisation, e.recipient) if p)
    return {
        "id": str(e.id),
        "kind": rules.LEDGER_KINDS.get(e.kind, (e.kind,))[0],
        "occurred_at": format_kst(e.occurred_at)[:19],
        "recipient": recipient,
        "purpose": purpose,
        "legal_ground": e.legal_ground or "",
        "items": e.items,
        "period": period,
        "method": rules.LEDGER_METHODS.get(e.method, (e.method,))[0],
        "handler_name": e.handler_name,
        "correction": f"{e.corrects_id}번 정정: {e.correction_reason}" if e.corrects_id else "",
    }


def _title(kind: str | None) -> str:
    label = rules.LEDGER_KINDS[kind][0] + " " if kind in rules.LEDGER_KINDS else ""
    return f"개인영상정보 {label}관리대장"


def to_xlsx(policy: Policy, entries: Sequence[LedgerEntry], *, kind: str | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "관리대장"
    ws.append([_title(kind)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"{policy.agreement.title_ko} — 출력 {format_kst(utcnow())}"])
    ws.append([c.ko for c in COLUMNS])
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for e in entries:
        cells = _cells(policy, e)
        ws.append([_safe_cell(cells[c.key]) for c in COLUMNS])
    for i, c in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(8, c.width / 1.6)
    for row in ws.iter_rows(min_row=4):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A4"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _safe_cell(value: str) -> str:
    # A cell that starts with = + - @ is a formula to a spreadsheet: free text must not become one.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


class FontMissing(DomainError):
    """The PDF needs a Korean font; printing with a fallback would lose every Hangul glyph."""

    status = 503
    code = "font_missing"
    exit_code = 1


def to_pdf(policy: Policy, entries: Sequence[LedgerEntry], *, kind: str | None = None,
           font: Path = NANUM_GOTHIC, bold_font: Path = NANUM_GOTHIC_BOLD) -> bytes:
    """A4 landscape, NanumGothic embedded; refuses to print without the Korean font."""
    if not font.exists():
        raise FontMissing(f"한글 글꼴이 없습니다: {font} (Debian: apt-get install fonts-nanum)",
                          f"Korean font missing: {font} (install Debian's fonts-nanum)")
    from fpdf import FPDF

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # table-drop chatter on every print
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font("Nanum", "", str(font))
    pdf.add_font("Nanum", "B", str(bold_font if bold_font.exists() else font))
    pdf.set_title(_title(kind))
    pdf.add_page()
    pdf.set_font("Nanum", "B", 14)
    pdf.cell(0, 8, _title(kind), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Nanum", "", 8)
    pdf.cell(0, 5, f"{policy.agreement.title_ko} · 출력 {format_kst(utcnow())} · {len(entries)}건",
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    widths = [c.width for c in COLUMNS]
    scale = (pdf.w - pdf.l_margin - pdf.r_margin) / sum(widths)
    widths = tuple(w * scale for w in widths)
    pdf.set_font("Nanum", "", 7)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=3.6, repeat_headings=1,
                   headings_style=_heading_style()) as table:
        table.row([c.ko for c in COLUMNS])
        for e in entries:
            cells = _cells(policy, e)
            table.row([cells[c.key] for c in COLUMNS])
    return bytes(pdf.output())


def _heading_style():  # noqa: ANN202
    from fpdf.fonts import FontFace

    return FontFace(family="Nanum", emphasis="BOLD", fill_color=(230, 230, 230))
