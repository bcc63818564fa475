"""Cells written to files that people open in spreadsheets (CSV exports, error files)."""

from __future__ import annotations

# A cell starting with one of these runs as a formula in Excel, LibreOffice or Google Sheets (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_neutralise(cell: str) -> str:
    """A cell that cannot start a formula: a leading apostrophe, which spreadsheets show as plain text."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell
