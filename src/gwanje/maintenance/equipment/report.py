"""The register as a workbook (one sheet, Korean headings, times in KST), and the cells of an uploaded sheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from gwanje.core.clock import format_kst, utcnow
from gwanje.core.errors import ValidationFailed
from gwanje.maintenance.equipment import rules
from gwanje.maintenance.equipment.models import EquipmentItem
from gwanje.policy.model import Policy

WIDTHS = {"품명": 28, "설치장소(현장)": 28, "비고": 36, "수정일시(KST)": 20, "일련번호": 18, "모델": 16, "제조사": 14}


def read_cells(data: bytes) -> list[list[object]]:
    """The cells of an XLSX (first sheet) or a CSV (UTF-8, with or without BOM, or CP949)."""
    if not data:
        raise ValidationFailed("빈 파일입니다", "the file is empty", field="file")
    if data[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheet = book.worksheets[0]
            rows = [list(r) for r in sheet.iter_rows(values_only=True, max_row=rules.MAX_IMPORT_ROWS + 50)]
            book.close()
        except Exception as exc:  # a corrupt workbook is bad input, not a server error
            raise ValidationFailed("XLSX 파일을 읽을 수 없습니다", "cannot read the XLSX file", field="file") from exc
        return rows
    for encoding in ("utf-8-sig", "cp949"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed("CSV는 UTF-8 또는 CP949여야 합니다", "CSV must be UTF-8 or CP949", field="file")
    if "\x00" in text:
        raise ValidationFailed("XLSX 또는 CSV 파일이 아닙니다", "not an XLSX or CSV file", field="file")
    try:
        dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # type: ignore[assignment]
    try:
        return [list(r) for r in csv.reader(io.StringIO(text), dialect)]
    except csv.Error as exc:
        raise ValidationFailed("CSV를 읽을 수 없습니다", "cannot read the CSV", field="file") from exc


def _cell(policy: Policy, item: EquipmentItem, key: str) -> object:
    m = policy.maintenance
    value = getattr(item, key)
    if value is None:
        return None
    if key == "item_class" and m is not None:
        found = m.item_class(value)
        return found.ko if found else value
    if key == "status" and m is not None:
        found = m.status(value)
        return found.ko if found else value
    if key == "owner_organisation":
        return next((o.name_ko for o in policy.organisations if o.code == value), value)
    if key == "room":
        return next((r.ko for r in policy.duty.rooms if r.code == value), value)
    if key == "updated_at":
        return format_kst(value)[:19]
    return value


def to_xlsx(policy: Policy, items: Sequence[EquipmentItem]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "장비관리대장"
    sheet.append([heading for heading, _ in rules.COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for item in items:
        sheet.append([_cell(policy, item, key) for _, key in rules.COLUMNS])
        for cell in sheet[sheet.max_row]:
            # Text that starts like a formula (= + - @) stays text: a name typed as =HYPERLINK(…) must not
            # run in the reader's spreadsheet. Kept as it was typed, so the sheet imports back unchanged.
            if cell.data_type == "f":
                cell.data_type = "s"
    for i, (heading, key) in enumerate(rules.COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = WIDTHS.get(heading, 12)
        if key in ("acquired_on", "warranty_until"):
            for row in range(2, sheet.max_row + 1):
                sheet.cell(row=row, column=i).number_format = "yyyy-mm-dd"
        if key == "cost_krw":
            for row in range(2, sheet.max_row + 1):
                sheet.cell(row=row, column=i).number_format = "#,##0"
    sheet.freeze_panes = "A2"
    # When it was printed goes in the file's properties, not under the table: the sheet imports back as it is.
    book.properties.title = f"장비·시설물·물품 관리대장 {format_kst(utcnow())}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
