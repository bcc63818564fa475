"""Guessing which field a column is from its header (会社名, 電話番号, 受注日, Company name, Phone, ...)."""

from __future__ import annotations

import re
import unicodedata

from tokui.integrations.importers.base import Importer

_NOISE = re.compile(r"[\s()（）\[\]【】「」『』<>＜＞・･_\-‐ー―/／:：*＊※.。,、#＃]+")


def header_words(cell: str) -> str:
    """A header reduced to what matters for matching: 会社名（カナ） → 会社名カナ, E-mail → email, ＴＥＬ → tel."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", cell).casefold())


def _score(header: str, alias: str) -> float:
    if not header or not alias:
        return 0.0
    if header == alias:
        return 100.0 + len(alias)
    if len(alias) >= 2 and alias in header:
        return float(len(alias))
    if len(header) >= 2 and header in alias:
        return len(header) / 2
    return 0.0


def guess_mapping(importer: Importer, header: list[str]) -> list[str]:
    """A field key (or "" for not imported) per column; each field is given to its best-matching column once."""
    candidates: list[tuple[float, int, int, str]] = []
    for column, cell in enumerate(header):
        words = header_words(cell)
        for order, spec in enumerate(importer.fields):
            aliases = (spec.key, str(spec.label), *spec.aliases)
            best = max(_score(words, header_words(alias)) for alias in aliases)
            if best > 0:
                # Ties go to the earlier column and to the field listed first.
                candidates.append((best, -column, -order, spec.key))
    mapping = [""] * len(header)
    taken: set[str] = set()
    for _best, negative_column, _order, key in sorted(candidates, reverse=True):
        column = -negative_column
        if mapping[column] or key in taken:
            continue
        mapping[column] = key
        taken.add(key)
    return mapping
