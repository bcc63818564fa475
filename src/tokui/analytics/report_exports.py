"""CSV and Excel files of report tables.

CSV is UTF-8 with a BOM so that Excel opens the Japanese intact. Text cells that a spreadsheet would run as a
formula get a leading apostrophe (the same rule as the import error file); numbers stay numbers, so a negative
change is still a number. In the .xlsx file such text is stored as a string cell, which is never evaluated, so
it needs no apostrophe.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.http import HttpResponse

from tokui.core.spreadsheets import cell_neutralise

type Cell = str | int | float | Decimal | None

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    header: list[str]
    rows: list[list[Cell]]


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return cell_neutralise(value)
    return str(value)


def csv_bytes(table: Table) -> bytes:
    """One table as CSV (UTF-8 with BOM, CRLF lines)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_csv_cell(cell) for cell in table.header])
    for row in table.rows:
        writer.writerow([_csv_cell(cell) for cell in row])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def xlsx_bytes(tables: Sequence[Table]) -> bytes:
    """The tables as one workbook, a sheet each, with text cells that can never become formulas."""
    from openpyxl import Workbook  # only when a file is exported: openpyxl takes a while to import
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for table in tables:
        # Sheet titles: at most 31 characters, none of []:*?/\ .
        title = "".join(ch for ch in table.title if ch not in "[]:*?/\\")[:31] or "Sheet"
        sheet = workbook.create_sheet(title=title)
        header = []
        for name in table.header:
            cell = WriteOnlyCell(sheet, value=name)
            cell.data_type = "s"
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in table.rows:
            cells = []
            for value in row:
                # openpyxl writes a Decimal as a number; its stubs only list float.
                cell = WriteOnlyCell(sheet, value=cast(Any, value))
                if isinstance(value, str):
                    cell.data_type = "s"  # a name such as "=SUM(...)" stays text
                cells.append(cell)
            sheet.append(cells)
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def download(content: bytes, *, filename: str, content_type: str) -> HttpResponse:
    """An exported file as an attachment the browser saves under ``filename``."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
