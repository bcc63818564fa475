"""A version's subject, HTML and text as fixed text with fields, and one recipient's fields (ADR 32).

For an ESP whose batch API merges per-recipient values into one body (``channels.esp_merge``): the fixed text is
written once per version and ESP syntax, each recipient's render writes only its fields. Field names: ``s`` the
subject, ``p`` the mail's click-link prefix, ``o`` the open pixel, ``h0``… the HTML's outputs, loops and
conditions, ``t0``… the text part's; ``h`` or ``t`` a whole part where it has no merge form (rendered as a single
send renders it). Merged, the parts are exactly ``render_tracked``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tokui.messaging.rendering.compiled import (
    LINK_SLOT,
    PIXEL_SLOT,
    CompiledVersion,
    link_rewrite,
    render_tracked,
    tracking_fills,
)
from tokui.messaging.templating.fast_merge import MergeForm, compile_merge

SLOT_FIELDS = {LINK_SLOT: "p", PIXEL_SLOT: "o"}


@dataclass(slots=True)
class MergeMail:
    compiled: CompiledVersion
    html: MergeForm | None
    text: MergeForm | None
    # Fixed parts per placeholder syntax (a version is sent through one ESP, so this holds one entry or two).
    _written: dict[Any, tuple[str, str, str]] = field(default_factory=dict)

    @property
    def key(self) -> int:
        return self.compiled.version_id

    def literal_text(self) -> str:
        """All fixed text of the parts (an ESP syntax must not find its own markers in it)."""
        return "".join(form.literal_text() for form in (self.html, self.text) if form is not None)

    def fixed_parts(self, placeholder: Callable[[str], str], *, key: Any) -> tuple[str, str, str]:
        """Subject, HTML and text with each field written as ``placeholder(name)``."""
        found = self._written.get(key)
        if found is None:
            found = self._written[key] = self._write(placeholder)
        return found

    def merged(self, fields: dict[str, str]) -> tuple[str, str, str]:
        """Subject, HTML and text with ``fields`` put in (what the ESP makes of them, for a mail sent alone)."""
        return self._write(fields.__getitem__)

    def _write(self, field: Callable[[str], str]) -> tuple[str, str, str]:
        html = self.html.fixed_text(field) if self.html is not None else field("h")
        text = self.text.fixed_text(field) if self.text is not None else field("t")
        return field("s"), html, text

    def fields(self, *, context: dict[str, Any], message_pk: int, contact_id: int) -> dict[str, str]:
        """This recipient's fields. Raises ``FastRenderError`` when the mail must be rendered whole (and sent alone)."""
        compiled = self.compiled
        fields = {"s": compiled.subject.render(**context)}
        if self.html is None:
            rendered = render_tracked(compiled, context=context, message_pk=message_pk, contact_id=contact_id)
            fields["h"] = rendered.html
        else:
            _prefix, fills = tracking_fills(compiled, message_pk=message_pk, contact_id=contact_id)
            self.html.fields(context, fills, fields)
            for marker in self.html.slot_counts:
                fields[SLOT_FIELDS[marker]] = fills[marker]
        if self.text is None:
            fields["t"] = compiled.text.render(**context)
        else:
            self.text.fields(context, {}, fields)
        return fields


_forms: dict[int, MergeMail] = {}


def merge_mail(compiled: CompiledVersion) -> MergeMail:
    """The merge form of a prepared version (made once per prepared version in this process)."""
    found = _forms.get(id(compiled))
    if found is not None and found.compiled is compiled:
        return found
    html = None
    if compiled.has_pixel_slot:  # else the pixel is placed by searching the rendered text
        html = compile_merge(
            compiled.tracked_html.template,
            prefix="h",
            slots=SLOT_FIELDS,
            link=link_rewrite(compiled.version_id),
        )
    text = compile_merge(compiled.text.template, prefix="t")
    if len(_forms) > 64:
        _forms.clear()
    made = _forms[id(compiled)] = MergeMail(compiled=compiled, html=html, text=text)
    return made
