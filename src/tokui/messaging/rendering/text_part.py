"""The text part of a mail generated from its HTML (Liquid kept as it is); staff may edit it afterwards."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {
    "p",
    "div",
    "tr",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "section",
    "header",
    "footer",
}
_SKIP = {"style", "script", "head", "title"}


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag == "br" or tag in _BLOCKS:
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n・")
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")
        elif tag == "hr":
            self.out.append("\n" + "-" * 30 + "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.out.append("\n")
        elif tag == "td":
            self.out.append(" ")
        elif tag == "a" and self.links:
            href = self.links.pop()
            if href and not href.startswith(("#", "mailto:")):
                self.out.append(f" ( {href} )")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_to_text(html: str) -> str:
    """Readable plain text of ``html``: paragraphs and rows on their own lines, each link's address after it."""
    writer = _TextWriter()
    writer.feed(html)
    writer.close()
    text = "".join(writer.out)
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
