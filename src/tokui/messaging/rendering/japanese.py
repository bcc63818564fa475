"""Japanese text for ISO-2022-JP mail: 機種依存文字 converted explicitly instead of turning into garbage.

ISO-2022-JP holds JIS X 0208 only. Characters outside it that Japanese users type every day — circled numbers
(①), bracketed abbreviations (㈱), half-width katakana (ﾊﾝｶｸ), unit squares (㌔), the full-width tilde — are mapped
to what they mean: ① → (1), ㈱ → (株), ﾊﾝｶｸ → ハンカク, ㌔ → キロ (Unicode compatibility normalisation, applied
only to the characters that need it so the rest of the text is untouched). Whatever is still left (emoji,
rare kanji such as 髙) becomes 〓, the customary replacement mark, never a byte soup.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

ISO2022JP = "iso2022_jp"
REPLACEMENT = "〓"
# Circled numbers normalise to bare digits; a reader expects the bracketed form.
_CIRCLED = {chr(0x2460 + index): f"({index + 1})" for index in range(20)}
_CIRCLED.update({chr(0x24EA): "(0)"})


@lru_cache(maxsize=4096)
def _encodable(character: str) -> bool:
    try:
        character.encode(ISO2022JP)
    except UnicodeEncodeError:
        return False
    return True


def jis_safe(text: str) -> str:
    """``text`` with every character ISO-2022-JP cannot hold mapped to one it can (or to 〓)."""
    try:
        text.encode(ISO2022JP)
        return text
    except UnicodeEncodeError:
        pass
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        # A run is normalised together: ﾊﾟ (two half-width characters) is one パ.
        if run:
            converted = unicodedata.normalize("NFKC", "".join(_CIRCLED.get(char, char) for char in run))
            out.extend(char if _encodable(char) else REPLACEMENT for char in converted)
            run.clear()

    for character in text:
        if _encodable(character):
            flush()
            out.append(character)
        else:
            run.append(character)
    flush()
    return "".join(out)
