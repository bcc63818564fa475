"""Signed mail links: the click redirect and the open pixel of every mail Tokui sends.

A link carries, signed with the site's secret (``django.core.signing``, so ``SECRET_KEY_FALLBACKS`` rotates keys),
the message, the contact and, for a click, the address it leads to. Only a link Tokui signed
redirects, and only to the http(s) address inside it: there is no parameter to tamper with, so no open redirect.
Sent mail carries click links in two signed halves (one per mail, one per template version and address, ADR 16);
the single-token links of ``mail_click_url`` are still made and read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.core.signals import setting_changed
from django.dispatch import receiver
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


# Text JSON writes as it is (printable ASCII except the quote and the backslash).
_PLAIN_JSON_TEXT = re.compile(r"[ !#-\[\]-~]*")


def compact_json(payload: list[Any]) -> str:
    """``json.dumps(payload, separators=(",", ":"))``, written directly for lists of ints and plain text (the
    links' payloads): a third of the cost of a signature went to the encoder's set-up."""
    parts = []
    for item in payload:
        if type(item) is int:
            parts.append(str(item))
        elif type(item) is str and _PLAIN_JSON_TEXT.fullmatch(item):
            parts.append(f'"{item}"')
        else:
            return json.dumps(payload, separators=(",", ":"))
    return "[" + ",".join(parts) + "]"


class _FastSigner:
    """``Signer.sign_object`` for the send path, byte for byte: a mail carries dozens of links and each is signed
    per recipient, so the HMAC key is derived once (Django derives it on every call) and only copied per token.
    Tokens are read back with the ordinary ``Signer`` (and its key fallbacks)."""

    def __init__(self, *, salt: str, secret: str) -> None:
        key = hashlib.sha256((salt + "signer" + secret).encode()).digest()
        self.secret = secret
        self.base = hmac.new(key, digestmod=hashlib.sha256)
        # Tokens that are the same for many mails (the address half of click links), valid for this secret only.
        self.cache: dict[Any, str | None] = {}

    def sign_object(self, payload: list[Any]) -> str:
        value = base64.urlsafe_b64encode(compact_json(payload).encode("latin-1"))
        value = value.rstrip(b"=")
        mac = self.base.copy()
        mac.update(value)
        signature = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=")
        return f"{value.decode()}:{signature.decode()}"


_fast_signers: dict[str, _FastSigner] = {}
_site_url: list[str] = []


@receiver(setting_changed)
def _settings_changed(*, setting: str, **_kwargs: Any) -> None:
    # The signers keep keys derived from the secret and the tokens signed with them, and the site address is read
    # once: a mail has a dozen links and each settings read costs a lazy-object look-up. Settings change only in
    # tests (override_settings sends this), never while a worker runs.
    if setting in ("SECRET_KEY", "SITE_URL"):
        _fast_signers.clear()
        _site_url.clear()


def _fast_signer(salt: str) -> _FastSigner:
    found = _fast_signers.get(salt)
    if found is None:
        found = _fast_signers[salt] = _FastSigner(salt=salt, secret=settings.SECRET_KEY)
    return found


def site_url() -> str:
    """``SITE_URL`` without its trailing slash, read once."""
    if not _site_url:
        _site_url.append(settings.SITE_URL.rstrip("/"))
    return _site_url[0]


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
    return f"{site_url()}{CLICK_PATH}{token}"


# --- Click links of a sent mail: one signature per mail, one per (version, address) ---------------------------------
#
# ``/m/c/<mail token>.<link token>``: the mail token signs ``["c", message, contact, version]`` once per mail, the
# link token signs ``[version, url]`` once per version and address (cached in the process, so the 40 fixed links of
# a newsletter are signed once for all its recipients). A click needs both, from the same version: the address can
# only be one Tokui put into a mail of that version (no open redirect), and the message and contact come from a
# signature too. Old single tokens (``mail_click_url``) are still read.

_MAIL_PART_SALT = "tokui.messaging.mail-click"
_LINK_PART_SALT = "tokui.messaging.mail-click-link"
PART_SEPARATOR = "."  # never inside a Django token (base64url and ":"), so old and new tokens cannot be confused
_LINK_PART_CACHE_SIZE = 50_000


def click_link_part(*, version_id: int, url: str) -> str | None:
    """The signed address half of a click link of ``version_id``; ``None`` when ``url`` cannot be tracked."""
    signer = _fast_signer(_LINK_PART_SALT)
    key = (version_id, url)
    found = signer.cache.get(key)
    if found is None and key not in signer.cache:
        found = signer.sign_object([int(version_id), url]) if _signable(url) else None
        if len(signer.cache) >= _LINK_PART_CACHE_SIZE:
            signer.cache.clear()
        signer.cache[key] = found
    return found


def mail_click_prefix(*, message_id: int, contact_id: int, version_id: int) -> str:
    """Everything of a mail's click links before the address half: site, path and the mail's own signed part."""
    token = _fast_signer(_MAIL_PART_SALT).sign_object(
        [MailLinkKind.CLICK.value, int(message_id), int(contact_id), int(version_id)]
    )
    return f"{site_url()}{CLICK_PATH}{token}{PART_SEPARATOR}"


def mail_click_url_of_version(*, message_id: int, contact_id: int, version_id: int, url: str) -> str:
    """The tracked address of ``url`` in a mail of ``version_id`` (the two-part form the send path writes)."""
    part = click_link_part(version_id=version_id, url=url)
    if part is None:
        raise DomainError(_("Links in mails must be http or https addresses: “%(url)s”.") % {"url": url}, field="url")
    return mail_click_prefix(message_id=message_id, contact_id=contact_id, version_id=version_id) + part


def _unsign(salt: str, token: str) -> Any:
    """``Signer(salt=salt).unsign_object(token)``; a token signed with the current key (nearly all) is checked with
    the pre-keyed HMAC (Django derives the key on every call), anything else goes to Django and the key fallbacks
    as they are configured now."""
    value, separator, signature = token.rpartition(":")
    if separator and value and not value.startswith("."):  # "." would be a compressed token: Django reads those
        mac = _fast_signer(salt).base.copy()
        mac.update(value.encode("ascii", "replace"))
        expected = base64.urlsafe_b64encode(mac.digest()).rstrip(b"=")
        if hmac.compare_digest(expected, signature.encode("ascii", "replace")):
            return json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    return signing.Signer(salt=salt).unsign_object(token)


def _click_read_parts(token: str) -> MailLink | None:
    mail_token, _separator, link_token = token.partition(PART_SEPARATOR)
    try:
        mail = _unsign(_MAIL_PART_SALT, mail_token)
        link = _unsign(_LINK_PART_SALT, link_token)
    except (signing.BadSignature, ValueError, UnicodeDecodeError, binascii.Error):
        return None
    if not (isinstance(mail, list) and len(mail) == 4 and isinstance(link, list) and len(link) == 2):
        return None
    kind, message_id, contact_id, version_id = mail
    link_version, url = link
    if kind != MailLinkKind.CLICK.value or not isinstance(url, str):
        return None
    if not all(type(value) is int for value in (message_id, contact_id, version_id, link_version)):
        return None
    if version_id != link_version:
        return None  # an address of another template's mail: not one this mail carried
    return MailLink(kind=MailLinkKind.CLICK, message_id=message_id, contact_id=contact_id, url=url)


def mail_open_url(*, message_id: int, contact_id: int) -> str:
    """The address of the invisible image that counts an open of a mail."""
    token = _token([MailLinkKind.OPEN.value, message_id, contact_id])
    return f"{site_url()}{OPEN_PATH}{token}{OPEN_SUFFIX}"


def mail_link_read(*, token: str, kind: MailLinkKind) -> MailLink | None:
    """The link a token carries, or ``None`` when it was not signed by this site or is not of ``kind``."""
    if kind == MailLinkKind.CLICK and PART_SEPARATOR in token:
        link: MailLink | None = _click_read_parts(token)
        if link is None or urlsplit(link.url).scheme not in ("http", "https") or _has_control_characters(link.url):
            return None  # never redirect anywhere else, even with valid signatures
        return link
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
    return f"{site_url()}{UNSUBSCRIBE_PATH}{token}"


def preferences_url(*, message_id: int, contact_id: int) -> str:
    """The preference page of a mail's recipient (all mail / this kind of mail)."""
    token = _opt_out_token(message_id=message_id, contact_id=contact_id)
    return f"{site_url()}{PREFERENCES_PATH}{token}"


def opt_out_urls(*, message_id: int, contact_id: int) -> tuple[str, str]:
    """``(unsubscribe_url, preferences_url)`` of a mail: both carry the same token, signed once (a send needs both)."""
    token = _opt_out_token(message_id=message_id, contact_id=contact_id)
    site = site_url()
    return f"{site}{UNSUBSCRIBE_PATH}{token}", f"{site}{PREFERENCES_PATH}{token}"


def opt_out_token_read(token: str) -> tuple[int, int] | None:
    """``(message id, contact id)`` of an opt-out token this site signed, else ``None``."""
    try:
        payload = _OPT_OUT_SIGNER.unsign_object(token)
        message_id, contact_id = payload
        return int(message_id), int(contact_id)
    except (signing.BadSignature, ValueError, TypeError, UnicodeDecodeError):
        return None
