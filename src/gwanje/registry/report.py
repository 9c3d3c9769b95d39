"""The Annex 1 report rendered as text, CSV or XLSX (numbers always from the database, titles from the policy)."""

from __future__ import annotations

import csv
import io

from gwanje.registry.schemas import Annex1Read

HEADER = ("부서", "주목적", "개소", "대수", "주목적 외 용도", "비고")


def _rows(report: Annex1Read) -> list[tuple]:
    out = []
    for r in report.rows:
        secondary = " ".join(f"{i}. {p}" for i, p in enumerate(r.secondary_purposes_ko, start=1))
        out.append((r.department_ko, r.label_ko, r.sites, r.cameras, secondary, r.remarks_ko))
    out.append(("합계", "", report.total_sites, report.total_cameras, "", ""))
    return out


def as_text(report: Annex1Read) -> str:
    rows = [HEADER, *[(a, b, f"{c:,}", f"{d:,}", e, f) for a, b, c, d, e, f in _rows(report)]]
    widths = [max(_width(str(row[i])) for row in rows) for i in range(len(HEADER))]
    lines = [f"{report.title_ko} (Annex 1, computed from the registry)", report.agreement_ko, ""]
    for n, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            pad = widths[i] - _width(str(cell))
            cells.append(" " * pad + str(cell) if i in (2, 3) else str(cell) + " " * pad)
        lines.append("  ".join(cells).rstrip())
        if n == 0 or n == len(rows) - 2:
            lines.append("-" * (sum(widths) + 2 * (len(widths) - 1)))
    return "\n".join(lines) + "\n"


def _width(text: str) -> int:
    # Hangul and other wide characters take two terminal columns.
    return sum(2 if ord(ch) >= 0x1100 else 1 for ch in text)


def as_csv(report: Annex1Read) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(_rows(report))
    return buf.getvalue().encode("utf-8-sig")


def as_xlsx(report: Annex1Read) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "별표1"
    wb.properties.title = report.title_ko
    wb.properties.subject = report.agreement_ko
    ws.append([report.title_ko])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(list(HEADER))
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for row in _rows(report):
        ws.append(list(row))
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for col, width in zip("ABCDEF", (14, 22, 8, 8, 60, 12)):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
