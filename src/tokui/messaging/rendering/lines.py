"""Short lines for the HTML that is sent: what lets a UTF-8 HTML part go as 8bit instead of base64.

An 8bit body (RFC 6152) may not have a line longer than 998 octets, and css-inline writes a whole document on a few
lines (the bench's 20 KB template has one of 30 KB). A send template is therefore broken into lines of about
``TARGET`` octets when its version is prepared — once, not per mail — and only where a line end cannot change what
the HTML means: the space that separates a tag's name and attributes (HTML reads any ASCII whitespace there alike).
Never inside text, an attribute value, Liquid markup, a comment or a style/script/pre/textarea element. A mail whose
lines still run too long (a long paragraph without tags, a long value written by Liquid) is sent in base64.
"""

from __future__ import annotations

import re

TARGET = 500

_TOKENS = re.compile(
    r"(?P<liquid>\{%-?.*?-?%\}|\{\{-?.*?-?\}\})"
    r"|(?P<comment><!--.*?-->)"
    r"|(?P<raw><(?P<raw_name>style|script|pre|textarea)\b.*?</(?P=raw_name)\s*>)"
    r"|(?P<tag><[a-zA-Z](?:[^<>{]|\{\{.*?\}\}|\{%.*?%\}|\{)*>)",  # Liquid inside a tag may hold a ">"
    re.S | re.I,
)
_LIQUID_IN_TAG = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.S)


def _spaces_between_attributes(tag: str, offset: int) -> list[int]:
    """Positions (in the whole source) of the spaces in ``tag`` that are outside quotes and Liquid markup."""
    found: list[int] = []
    liquid = [(m.start(), m.end()) for m in _LIQUID_IN_TAG.finditer(tag)]
    quote = ""
    index = 0
    while index < len(tag):
        span = next((end for start, end in liquid if start == index), None)
        if span is not None:
            index = span
            continue
        character = tag[index]
        if quote:
            if character == quote:
                quote = ""
        elif character in "\"'":
            quote = character
        elif character == " " and index > 0 and tag[index - 1] not in " \n":
            found.append(offset + index)
        index += 1
    return found


def break_long_lines(source: str, *, target: int = TARGET) -> str:
    """``source`` with a line end instead of the first space between attributes after every ``target`` octets of a
    line (only where a line is that long)."""
    if all(len(line) * 3 <= target for line in source.split("\n")):
        return source  # nothing long (an upper bound: three octets a character at most in the BMP)
    candidates: list[int] = []
    for match in _TOKENS.finditer(source):
        if match.group("tag") is not None:
            candidates += _spaces_between_attributes(match.group("tag"), match.start())
    if not candidates:
        return source
    characters = list(source)
    line_start = 0
    for position in candidates:
        newline = source.rfind("\n", line_start, position)
        if newline >= 0:
            line_start = newline + 1
        if len(source[line_start:position].encode("utf-8")) >= target:
            characters[position] = "\n"
            line_start = position + 1
    return "".join(characters)
