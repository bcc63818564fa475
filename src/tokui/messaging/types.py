from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tokui.messaging.enums import MailLinkKind


@dataclass(frozen=True, slots=True)
class MailLink:
    """What a signed mail link carries: which message to which contact, and for a click the address it leads to."""

    kind: MailLinkKind
    message_id: int
    contact_id: int
    url: str = ""


@dataclass(frozen=True, slots=True)
class MailHit:
    """One open or click of a signed mail link, as it arrived."""

    link: MailLink
    occurred_at: dt.datetime
