"""Opens and clicks made by machines, not people: counted apart so open and click rates stay honest.

- **Apple Mail Privacy Protection** fetches every image of every mail through Apple's proxy soon after delivery,
  with the bare user agent ``Mozilla/5.0``.
- **Link scanners** of corporate mail security (Microsoft Defender Safe Links, Proofpoint, Mimecast, Barracuda,
  ...) open and click within seconds of delivery, with their own or a tool's user agent.
- **Prefetch**: a browser or client asking ahead of the reader (``Purpose``/``Sec-Purpose: prefetch``).
- Anything within a couple of seconds of the send is faster than a person can open a mail.
"""

from __future__ import annotations

import datetime as dt

OPEN_TOO_FAST = dt.timedelta(seconds=2)
CLICK_TOO_FAST = dt.timedelta(seconds=5)
APPLE_PRIVACY_PROXY_AGENT = "mozilla/5.0"
_SCANNER_MARKERS = (
    "bot",
    "crawler",
    "spider",
    "scanner",
    "python-",
    "curl/",
    "wget/",
    "go-http-client",
    "java/",
    "okhttp",
    "headlesschrome",
    "barracuda",
    "mimecast",
    "proofpoint",
    "safelinks",
    "microsoft office protection",
    "trendmicro",
    "symantec",
    "forcepoint",
    "cisco",
)


def machine_reason(*, user_agent: str, prefetch: bool, since_send: dt.timedelta | None, is_click: bool) -> str:
    """Why this hit looks like a machine (``apple_privacy``, ``scanner``, ``prefetch``, ``too_fast``), or ``""``."""
    agent = user_agent.strip().lower()
    if prefetch:
        return "prefetch"
    if agent == APPLE_PRIVACY_PROXY_AGENT and not is_click:
        return "apple_privacy"
    if not agent or any(marker in agent for marker in _SCANNER_MARKERS):
        return "scanner"
    if since_send is not None and since_send < (CLICK_TOO_FAST if is_click else OPEN_TOO_FAST):
        return "too_fast"
    return ""
