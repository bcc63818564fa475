"""Opens and clicks of sent mail tied to their outbox row; machine opens apart; bounces from ESP webhooks."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.messaging.conftest import SmtpServer
from tokui.customers.models import Contact
from tokui.messaging.models import MailTemplate, MailTemplateVersion, OutboxMessage, Suppression
from tokui.messaging.selectors import outbox_facts
from tokui.messaging.services import messages_send_to_contacts
from tokui.tracking.models import Event

pytestmark = pytest.mark.django_db

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"


def _links(smtp_server: SmtpServer) -> tuple[str, str]:
    html = smtp_server.received[-1].message.get_body(("html",))
    assert html is not None
    body = html.get_content()
    click = re.search(r'href="https://tokui\.example\.jp(/m/c/[^"]+)"', body)
    pixel = re.search(r'src="https://tokui\.example\.jp(/m/o/[^"]+)"', body)
    assert click is not None and pixel is not None
    return click.group(1), pixel.group(1)


def test_clicks_and_opens_are_facts_with_template_and_campaign(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion], buyer: Contact, client: Client
) -> None:
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk], campaign_id="c-7")
    click, pixel = _links(smtp_server)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        assert client.get(click, HTTP_USER_AGENT=IPHONE).status_code == 302
        assert client.get(pixel, HTTP_USER_AGENT=IPHONE).status_code == 200

    outbox = OutboxMessage.objects.get()
    for fact in Event.objects.filter(type__in=["mail_clicked", "mail_opened"]):
        assert fact.properties["message_id"] == outbox.pk and fact.properties["campaign_id"] == "c-7"
        assert fact.properties["template_id"] == cart_template[0].pk and fact.properties["machine"] is False
    assert outbox_facts(message_ids=[outbox.pk])[outbox.pk] == {"opens": 1, "machine_opens": 0, "clicks": 1}


def test_machine_opens_are_flagged_and_counted_apart(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion], buyer: Contact, client: Client
) -> None:
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])
    _click, pixel = _links(smtp_server)
    client.get(pixel, HTTP_USER_AGENT=IPHONE)  # within a second of the send: no person is that fast
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=5)):
        client.get(pixel, HTTP_USER_AGENT="Mozilla/5.0")  # Apple Mail Privacy Protection's proxy
        client.get(pixel, HTTP_USER_AGENT="Mozilla/5.0 (compatible; Barracuda Sentinel)")
        client.get(pixel, HTTP_USER_AGENT=IPHONE, HTTP_SEC_PURPOSE="prefetch")

    reasons = sorted(e.properties["machine_reason"] for e in Event.objects.filter(type="mail_opened"))
    assert reasons == ["apple_privacy", "prefetch", "scanner", "too_fast"]
    outbox = OutboxMessage.objects.get()
    assert outbox_facts(message_ids=[outbox.pk])[outbox.pk]["machine_opens"] == 4


def test_an_esp_bounce_webhook_suppresses_the_address_and_is_a_fact(
    smtp_server: SmtpServer,
    cart_template: tuple[MailTemplate, MailTemplateVersion],
    buyer: Contact,
    client: Client,
    settings: SettingsWrapper,
) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret"}
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])
    outbox = OutboxMessage.objects.get()
    bounce = {
        "RecordType": "Bounce",
        "Type": "HardBounce",
        "TypeCode": 1,
        "Email": buyer.email,
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "BouncedAt": "2026-12-01T16:00:00Z",
        "Metadata": {"tokui_outbox_id": str(outbox.pk)},
    }
    response = client.post(
        "/m/esp/postmark/tracking/",
        data=bounce,
        content_type="application/json",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"hook:secret").decode(),
    )

    assert response.status_code == 200
    assert Suppression.objects.get(email=buyer.email).source == "esp:Postmark"
    fact = Event.objects.get(type="mail_bounced", contact=buyer)
    assert fact.properties["message_id"] == outbox.pk and fact.properties["template_id"] == cart_template[0].pk


def test_a_webhook_without_the_secret_is_refused(client: Client, settings: SettingsWrapper) -> None:
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:secret"}
    response = client.post("/m/esp/postmark/tracking/", data={}, content_type="application/json")
    assert response.status_code in (400, 401, 403) and not Suppression.objects.exists()
