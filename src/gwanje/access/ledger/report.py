"""The ledgers printed: XLSX, and PDF with an embedded Korean font (A4 landscape)."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gwanje.access.choices import LedgerKind, LedgerMethod
from gwanje.access.models import LedgerEntry
from gwanje.core.clock import format_kst, utcnow
from gwanje.core.errors import DomainError
from gwanje.policy.model import Policy

NANUM_GOTHIC = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
NANUM_GOTHIC_BOLD = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")


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
        "kind": LedgerKind.label(e.kind),
        "occurred_at": format_kst(e.occurred_at)[:19],
        "recipient": recipient,
        "purpose": purpose,
        "legal_ground": e.legal_ground or "",
        "items": e.items,
        "period": period,
        "method": LedgerMethod.label(e.method),
        "handler_name": e.handler_name,
        "correction": f"{e.corrects_id}번 정정: {e.correction_reason}" if e.corrects_id else "",
    }


def _title(kind: str | None) -> str:
    label = LedgerKind.label(kind) + " " if kind in LedgerKind else ""
    return f"개인영상정보 {label}관리대장"


def to_xlsx(policy: Policy, entries: Sequence[LedgerEntry], *, kind: str | None = None) -> bytes:
    # Imported when a ledger is printed: openpyxl is heavy and nothing else needs it.
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
        # 번호 is a number (sorts and sums as one); every other cell is text.
        ws.append([e.id if c.key == "id" else _safe_cell(cells[c.key]) for c in COLUMNS])
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


def to_pdf(
    policy: Policy,
    entries: Sequence[LedgerEntry],
    *,
    kind: str | None = None,
    font: Path = NANUM_GOTHIC,
    bold_font: Path = NANUM_GOTHIC_BOLD,
) -> bytes:
    """A4 landscape, NanumGothic embedded; refuses to print without the Korean font."""
    if not font.exists():
        raise FontMissing(
            f"한글 글꼴이 없습니다: {font} (Debian: apt-get install fonts-nanum)",
            f"Korean font missing: {font} (install Debian's fonts-nanum)",
        )
    from fpdf import FPDF  # heavy, and needed only to print

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
    pdf.cell(
        0,
        5,
        f"{policy.agreement.title_ko} · 출력 {format_kst(utcnow())} · {len(entries)}건",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    widths = [c.width for c in COLUMNS]
    scale = (pdf.w - pdf.l_margin - pdf.r_margin) / sum(widths)
    widths = tuple(w * scale for w in widths)
    pdf.set_font("Nanum", "", 7)
    with pdf.table(
        col_widths=widths, text_align="LEFT", line_height=3.6, repeat_headings=1, headings_style=_heading_style()
    ) as table:
        table.row([c.ko for c in COLUMNS])
        for e in entries:
            cells = _cells(policy, e)
            table.row([cells[c.key] for c in COLUMNS])
    return bytes(pdf.output())


def _heading_style() -> object:
    from fpdf.fonts import FontFace

    return FontFace(family="Nanum", emphasis="BOLD", fill_color=(230, 230, 230))
