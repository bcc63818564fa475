"""Saved mail HTML is cleaned on the server (nh3): only tags, attributes and inline styles that mail clients
understand, no scripts or event handlers, links only to http(s), mailto and tel; Liquid kept exactly as written."""

from __future__ import annotations

import re

import nh3

_LIQUID = re.compile(r"\{%-?.*?-?%\}|\{\{-?.*?-?\}\}", re.S)
_PLACEHOLDER = re.compile(r"(?:<|&lt;)!--tkl(\d+)--(?:>|&gt;)")
_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "center", "div", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "li", "ol", "p", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "u", "ul", "section", "header", "footer", "pre", "code", "caption", "colgroup", "col",
}  # fmt: skip
_ATTRIBUTES = {
    "*": {"align", "bgcolor", "class", "dir", "id", "lang", "role", "style", "title", "valign", "width", "height"},
    "a": {"href", "target", "name"},
    "img": {"src", "alt", "border"},
    "table": {"border", "cellpadding", "cellspacing", "background"},
    "td": {"colspan", "rowspan", "background", "nowrap"},
    "th": {"colspan", "rowspan", "scope"},
    "font": {"color", "face", "size"},
    "col": {"span"},
}


def mail_html_clean(html: str) -> str:
    """``html`` with everything unsafe or meaningless in mail removed. Liquid tags pass through untouched (they are
    set aside while cleaning: the parser would otherwise move loops between table rows out of the table)."""
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"<!--tkl{len(kept) - 1}-->"

    protected = _LIQUID.sub(keep, html)
    cleaned = nh3.clean(
        protected,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        clean_content_tags={"script", "style", "iframe", "object", "embed", "form", "noscript", "template"},
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel=None,
        strip_comments=False,
    )
    return _PLACEHOLDER.sub(lambda match: kept[int(match.group(1))] if int(match.group(1)) < len(kept) else "", cleaned)
