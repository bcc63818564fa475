"""Mail links through Django: WSGI servers and the tests get these; under ASGI, ``hit_server`` answers valid links
first and only broken or tampered links reach the views here."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from tokui.customers.enums import Channel, ConsentStatus
from tokui.customers.models import Contact
from tokui.customers.selectors import consent_status, contact_get
from tokui.messaging.enums import MailLinkKind, MailTopic
from tokui.messaging.links import mail_link_read, opt_out_token_read
from tokui.messaging.models import OutboxMessage
from tokui.messaging.pixel import NO_STORE, PIXEL_GIF
from tokui.messaging.selectors import outbox_message_get, topic_opt_outs
from tokui.messaging.services import contact_mail_preferences_save, contact_unsubscribe, mail_hits_record
from tokui.messaging.types import MailHit, MailLink


def _hit(request: HttpRequest, link: MailLink) -> MailHit:
    purpose = f"{request.headers.get('Purpose', '')} {request.headers.get('Sec-Purpose', '')}".lower()
    return MailHit(
        link=link,
        occurred_at=timezone.now(),
        user_agent=request.headers.get("User-Agent", "")[:300],
        prefetch="prefetch" in purpose,
    )


@require_GET
def mail_click(request: HttpRequest, token: str) -> HttpResponse:
    link = mail_link_read(token=token, kind=MailLinkKind.CLICK)
    if link is None:
        # No redirect anywhere for a link this site did not sign: say so instead.
        return render(request, "messaging/broken_link.html", status=400)
    mail_hits_record(hits=[_hit(request, link)])
    response = HttpResponseRedirect(link.url)
    response["Cache-Control"] = NO_STORE
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def mail_open(request: HttpRequest, token: str) -> HttpResponse:
    link = mail_link_read(token=token, kind=MailLinkKind.OPEN)
    if link is not None:
        mail_hits_record(hits=[_hit(request, link)])
    # The image either way: a broken image in a customer's mail helps nobody.
    response = HttpResponse(PIXEL_GIF, content_type="image/gif")
    response["Cache-Control"] = NO_STORE
    return response


# --- Opt-out: one-click unsubscribe (RFC 8058) and the preference page --------------------------------------------


def _opt_out_target(token: str) -> tuple[Contact | None, OutboxMessage | None, bool]:
    """The contact and mail of an opt-out link; ``valid`` is False for a link this site did not sign."""
    found = opt_out_token_read(token)
    if found is None:
        return None, None, False
    message_id, contact_id = found
    return contact_get(contact_id=contact_id) if contact_id else None, outbox_message_get(message_id=message_id), True


@csrf_exempt  # RFC 8058: mail providers POST without cookies or tokens; the signed link is the authority
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET (what link scanners do) only shows the confirmation; POST — the provider's one-click request or the
    button on that page — stops all marketing mail to the contact at once and answers 200, never a redirect."""
    contact, message, valid = _opt_out_target(token)
    if not valid:
        return render(request, "messaging/broken_link.html", status=400)
    context = {"token": token, "contact": contact, "test_mail": contact is None}
    if request.method == "GET":
        response = render(request, "messaging/unsubscribe.html", context)
    else:
        if contact is not None:
            contact_unsubscribe(contact=contact, message=message, source="unsubscribe link")
        response = render(request, "messaging/unsubscribed.html", context)
    response["Cache-Control"] = NO_STORE
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    """Which marketing mail the contact receives: all of it, some topics, or none."""
    contact, _message, valid = _opt_out_target(token)
    if not valid:
        return render(request, "messaging/broken_link.html", status=400)
    saved = False
    if request.method == "POST" and contact is not None:
        contact_mail_preferences_save(
            contact=contact,
            all_mail=request.POST.get("all_mail") == "yes",
            topics=request.POST.getlist("topics"),
            source="preference page",
        )
        saved = True
    receiving = contact is not None and consent_status(contact=contact, channel=Channel.EMAIL) == ConsentStatus.GRANTED
    stopped = topic_opt_outs(contact_id=contact.pk) if contact is not None else set()
    topics = [(value, label, value not in stopped) for value, label in MailTopic.choices]
    context = {"token": token, "contact": contact, "receiving": receiving, "topics": topics, "saved": saved}
    response = render(request, "messaging/preferences.html", context)
    response["Cache-Control"] = NO_STORE
    return response
