"""The 출입관리대장 printed: XLSX, and PDF with an embedded Korean font (A4 landscape)."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

from gwanje.center.rooms import rules
from gwanje.center.rooms.models import RoomAccessEntry
from gwanje.core.clock import format_kst, utcnow
from gwanje.core.errors import Unavailable
from gwanje.policy.model import Policy

NANUM_GOTHIC = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")
NANUM_GOTHIC_BOLD = Path("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf")

# (heading, width in mm on the PDF)
COLUMNS: Sequence[tuple[str, float]] = (
    ("번호", 10),
    ("일시", 30),
    ("실", 18),
    ("구분", 22),
    ("성명", 24),
    ("소속", 28),
    ("카드", 20),
    ("동행자", 20),
    ("인가", 10),
    ("출입문·기록", 30),
    ("기록자", 20),
    ("비고", 50),
)


def title(policy: Policy, room: str | None) -> str:
    name = next((r.ko for r in policy.duty.rooms if r.code == room), None)
    return f"{name} 출입관리대장" if name else "출입관리대장"


def rows(policy: Policy, entries: Sequence[RoomAccessEntry]) -> list[list[str]]:
    rooms = {r.code: r.ko for r in policy.duty.rooms}
    organisations = {o.code: o.name_ko for o in policy.organisations}
    out = []
    for e in entries:
        remarks = [f"상황 {e.incident_id}번" if e.incident_id else "", e.note or ""]
        out.append(
            [
                str(e.id),
                format_kst(e.at)[:19],
                rooms.get(e.room, e.room),
                rules.EVENTS.get(e.event, (e.event, e.event))[0],
                e.person_name or "",
                organisations.get(e.organisation or "", e.organisation or ""),
                e.badge or "",
                e.escort_name or "",
                "예" if e.authorised else ("아니오" if e.event in ("entry", "exit") else "-"),
                e.door or "콘솔",
                e.recorded_by,
                " · ".join(r for r in remarks if r),
            ]
        )
    return out


def _safe(value: str) -> str:
    # A cell that starts with = + - @ is a formula to a spreadsheet: free text must not become one.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def to_xlsx(policy: Policy, entries: Sequence[RoomAccessEntry], *, room: str | None = None) -> bytes:
    from openpyxl import Workbook  # heavy, and needed only to print
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "출입관리대장"
    ws.append([title(policy, room)])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([f"{policy.agreement.title_ko} — 출력 {format_kst(utcnow())} · {len(entries)}건"])
    ws.append([heading for heading, _ in COLUMNS])
    for cell in ws[3]:
        cell.font = Font(bold=True)
    for entry, cells in zip(entries, rows(policy, entries), strict=True):
        ws.append([entry.id, *(_safe(c) for c in cells[1:])])
    for i, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(8, width / 1.6)
    for row in ws.iter_rows(min_row=4):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A4"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_pdf(policy: Policy, entries: Sequence[RoomAccessEntry], *, room: str | None = None) -> bytes:
    """A4 landscape, NanumGothic embedded; refuses to print without the Korean font."""
    if not NANUM_GOTHIC.exists():
        raise Unavailable(
            f"한글 글꼴이 없습니다: {NANUM_GOTHIC} (Debian: apt-get install fonts-nanum)",
            f"Korean font missing: {NANUM_GOTHIC} (install Debian's fonts-nanum)",
        )
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    heading = title(policy, room)
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font("Nanum", "", str(NANUM_GOTHIC))
    pdf.add_font("Nanum", "B", str(NANUM_GOTHIC_BOLD if NANUM_GOTHIC_BOLD.exists() else NANUM_GOTHIC))
    pdf.set_title(heading)
    pdf.add_page()
    pdf.set_font("Nanum", "B", 14)
    pdf.cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Nanum", "", 8)
    pdf.cell(
        0,
        5,
        f"{policy.agreement.title_ko} · 출력 {format_kst(utcnow())} · {len(entries)}건",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    widths = [w for _, w in COLUMNS]
    scale = (pdf.w - pdf.l_margin - pdf.r_margin) / sum(widths)
    pdf.set_font("Nanum", "", 7)
    style = FontFace(family="Nanum", emphasis="BOLD", fill_color=(230, 230, 230))
    with pdf.table(
        col_widths=tuple(w * scale for w in widths),
        text_align="LEFT",
        line_height=3.6,
        repeat_headings=1,
        headings_style=style,
    ) as table:
        table.row([h for h, _ in COLUMNS])
        for cells in rows(policy, entries):
            table.row(cells)
    return bytes(pdf.output())
