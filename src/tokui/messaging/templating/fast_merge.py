"""A compiled send template as fixed text with fields: what an ESP's batch call takes once, and per recipient only
the fields (ADR 32).

An ESP batch API (Mailgun's recipient variables, SendGrid's substitutions) takes one body with placeholders and,
for each of up to 1,000 recipients, the values to put in. Rendering a 20 KB mail per recipient and sending a
thousand of them is what those APIs exist to avoid: here the template's top-level literal text becomes the body's
fixed text once per version, and each recipient's render writes only its fields — every output, loop and condition
at the top level (its own literal text inside included) and the fills of the slots (the mail's click-link prefix,
the open pixel), each marker one field however often it appears.

The pieces are ``templating.fast``'s own compiled closures, run exactly as ``FastTemplate.render`` runs them, so
the fixed text with each placeholder replaced by its value is that render, character for character
(``tests/messaging/test_esp_batch.py`` merges what the ESP receives and compares). Anything the fast path would
hand to the engine (a template it does not compile, a render error, a value that makes the links unsure, the
output limit) has no merge form, or raises ``FastRenderError`` for that recipient, who is then sent alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from liquid import BoundTemplate

from tokui.messaging.templating.fast import FastRenderError, LinkRewrite, compile_top_level
from tokui.messaging.templating.fast_links import LINKS_UNSURE
from tokui.messaging.templating.fast_slots import FILLS, Piece, Slot


class MergeForm:
    """One part of a mail as literal text and fields. ``parts`` holds literal text, a field's index (its piece in
    ``pieces``) or a slot marker; a field is named ``prefix`` + its index, a marker by ``slot_names``."""

    __slots__ = ("literal_length", "names", "output_limit", "parts", "pieces", "slot_counts", "slot_names")

    def __init__(
        self,
        parts: list[str | int | Slot],
        pieces: list[Piece],
        *,
        prefix: str,
        slot_names: Mapping[str, str],
        output_limit: int | None,
    ) -> None:
        self.parts, self.pieces = parts, pieces
        self.names = [f"{prefix}{index}" for index in range(len(pieces))]  # made once, not per recipient
        self.slot_names = dict(slot_names)
        self.output_limit = output_limit
        self.literal_length = sum(len(part) for part in parts if isinstance(part, str))
        self.slot_counts: dict[str, int] = {}
        for part in parts:
            if isinstance(part, Slot):
                self.slot_counts[part.marker] = self.slot_counts.get(part.marker, 0) + 1

    def fixed_text(self, placeholder: Callable[[str], str]) -> str:
        """The part with each field and slot written as ``placeholder(name)``."""
        written = []
        for part in self.parts:
            if isinstance(part, str):
                written.append(part)
            elif isinstance(part, Slot):
                written.append(placeholder(self.slot_names[part.marker]))
            else:
                written.append(placeholder(self.names[part]))
        return "".join(written)

    def literal_text(self) -> str:
        return "".join(part for part in self.parts if isinstance(part, str))

    def fields(self, values: Mapping[str, Any], fills: dict[str, str], into: dict[str, str]) -> None:
        """Each field of this recipient into ``into`` (the slots' fills are the caller's, named by
        ``slot_names``). Raises ``FastRenderError`` where the whole render would go to the engine."""
        scope = {**values, FILLS: fills}
        length = self.literal_length
        try:
            for name, piece in zip(self.names, self.pieces, strict=True):
                out: list[str] = []
                piece(scope, out, [])
                value = "".join(out)
                length += len(value)
                into[name] = value
        except FastRenderError:
            raise
        except Exception as error:  # the engine says what is wrong, in its own words
            raise FastRenderError from error
        if LINKS_UNSURE in fills:
            raise FastRenderError  # a value wrote a quote: the regex pass over the whole text decides its links
        if self.output_limit is not None:
            length += sum(len(fills.get(marker, marker)) * count for marker, count in self.slot_counts.items())
            if length > self.output_limit:
                raise FastRenderError


def compile_merge(
    template: BoundTemplate,
    *,
    prefix: str,
    slots: Mapping[str, str] | None = None,
    link: LinkRewrite | None = None,
) -> MergeForm | None:
    """``template`` as a ``MergeForm`` whose fields are named ``prefix`` + a number and whose slot markers are
    named by ``slots`` (marker → field name); ``None`` when the fast path does not take it whole."""
    slot_names = dict(slots or {})
    compiled = compile_top_level(template, slots=tuple(slot_names), link=link)
    if compiled is None:
        return None
    top, links_complete = compiled
    if link is not None and not links_complete:
        return None  # the regex pass over the whole text would decide some link: not expressible as fields
    parts: list[str | int | Slot] = []
    pieces: list[Piece] = []
    for piece in top:
        if isinstance(piece, str | Slot):
            parts.append(piece)
        elif parts and isinstance(parts[-1], int):
            # Neighbouring pieces with no text between them are one field: fewer placeholders, fewer values.
            pieces[-1] = _joined(pieces[-1], piece)
        else:
            parts.append(len(pieces))
            pieces.append(piece)
    return MergeForm(parts, pieces, prefix=prefix, slot_names=slot_names, output_limit=template.env.output_stream_limit)


def _joined(first: Piece, second: Piece) -> Piece:
    def both(values: Any, out: Any, loops: Any) -> None:
        first(values, out, loops)
        second(values, out, loops)

    return both
