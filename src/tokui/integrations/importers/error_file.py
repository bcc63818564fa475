"""The error file: the rejected rows as they were in the file, with the row number and the reason.

UTF-8 with a BOM so that Excel opens it with the Japanese intact. Every cell that Excel or another spreadsheet
would run as a formula (starting with = + - @, a tab or a carriage return) is prefixed with an apostrophe, so a
cell such as ``=cmd|' /C calc'!A0`` that came in with an uploaded file stays text when staff open the error file
(CSV injection). The two added columns are ignored when the fixed file is uploaded again, so the remembered
mapping of the original layout still applies.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator

from django.utils.translation import gettext as _

from tokui.core.spreadsheets import cell_neutralise
from tokui.integrations.importers.reading import ERROR_FILE_COLUMNS


class _Line:
    """A file-like object that hands back what ``csv.writer`` writes, one line at a time."""

    def write(self, value: str) -> str:
        return value


def error_file_chunks(header: list[str], rows: Iterable[tuple[int, list[str], str]], language: str) -> Iterator[bytes]:
    """Encoded chunks of the error file: BOM, header, then one line per rejected row (streamed)."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    row_label, reason_label = (ERROR_FILE_COLUMNS[0:2]) if language == "ja" else (ERROR_FILE_COLUMNS[2:4])
    yield codecs.BOM_UTF8
    yield str(writer.writerow([cell_neutralise(cell) for cell in [*header, row_label, reason_label]])).encode()
    buffer: list[str] = []
    for number, cells, message in rows:
        padded = (list(cells) + [""] * len(header))[: len(header)]
        buffer.append(str(writer.writerow([cell_neutralise(str(cell)) for cell in [*padded, str(number), message]])))
        if len(buffer) >= 500:
            yield "".join(buffer).encode()
            buffer = []
    if buffer:
        yield "".join(buffer).encode()


def error_file_name(original_name: str) -> str:
    stem = original_name.rsplit(".", 1)[0] or "import"
    return _("%(name)s_errors.csv") % {"name": stem}
