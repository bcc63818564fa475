"""Mail links through Django: WSGI servers and the tests get these; under ASGI, ``hit_server`` answers valid links
first and only broken or tampered links reach the views here."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from tokui.messaging.enums import MailLinkKind
from tokui.messaging.links import mail_link_read
from tokui.messaging.pixel import NO_STORE, PIXEL_GIF
from tokui.messaging.services import mail_hits_record
from tokui.messaging.types import MailHit


@require_GET
def mail_click(request: HttpRequest, token: str) -> HttpResponse:
    link = mail_link_read(token=token, kind=MailLinkKind.CLICK)
    if link is None:
        # No redirect anywhere for a link this site did not sign: say so instead.
        return render(request, "messaging/broken_link.html", status=400)
    mail_hits_record(hits=[MailHit(link=link, occurred_at=timezone.now())])
    response = HttpResponseRedirect(link.url)
    response["Cache-Control"] = NO_STORE
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def mail_open(request: HttpRequest, token: str) -> HttpResponse:
    link = mail_link_read(token=token, kind=MailLinkKind.OPEN)
    if link is not None:
        mail_hits_record(hits=[MailHit(link=link, occurred_at=timezone.now())])
    # The image either way: a broken image in a customer's mail helps nobody.
    response = HttpResponse(PIXEL_GIF, content_type="image/gif")
    response["Cache-Control"] = NO_STORE
    return response
