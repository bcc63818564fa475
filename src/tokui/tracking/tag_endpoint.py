"""What the tag's ingest endpoint answers, whichever server receives the request.

The endpoint has two fronts: the ingest server (``tracking.tag_server``, mounted in front of Django in
``tokui.asgi``) for production traffic, and the Django view (``tracking.views``) for WSGI servers and tests. Both
parse the HTTP request their own way and ask here what to answer, in the same order: the write key, the origin,
the method (and the CORS preflight), the rate limits, the body size, the batch and its events, the consent. So the
checks, their order, their messages and their answers exist once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from tokui.tracking.rate_limits import rate_limit_exceeded
from tokui.tracking.tag_batches import BatchRefusedError, batch_parse
from tokui.tracking.tag_refusals import tag_refusal_note
from tokui.tracking.types import TagBatch, TrackingSiteConfig

PREFLIGHT_MAX_AGE = 86_400
_JSON = ("Content-Type", "application/json")
_VARY = ("Vary", "Origin")


@dataclass(frozen=True, slots=True)
class TagAnswer:
    """An HTTP answer of the endpoint: status, headers and body, for either server to send as it is."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


@dataclass(frozen=True, slots=True)
class TagAdmitted:
    """The request may send a batch: the site of its write key and the registered origin it comes from."""

    site: TrackingSiteConfig
    origin: str


@dataclass(frozen=True, slots=True)
class TagAccepted:
    """A batch to store and the answer to give once it is stored (or accepted for storing)."""

    site: TrackingSiteConfig
    batch: TagBatch
    answer: TagAnswer


def _json_answer(
    status: int, payload: dict[str, Any], *, origin: str | None = None, extra: tuple[tuple[str, str], ...] = ()
) -> TagAnswer:
    cors = (("Access-Control-Allow-Origin", origin),) if origin is not None else ()
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return TagAnswer(status=status, headers=(_JSON, *cors, _VARY, *extra), body=body)


def tag_error(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    origin: str | None = None,
    extra: tuple[tuple[str, str], ...] = (),
) -> TagAnswer:
    """A whole-request error as JSON ``{code, message, field}``; CORS headers only for a registered origin."""
    return _json_answer(status, {"code": code, "message": message, "field": field}, origin=origin, extra=extra)


def tag_client_ip_header() -> str:
    """The HTTP header (lower case, as on the wire) that names the visitor behind a proxy, or ``""``."""
    meta_name: str = settings.TAG_CLIENT_IP_HEADER
    if not meta_name:
        return ""
    return meta_name.removeprefix("HTTP_").replace("_", "-").lower()


def tag_client_ip(*, remote_addr: str, forwarded: str | None) -> str:
    """The visitor's address: the last one of the proxy's header when configured, else the peer's address."""
    if forwarded:
        # The last address is the one our own proxy saw; earlier ones are whatever the client claimed.
        return forwarded.rsplit(",", 1)[-1].strip()
    return remote_addr


def tag_request_admit(
    *, site: TrackingSiteConfig | None, method: str, origin: str, client_ip: str
) -> TagAnswer | TagAdmitted:
    """Check the write key's site, the origin, the method and the rate limits; a preflight is answered here."""
    if site is None:
        return tag_error(
            401,
            "invalid_write_key",
            _("Unknown or inactive write key. Copy the snippet again from Tokui."),
            field="key",
        )
    if origin not in site.origins:
        if method != "OPTIONS":
            tag_refusal_note(site_id=site.id, code="origin_not_allowed", origin=origin, message="")
        # No CORS headers: the browser keeps the answer from the page that is not registered.
        return tag_error(
            403,
            "origin_not_allowed",
            _("This origin is not registered for the write key. Add it to the tracking site in Tokui."),
            field="Origin",
        )
    if method == "OPTIONS":
        return TagAnswer(
            status=204,
            headers=(
                ("Access-Control-Allow-Origin", origin),
                ("Access-Control-Allow-Methods", "POST, OPTIONS"),
                ("Access-Control-Allow-Headers", "Content-Type"),
                ("Access-Control-Max-Age", str(PREFLIGHT_MAX_AGE)),
                _VARY,
            ),
        )
    if method != "POST":
        return tag_error(
            405, "method_not_allowed", _("Send events with POST."), origin=origin, extra=(("Allow", "POST, OPTIONS"),)
        )
    for scope, subject, limit in (
        ("key", str(site.id), settings.TAG_RATE_LIMIT_PER_KEY),
        ("ip", client_ip, settings.TAG_RATE_LIMIT_PER_IP),
    ):
        wait = rate_limit_exceeded(scope=scope, subject=subject, limit=limit)
        if wait is not None:
            tag_refusal_note(site_id=site.id, code=f"rate_limited_{scope}", origin=origin, message=subject)
            return tag_error(
                429,
                "rate_limited",
                _("Too many requests; try again in %(seconds)d s.") % {"seconds": wait},
                origin=origin,
                extra=(("Retry-After", str(wait)),),
            )
    return TagAdmitted(site=site, origin=origin)


def tag_body_too_large(*, origin: str) -> TagAnswer:
    """The answer to a body over ``TAG_MAX_BODY_BYTES`` (declared or read): the server stops reading there."""
    max_bytes = settings.TAG_MAX_BODY_BYTES
    return tag_error(
        413,
        "body_too_large",
        _("The request body may be at most %(max)d bytes; send smaller batches.") % {"max": max_bytes},
        origin=origin,
    )


def tag_declared_length(value: str | bytes | None) -> int:
    """The Content-Length a request declares (0 when absent or unreadable: the read is cut at the limit anyway)."""
    try:
        return int(value or 0)
    except ValueError:
        return 0


def tag_batch_check(*, admitted: TagAdmitted, body: bytes) -> TagAnswer | TagAccepted:
    """Read and check the batch (every event on its own) and the consent; return the error or what to store."""
    try:
        parsed = batch_parse(body=body, max_events=settings.TAG_MAX_BATCH_EVENTS, now=timezone.now())
    except BatchRefusedError as refused:
        tag_refusal_note(site_id=admitted.site.id, code=refused.code, origin=admitted.origin, message=refused.message)
        return _json_answer(refused.status, refused.as_dict(), origin=admitted.origin)
    if admitted.site.require_consent and not parsed.consent:
        tag_refusal_note(site_id=admitted.site.id, code="consent_required", origin=admitted.origin, message="")
        return tag_error(
            403,
            "consent_required",
            _("This site sends events only after the visitor's consent: call tokui('consent', true) first."),
            field="consent",
            origin=admitted.origin,
        )
    refused_events: dict[str, tuple[int, str]] = {}
    for error in parsed.errors:
        count, _message = refused_events.get(error.code, (0, ""))
        refused_events[error.code] = (count + 1, f"{error.field}: {error.message}")
    for code, (count, message) in refused_events.items():
        tag_refusal_note(
            site_id=admitted.site.id, code=f"event:{code}", origin=admitted.origin, message=message, count=count
        )
    answer = _json_answer(
        200,
        {
            "accepted": len(parsed.events),
            "rejected": len(parsed.errors),
            "errors": [error.as_dict() for error in parsed.errors],
        },
        origin=admitted.origin,
    )
    return TagAccepted(site=admitted.site, batch=parsed, answer=answer)


def tag_unavailable(*, origin: str, retry_after: int = 1) -> TagAnswer:
    """The batch could not be stored now (the database is away or the writer is behind): the tag sends it again."""
    return tag_error(
        503,
        "ingest_unavailable",
        _("Events cannot be stored right now; the tag sends them again shortly."),
        origin=origin,
        extra=(("Retry-After", str(retry_after)),),
    )
