"""The ingest endpoint of the tracking tag: ``POST /t/v1/batch?key=<write key>``.

Thin on purpose (it is the hottest path of the product): check the key, the origin and the limits, read and check
the batch, append it in one INSERT, answer. Cross-origin by nature, so it is exempt from CSRF; it is authenticated
by the public write key plus the origins registered for it, and it never sets a cookie.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from tokui.tracking.rate_limits import rate_limit_exceeded
from tokui.tracking.selectors import tracking_site_for_key
from tokui.tracking.services import tag_batch_ingest
from tokui.tracking.tag_batches import BatchRefusedError, batch_parse
from tokui.tracking.types import TrackingSiteConfig

PREFLIGHT_MAX_AGE = 86_400


def _json(status: int, payload: dict[str, Any], *, origin: str | None = None) -> HttpResponse:
    response = HttpResponse(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )
    if origin is not None:
        response["Access-Control-Allow-Origin"] = origin
    response["Vary"] = "Origin"
    return response


def _error(
    status: int, code: str, message: str, *, field: str | None = None, origin: str | None = None
) -> HttpResponse:
    return _json(status, {"code": code, "message": message, "field": field}, origin=origin)


def _client_ip(request: HttpRequest) -> str:
    header = settings.TAG_CLIENT_IP_HEADER
    if header:
        # The last address is the one our own proxy saw; earlier ones are whatever the client claimed.
        forwarded = request.META.get(header, "")
        if forwarded:
            return str(forwarded).rsplit(",", 1)[-1].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


@csrf_exempt
def batch(request: HttpRequest) -> HttpResponse:
    site = tracking_site_for_key(write_key=request.GET.get("key", ""))
    if site is None:
        return _error(
            401,
            "invalid_write_key",
            _("Unknown or inactive write key. Copy the snippet again from Tokui."),
            field="key",
        )
    origin = request.headers.get("Origin", "")
    if origin not in site.origins:
        # No CORS headers: the browser keeps the answer from the page that is not registered.
        return _error(
            403,
            "origin_not_allowed",
            _("This origin is not registered for the write key. Add it to the tracking site in Tokui."),
            field="Origin",
        )
    if request.method == "OPTIONS":
        return _preflight(origin)
    if request.method != "POST":
        response = _error(405, "method_not_allowed", _("Send events with POST."), origin=origin)
        response["Allow"] = "POST, OPTIONS"
        return response
    return _ingest(request, site, origin)


def _preflight(origin: str) -> HttpResponse:
    response = HttpResponse(status=204)
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    response["Vary"] = "Origin"
    return response


def _ingest(request: HttpRequest, site: TrackingSiteConfig, origin: str) -> HttpResponse:
    for scope, subject, limit in (
        ("key", str(site.id), settings.TAG_RATE_LIMIT_PER_KEY),
        ("ip", _client_ip(request), settings.TAG_RATE_LIMIT_PER_IP),
    ):
        wait = rate_limit_exceeded(scope=scope, subject=subject, limit=limit)
        if wait is not None:
            response = _error(
                429,
                "rate_limited",
                _("Too many requests; try again in %(seconds)d s.") % {"seconds": wait},
                origin=origin,
            )
            response["Retry-After"] = str(wait)
            return response
    max_bytes = settings.TAG_MAX_BODY_BYTES
    too_large = _error(
        413,
        "body_too_large",
        _("The request body may be at most %(max)d bytes; send smaller batches.") % {"max": max_bytes},
        origin=origin,
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > max_bytes:
        return too_large
    body = request.read(max_bytes + 1)
    if len(body) > max_bytes:
        return too_large
    try:
        parsed = batch_parse(body=body, max_events=settings.TAG_MAX_BATCH_EVENTS, now=timezone.now())
    except BatchRefusedError as refused:
        return _json(refused.status, refused.as_dict(), origin=origin)
    if site.require_consent and not parsed.consent:
        return _error(
            403,
            "consent_required",
            _("This site sends events only after the visitor's consent: call tokui('consent', true) first."),
            field="consent",
            origin=origin,
        )
    result = tag_batch_ingest(site=site, batch=parsed)
    return _json(
        200,
        {
            "accepted": result.accepted,
            "rejected": result.rejected,
            "errors": [error.as_dict() for error in result.errors],
        },
        origin=origin,
    )
