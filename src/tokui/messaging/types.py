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
    user_agent: str = ""
    prefetch: bool = False


@dataclass(frozen=True, slots=True)
class MailRecipient:
    """The contact a mail is personalised for, as plain values: what the Liquid context and the facts need of it
    (a model instance with its company costs more to build than the claim of its row)."""

    id: int
    name: str
    email: str
    company_id: int | None
    company_name: str


@dataclass(frozen=True, slots=True)
class SenderData:
    """Who a mail is from, as the footer and the From header need it (特定電子メール法: name, address, opt-out)."""

    name: str
    email: str
    company: str
    address: str
    reply_to: str = ""

    def as_context(self) -> dict[str, str]:
        return {"name": self.name, "company": self.company, "address": self.address, "email": self.email}
