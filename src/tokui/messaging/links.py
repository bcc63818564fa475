"""Signed mail links: the click redirect and the open pixel of every mail Tokui sends.

A link carries, signed with the site's secret (``django.core.signing``, so ``SECRET_KEY_FALLBACKS`` rotates keys),
the message, the contact and, for a click, the address it leads to. Only a link Tokui signed
redirects, and only to the http(s) address inside it: there is no parameter to tamper with, so no open redirect.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _

from tokui.core.errors import DomainError
from tokui.messaging.enums import MailLinkKind
from tokui.messaging.types import MailLink

_SIGNER = signing.Signer(salt="tokui.messaging.mail-link")
CLICK_PATH = "/m/c/"
OPEN_PATH = "/m/o/"
OPEN_SUFFIX = ".gif"


def _has_control_characters(url: str) -> bool:
    # A line break in a redirect's Location header would let the address write headers of its own.
    return any(ord(character) < 32 or ord(character) == 127 for character in url)


def _token(payload: list[Any]) -> str:
    return _SIGNER.sign_object(payload)


def mail_click_url(*, message_id: int, contact_id: int, url: str) -> str:
    """The tracked address for a link in a mail: counts the click, then redirects to ``url``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or _has_control_characters(url):
        raise DomainError(_("Links in mails must be http or https addresses: “%(url)s”.") % {"url": url}, field="url")
    token = _token([MailLinkKind.CLICK.value, message_id, contact_id, url])
    return f"{settings.SITE_URL.rstrip('/')}{CLICK_PATH}{token}"


def mail_open_url(*, message_id: int, contact_id: int) -> str:
    """The address of the invisible image that counts an open of a mail."""
    token = _token([MailLinkKind.OPEN.value, message_id, contact_id])
    return f"{settings.SITE_URL.rstrip('/')}{OPEN_PATH}{token}{OPEN_SUFFIX}"


def mail_link_read(*, token: str, kind: MailLinkKind) -> MailLink | None:
    """The link a token carries, or ``None`` when it was not signed by this site or is not of ``kind``."""
    try:
        payload = _SIGNER.unsign_object(token)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, list) or not payload or payload[0] != kind.value:
        return None
    try:
        if kind == MailLinkKind.CLICK:
            _kind, message_id, contact_id, url = payload
        else:
            (_kind, message_id, contact_id), url = payload, ""
        link = MailLink(kind=kind, message_id=int(message_id), contact_id=int(contact_id), url=str(url))
    except (TypeError, ValueError):
        return None
    if kind == MailLinkKind.CLICK and (
        urlsplit(link.url).scheme not in ("http", "https") or _has_control_characters(link.url)
    ):
        return None  # never redirect anywhere else, even with a valid signature
    return link


def mail_link_from_path(path: str) -> MailLink | None:
    """The link of a request path ``/m/c/<token>`` or ``/m/o/<token>.gif``; ``None`` for anything else."""
    if path.startswith(CLICK_PATH):
        return mail_link_read(token=path[len(CLICK_PATH) :], kind=MailLinkKind.CLICK)
    if path.startswith(OPEN_PATH) and path.endswith(OPEN_SUFFIX):
        return mail_link_read(token=path[len(OPEN_PATH) : -len(OPEN_SUFFIX)], kind=MailLinkKind.OPEN)
    return None
