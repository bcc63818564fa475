"""Signed mail links: the click redirect and the open pixel of every mail Tokui sends.

A link carries, signed with the site's secret (``django.core.signing``, so ``SECRET_KEY_FALLBACKS`` rotates keys),
the message, the contact and, for a click, the address it leads to. Only a link Tokui signed
redirects, and only to the http(s) address inside it: there is no parameter to tamper with, so no open redirect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from functools import lru_cache
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


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _has_control_characters(url: str) -> bool:
    # A line break in a redirect's Location header would let the address write headers of its own.
    return _CONTROL.search(url) is not None


class _FastSigner:
    """``Signer.sign_object`` for the send path, byte for byte: a mail carries dozens of links and each is signed
    per recipient, so the HMAC key is derived once (Django derives it on every call) and only copied per token.
    Tokens are read back with the ordinary ``Signer`` (and its key fallbacks)."""

    def __init__(self, *, salt: str, secret: str) -> None:
        key = hashlib.sha256((salt + "signer" + secret).encode()).digest()
        self.secret = secret
        self.base = hmac.new(key, digestmod=hashlib.sha256)

    def sign_object(self, payload: list[Any]) -> str:
        value = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode("latin-1"))
        value = value.rstrip(b"=")
        mac = self.base.copy()
        mac.update(value)
        signature = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=")
        return f"{value.decode()}:{signature.decode()}"


_fast_signers: dict[str, _FastSigner] = {}


def _fast_signer(salt: str) -> _FastSigner:
    found = _fast_signers.get(salt)
    if found is None or found.secret != settings.SECRET_KEY:
        found = _fast_signers[salt] = _FastSigner(salt=salt, secret=settings.SECRET_KEY)
    return found


def _token(payload: list[Any]) -> str:
    return _fast_signer("tokui.messaging.mail-link").sign_object(payload)


@lru_cache(maxsize=8192)
def _signable(url: str) -> bool:
    # The same shop addresses appear in every recipient's mail: checked once.
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not _has_control_characters(url)


def mail_click_url(*, message_id: int, contact_id: int, url: str) -> str:
    """The tracked address for a link in a mail: counts the click, then redirects to ``url``."""
    if not _signable(url):
        raise DomainError(_("Links in mails must be http or https addresses: “%(url)s”.") % {"url": url}, field="url")
    token = _token([MailLinkKind.CLICK.value, message_id, contact_id, url])
    return f"{settings.SITE_URL.rstrip('/')}{CLICK_PATH}{token}"


@lru_cache(maxsize=8192)
def _url_part(url: str) -> bytes:
    # The address's half of a token, the same in every recipient's mail: encoded once.
    return base64.urlsafe_b64encode((json.dumps(url) + "]").encode("latin-1")).rstrip(b"=")


class RecipientLinks:
    """Signs every link of one recipient's mail, as ``mail_click_url`` would but faster: a mail carries dozens of
    links, each signed per recipient. The token's JSON starts with ``["c",<message>,<contact>,`` padded with spaces
    to a multiple of 3 bytes, so its base64 and the HMAC state after it are computed once per recipient and each
    link adds only its own (cached) part. The JSON stays valid (spaces), so tokens read back as usual."""

    def __init__(self, *, message_id: int, contact_id: int) -> None:
        prefix = f'["{MailLinkKind.CLICK.value}",{int(message_id)},{int(contact_id)},'
        prefix += " " * (-len(prefix) % 3)
        self.prefix = base64.urlsafe_b64encode(prefix.encode("ascii"))
        self.mac = _fast_signer("tokui.messaging.mail-link").base.copy()
        self.mac.update(self.prefix)
        self.base = f"{settings.SITE_URL.rstrip('/')}{CLICK_PATH}"

    def click_url(self, url: str) -> str | None:
        """The tracked address of ``url``, or ``None`` when it cannot be tracked (not http(s))."""
        if not _signable(url):
            return None
        part = _url_part(url)
        mac = self.mac.copy()
        mac.update(part)
        signature = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=")
        return f"{self.base}{self.prefix.decode()}{part.decode()}:{signature.decode()}"


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


# --- Opt-out links ------------------------------------------------------------------------------------------------

_OPT_OUT_SIGNER = signing.Signer(salt="tokui.messaging.opt-out")
UNSUBSCRIBE_PATH = "/m/u/"
PREFERENCES_PATH = "/m/p/"


def _opt_out_token(*, message_id: int, contact_id: int) -> str:
    return _fast_signer("tokui.messaging.opt-out").sign_object([message_id, contact_id])


def unsubscribe_url(*, message_id: int, contact_id: int) -> str:
    """The one-click unsubscribe address of a mail (List-Unsubscribe, RFC 8058; also the footer link)."""
    token = _opt_out_token(message_id=message_id, contact_id=contact_id)
    return f"{settings.SITE_URL.rstrip('/')}{UNSUBSCRIBE_PATH}{token}"


def preferences_url(*, message_id: int, contact_id: int) -> str:
    """The preference page of a mail's recipient (all mail / this kind of mail)."""
    token = _opt_out_token(message_id=message_id, contact_id=contact_id)
    return f"{settings.SITE_URL.rstrip('/')}{PREFERENCES_PATH}{token}"


def opt_out_token_read(token: str) -> tuple[int, int] | None:
    """``(message id, contact id)`` of an opt-out token this site signed, else ``None``."""
    try:
        payload = _OPT_OUT_SIGNER.unsign_object(token)
        message_id, contact_id = payload
        return int(message_id), int(contact_id)
    except (signing.BadSignature, ValueError, TypeError, UnicodeDecodeError):
        return None
