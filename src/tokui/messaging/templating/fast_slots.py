"""Slot markers in a compiled send template's literal text (``templating.fast``), filled per render.

A newsletter's fixed links each carry the mail's click-link prefix (``rendering.compiled.LINK_SLOT``): the literal
text around a run of one slot is kept as a list and written with ``fill.join(texts)``, one C call, instead of a
closure call and two appends per link.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from liquid.builtin.tags.for_tag import ForLoop

Values = Mapping[str, Any]
# Text, or UTF-8 bytes for a template compiled with ``utf8`` (a 20 KB part is not encoded again for every mail).
Out = list[Any]
Loops = list[ForLoop]
Piece = Callable[[Values, Out, Loops], None]
# Where a render's slot fills travel with the values: not a name a Liquid template can write.
FILLS = "\x00fills"


class Slot:
    """A slot marker in literal text, filled per render (joined with its neighbouring text by ``fuse_slots``)."""

    __slots__ = ("marker",)

    def __init__(self, marker: str) -> None:
        self.marker = marker


def _slot_run(marker: str, texts: list[str], *, utf8: bool) -> Piece:
    # ``fill.join(texts)``: one C call writes the text between a run of the same slot (a newsletter's 40 fixed links
    # each carry the mail's click prefix) instead of a closure call and two appends per slot.
    if utf8:
        encoded = [text.encode() for text in texts]

        def fill_utf8(values: Values, out: Out, _loops: Loops) -> None:
            out.append(values[FILLS].get(marker, marker).encode().join(encoded))

        return fill_utf8

    def fill(values: Values, out: Out, _loops: Loops) -> None:
        out.append(values[FILLS].get(marker, marker).join(texts))

    return fill


def fuse_slots(pieces: Sequence[str | Piece | Slot], *, utf8: bool = False) -> list[str | bytes | Piece]:
    """``pieces`` with each stretch of literal text and slots of one marker turned into one ``_slot_run``, and the
    literal text encoded once when the template renders to UTF-8."""
    fused: list[str | bytes | Piece] = []
    texts: list[str] = [""]
    marker: str | None = None

    def flush() -> None:
        if marker is None:
            if texts[0]:
                fused.append(texts[0].encode() if utf8 else texts[0])
        else:
            fused.append(_slot_run(marker, list(texts), utf8=utf8))

    for piece in pieces:
        if isinstance(piece, str):
            texts[-1] += piece
        elif isinstance(piece, Slot):
            if marker is not None and piece.marker != marker:
                flush()
                texts[:] = [""]
            marker = piece.marker
            texts.append("")
        else:
            flush()
            texts[:], marker = [""], None
            fused.append(piece)
    flush()
    return fused
