"""Reading uploaded CSV and Excel files as a stream of rows, in constant memory.

CSV files from Japanese systems come in UTF-8 (with or without the BOM Excel writes), Shift_JIS / CP932 (Excel's
"CSV (comma delimited)" on Japanese Windows) or UTF-16 (Excel's "Unicode text", tab separated). The encoding is
found by decoding the whole file incrementally, chunk by chunk, in a fixed order; the first that decodes every byte
wins. CP932 rather than plain Shift_JIS, because CP932 holds the characters real customer lists contain (髙, 﨑, ①, ㈱)
and Shift_JIS does not.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import unicodedata
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import IO

from django.utils.translation import gettext as _

from tokui.core.errors import DomainError
from tokui.integrations.enums import ImportFileFormat

type CellValue = str | int | float | Decimal | bool | dt.datetime | dt.date | dt.time | None

CHUNK_BYTES = 1 << 18
SAMPLE_ROWS = 5

ENCODING_LABELS = {
    "utf-8-sig": "UTF-8 (BOM)",
    "utf-8": "UTF-8",
    "cp932": "Shift_JIS (CP932)",
    "utf-16": "UTF-16",
}

# The error file adds these columns after the original ones; a fixed error file is the same layout as the original.
ERROR_FILE_COLUMNS = ("元の行番号", "エラー内容", "original row", "error")


class FileProblemError(DomainError):
    """The file as a whole cannot be read (encoding, format, broken CSV): nothing was imported."""

    code = "unreadable_file"


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One data row: ``number`` is the row as Excel shows it (the header is row 1)."""

    number: int
    cells: tuple[CellValue, ...]


@dataclass(frozen=True, slots=True)
class FileLayout:
    """What the upload step learns about a file before anything is mapped."""

    file_format: str
    encoding: str
    delimiter: str
    header: list[str]
    sample_rows: list[list[str]]


def file_format_of(name: str) -> ImportFileFormat:
    lowered = name.lower()
    if lowered.endswith((".csv", ".txt", ".tsv")):
        return ImportFileFormat.CSV
    if lowered.endswith((".xlsx", ".xlsm")):
        return ImportFileFormat.XLSX
    if lowered.endswith(".xls"):
        raise FileProblemError(
            _(
                "This is the old Excel format (.xls). Open it in Excel and save it as .xlsx or as CSV, then upload "
                "again."
            )
        )
    raise FileProblemError(_("Upload a CSV file (.csv) or an Excel workbook (.xlsx)."))


# --- Encoding -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _DecodeFailure:
    encoding: str
    line: int
    offset: int


def _first_failure(stream: IO[bytes], encoding: str) -> _DecodeFailure | None:
    """Decode the whole stream in chunks; where the first undecodable byte is, or ``None`` when all decode."""
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    newlines = 0
    offset = 0
    # UTF-16 puts 0x0A inside other characters; count decoded newlines there, raw bytes elsewhere (faster).
    count_text = encoding == "utf-16"
    while True:
        chunk = stream.read(CHUNK_BYTES)
        final = not chunk
        try:
            text = decoder.decode(chunk, final=final)
        except UnicodeDecodeError as error:
            before = error.object[: error.start]
            line = newlines + (0 if count_text else bytes(before).count(b"\n")) + 1
            return _DecodeFailure(encoding=encoding, line=line, offset=offset + error.start)
        newlines += text.count("\n") if count_text else chunk.count(b"\n")
        offset += len(chunk)
        if final:
            return None


def detect_encoding(stream: IO[bytes]) -> str:
    """The encoding of a CSV file: a BOM decides; else UTF-8, else CP932. Raises a clear error naming the line."""
    stream.seek(0)
    head = stream.read(4)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp932"]
    failures: list[_DecodeFailure] = []
    for encoding in candidates:
        failure = _first_failure(stream, encoding)
        if failure is None:
            stream.seek(0)
            return encoding
        failures.append(failure)
    # The encoding that read furthest is what the file was meant to be; its first bad line is the one to fix.
    worst = max(failures, key=lambda failure: failure.offset)
    stream.seek(0)
    raise FileProblemError(
        _(
            "Line %(line)s of the file contains bytes that are not valid text (read as %(encoding)s). Nothing was "
            "imported. Check that line for broken characters, or save the file again from Excel as “CSV UTF-8” "
            "and upload it again."
        )
        % {"line": f"{worst.line:,}", "encoding": ENCODING_LABELS.get(worst.encoding, worst.encoding)}
    )


def _delimiter_of(first_line: str) -> str:
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", "\t", ";")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


# --- Rows -----------------------------------------------------------------------------------------------------


def cell_text(value: CellValue) -> str:
    """A cell as the text a person would type: dates as 2026-11-25, whole numbers without “.0”."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time.min and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def _is_blank(cells: tuple[CellValue, ...] | list[CellValue]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def header_cells(cells: tuple[CellValue, ...] | list[CellValue]) -> list[str]:
    """The header row as text, without the empty cells Excel leaves after the last column."""
    header = [cell_text(cell).strip() for cell in cells]
    while header and not header[-1]:
        header.pop()
    return header


def normalise_header_cell(cell: str) -> str:
    """Full-width to half-width, case and spaces folded: ＴＥＬ, tel and ' TEL ' are the same column name."""
    return " ".join(unicodedata.normalize("NFKC", cell).casefold().split())


def header_hash(header: list[str]) -> str:
    """The identity of a file layout: the hash of its normalised header row (error-file columns left out)."""
    cells = [normalise_header_cell(cell) for cell in header]
    error_columns = {normalise_header_cell(name) for name in ERROR_FILE_COLUMNS}
    while cells and (not cells[-1] or cells[-1] in error_columns):
        cells.pop()
    return hashlib.sha256("\x1f".join(cells).encode()).hexdigest()


class TableReader:
    """The header and the data rows of an open file. Iterate :meth:`rows` once."""

    def __init__(self, header: list[str], rows: Iterator[SourceRow]) -> None:
        self.header = header
        self._rows = rows

    def rows(self) -> Iterator[SourceRow]:
        return self._rows


def _csv_rows(text: IO[str], delimiter: str) -> Iterator[tuple[int, tuple[CellValue, ...]]]:
    reader = csv.reader(text, delimiter=delimiter)
    number = 0
    try:
        for record in reader:
            number += 1
            yield number, tuple(record)
    except csv.Error as error:
        raise FileProblemError(
            _(
                "The CSV file is broken near line %(line)s (%(detail)s). Nothing more was read. Open the file in "
                "Excel, save it again as CSV and upload it again."
            )
            % {"line": f"{reader.line_num:,}", "detail": error}
        ) from error


@contextmanager
def _csv_table(stream: IO[bytes], *, encoding: str, delimiter: str) -> Iterator[TableReader]:
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        records = _csv_rows(text, delimiter)
        first = next(records, None)
        header = header_cells(first[1]) if first else []
        yield TableReader(header, _data_rows(records))
    finally:
        text.detach()


def _data_rows(records: Iterator[tuple[int, tuple[CellValue, ...]]]) -> Iterator[SourceRow]:
    for number, cells in records:
        if not _is_blank(cells):
            yield SourceRow(number=number, cells=cells)


def _excel_cell(value: object) -> CellValue:
    """A cell value as openpyxl gives it; rich text, durations and formulas without a cached value become text."""
    if value is None or isinstance(value, str | int | float | Decimal | bool | dt.datetime | dt.date | dt.time):
        return value
    return str(value)


@contextmanager
def _xlsx_table(stream: IO[bytes]) -> Iterator[TableReader]:
    import openpyxl  # only when an Excel file is read: openpyxl takes a while to import
    from openpyxl.utils.exceptions import InvalidFileException

    stream.seek(0)
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as error:
        raise FileProblemError(
            _("This file could not be read as an Excel workbook (.xlsx). Save it again from Excel and upload it again.")
        ) from error
    try:
        sheet = workbook.worksheets[0]
        records = (
            (number, tuple(_excel_cell(cell) for cell in cells))
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
        first = next(records, None)
        header = header_cells(first[1]) if first else []
        yield TableReader(header, _data_rows(records))
    finally:
        workbook.close()


@contextmanager
def open_table(
    stream: IO[bytes], *, file_format: str, encoding: str = "", delimiter: str = ","
) -> Iterator[TableReader]:
    """Open a stored file for reading rows; the rows are read lazily as they are iterated."""
    if file_format == ImportFileFormat.XLSX:
        with _xlsx_table(stream) as table:
            yield table
    else:
        with _csv_table(stream, encoding=encoding, delimiter=delimiter) as table:
            yield table


def inspect_file(stream: IO[bytes], *, name: str) -> FileLayout:
    """Find a file's format, encoding, delimiter, header and first rows (the upload step)."""
    file_format = file_format_of(name)
    encoding, delimiter = "", ","
    if file_format == ImportFileFormat.CSV:
        encoding = detect_encoding(stream)
        first_line = io.TextIOWrapper(stream, encoding=encoding, newline="")
        try:
            delimiter = _delimiter_of(first_line.readline())
        finally:
            first_line.detach()
    with open_table(stream, file_format=file_format, encoding=encoding, delimiter=delimiter) as table:
        if not table.header:
            raise FileProblemError(_("The first row of the file is empty. Put the column names in the first row."))
        samples: list[list[str]] = []
        for row in table.rows():
            samples.append([cell_text(cell) for cell in row.cells[: len(table.header)]])
            if len(samples) >= SAMPLE_ROWS:
                break
        header = table.header
    return FileLayout(
        file_format=file_format, encoding=encoding, delimiter=delimiter, header=header, sample_rows=samples
    )
