"""The ingest endpoint of the tracking tag through Django: ``POST /t/v1/batch?key=<write key>``.

Production traffic reaches the ingest server mounted in front of Django (``tracking.tag_server``); this view serves
the same endpoint when Tokui runs under a WSGI server, and in tests. Both ask ``tracking.tag_endpoint`` what to
answer, so the checks exist once; this view then stores the batch before it answers. Cross-origin by nature, so it
is exempt from CSRF; it is authenticated by the public write key plus the origins registered for it, and it never
sets a cookie.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from tokui.tracking.selectors import tracking_site_for_key
from tokui.tracking.tag_endpoint import (
    TagAnswer,
    tag_batch_check,
    tag_body_too_large,
    tag_client_ip,
    tag_client_ip_header,
    tag_declared_length,
    tag_request_admit,
)
from tokui.tracking.tag_ingest import tag_batch_ingest


def _response(answer: TagAnswer) -> HttpResponse:
    response = HttpResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    if not answer.body:
        del response["Content-Type"]
    return response


@csrf_exempt
def batch(request: HttpRequest) -> HttpResponse:
    header = tag_client_ip_header()
    forwarded = request.headers.get(header) if header else None
    admitted = tag_request_admit(
        site=tracking_site_for_key(write_key=request.GET.get("key", "")),
        method=request.method or "",
        origin=request.headers.get("Origin", ""),
        client_ip=tag_client_ip(remote_addr=str(request.META.get("REMOTE_ADDR", "")), forwarded=forwarded),
    )
    if isinstance(admitted, TagAnswer):
        return _response(admitted)
    limit = settings.TAG_MAX_BODY_BYTES
    if tag_declared_length(request.META.get("CONTENT_LENGTH")) > limit:
        return _response(tag_body_too_large(origin=admitted.origin))
    body = request.read(limit + 1)
    if len(body) > limit:
        return _response(tag_body_too_large(origin=admitted.origin))
    checked = tag_batch_check(admitted=admitted, body=body)
    if isinstance(checked, TagAnswer):
        return _response(checked)
    tag_batch_ingest(site=checked.site, batch=checked.batch)
    return _response(checked.answer)
