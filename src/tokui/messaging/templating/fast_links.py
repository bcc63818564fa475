"""Which outputs of a compiled send template write a whole link, so the link is rewritten right there.

After rendering, ``rendering.compiled.rewrite_links`` used to pass a regex over the whole 20 KB mail for the few
links Liquid writes (a cart item's address): ~55 µs a mail. The usual shape is an attribute that is nothing but
one output, ``href="{{ item.url }}"``; such an output is rewritten as it is written, with exactly the rule of
the regex (``href="(https?://[^"]+)"``, the value unescaped, Tokui's own links left alone).

That is only the same as the regex over the result when no other link can appear, so a template is taken only if
every ``href="`` of its literal text is either closed in the same text (a fixed link, signed when the version was
prepared) or closes around one such output; and no text after an output starts with the end of ``href="`` and an
address (which a value ending in ``href=`` would complete). Output values are escaped (no ``"``) unless they are
markup; one that writes a quote marks the render for the regex pass (``LINKS_UNSURE``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from liquid.ast import Node
from liquid.builtin.content import ContentNode
from liquid.builtin.output import OutputNode

_HREF = 'href="'
_CLOSED_LINK = re.compile(r'href="https?://[^"]+"')
# The end of ``href="`` then an address, at the start of text that follows an output or a block.
_COMPLETED = re.compile(r'(?:"|="|f="|ef="|ref=")https?://')
# A fill key no slot marker can be: set when a render wrote something the analysis cannot vouch for.
LINKS_UNSURE = "\x00links-unsure"


def _open_href_at_end(text: str) -> bool:
    """``text`` ends with an ``href="`` that starts a link (not inside a closed link)."""
    if not text.endswith(_HREF):
        return False
    end = len(text) - len(_HREF)
    return all(not (start <= end < stop) for start, stop in (m.span() for m in _CLOSED_LINK.finditer(text)))


def _text_is_safe(text: str, *, after_other: bool, closes_output: bool) -> bool:
    if after_other and _COMPLETED.match(text):
        return False
    closed = [m.span() for m in _CLOSED_LINK.finditer(text)]
    for match in re.finditer(re.escape(_HREF), text):
        at = match.start()
        if any(start <= at < stop for start, stop in closed):
            continue
        rest = text[match.end() :]
        if '"' in rest:
            continue  # not a link the regex takes (it would have been closed above): the same either way
        if rest or not closes_output:
            return False
    return True


def tracked_outputs(nodes: Sequence[Node]) -> tuple[set[int], bool]:
    """The indexes of ``nodes`` that are outputs forming a whole ``href`` value, and whether the links of these
    nodes (not counting blocks inside, checked on their own) are all accounted for."""
    tracked: set[int] = set()
    safe = True
    for index, node in enumerate(nodes):
        if type(node) is not ContentNode:
            continue
        text: str = node.text
        following = nodes[index + 1] if index + 1 < len(nodes) else None
        after = nodes[index + 2] if index + 2 < len(nodes) else None
        closes_output = (
            type(following) is OutputNode
            and type(after) is ContentNode
            and after.text.startswith('"')
            and _open_href_at_end(text)
        )
        if closes_output:
            tracked.add(index + 1)
        after_other = index == 0 or type(nodes[index - 1]) is not ContentNode
        safe = safe and _text_is_safe(text, after_other=after_other, closes_output=closes_output)
    return tracked, safe
