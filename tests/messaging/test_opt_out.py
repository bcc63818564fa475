"""Opt-out: RFC 8058 one-click unsubscribe, the confirmation page scanners see, the preference page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.messaging.conftest import SmtpServer
from tokui.customers.enums import Channel, ConsentStatus
from tokui.customers.models import Contact
from tokui.customers.selectors import consent_status
from tokui.messaging.enums import OutboxStatus, SkipReason
from tokui.messaging.links import opt_out_token_read, opt_out_urls, preferences_url, unsubscribe_url
from tokui.messaging.models import MailTemplate, MailTemplateVersion, OutboxMessage, TopicOptOut
from tokui.messaging.services import messages_send_to_contacts
from tokui.tracking.models import Event

pytestmark = pytest.mark.django_db


def _sent_unsubscribe_path(smtp_server: SmtpServer) -> str:
    header = smtp_server.received[-1].message["List-Unsubscribe"]
    url = re.fullmatch(r"<(https://[^>]+)>", header)
    assert url is not None
    return url.group(1).removeprefix("https://tokui.example.jp")


def test_one_click_post_without_cookies_unsubscribes_at_once_and_answers_200(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion], buyer: Contact
) -> None:
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])
    path = _sent_unsubscribe_path(smtp_server)

    provider = Client(enforce_csrf_checks=True)  # a mail provider: no cookies, no CSRF token
    response = provider.post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200 and "Location" not in response
    assert consent_status(contact=buyer, channel=Channel.EMAIL) == ConsentStatus.WITHDRAWN
    fact = Event.objects.get(type="unsubscribed", contact=buyer)
    assert fact.properties["template_id"] == cart_template[0].pk and fact.properties["scope"] == "all"

    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])
    assert OutboxMessage.objects.order_by("-id")[0].skip_reason == SkipReason.NO_CONSENT
    assert len(smtp_server.received) == 1


def test_a_plain_get_of_the_unsubscribe_link_only_asks(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion], buyer: Contact, client: Client
) -> None:
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])
    response = client.get(_sent_unsubscribe_path(smtp_server))

    assert response.status_code == 200 and 'method="post"' in response.content.decode()
    assert consent_status(contact=buyer, channel=Channel.EMAIL) == ConsentStatus.GRANTED
    assert not Event.objects.filter(type="unsubscribed").exists()


def test_a_tampered_unsubscribe_link_changes_nothing(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion], buyer: Contact, client: Client
) -> None:
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])
    path = _sent_unsubscribe_path(smtp_server)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")

    assert client.post(tampered).status_code == 400
    assert consent_status(contact=buyer, channel=Channel.EMAIL) == ConsentStatus.GRANTED


def test_the_preference_page_stops_one_topic_and_keeps_the_rest(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion], buyer: Contact, client: Client
) -> None:
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])
    path = _sent_unsubscribe_path(smtp_server).replace("/m/u/", "/m/p/")
    page = client.get(path)
    assert page.status_code == 200 and 'name="topics"' in page.content.decode()

    client.post(path, {"all_mail": "yes", "topics": ["cart", "points"]})

    assert set(TopicOptOut.objects.filter(contact=buyer).values_list("topic", flat=True)) == {"news", "recommendations"}
    assert consent_status(contact=buyer, channel=Channel.EMAIL) == ConsentStatus.GRANTED
    scopes = {e.properties["scope"] for e in Event.objects.filter(type="unsubscribed", contact=buyer)}
    assert scopes == {"news", "recommendations"}
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])  # topic "news"
    assert OutboxMessage.objects.order_by("-id")[0].status == OutboxStatus.SUPPRESSED


def test_the_opt_out_pair_signed_once_equals_the_two_links_and_reads_back() -> None:
    pair = opt_out_urls(message_id=12, contact_id=34)
    assert pair == (unsubscribe_url(message_id=12, contact_id=34), preferences_url(message_id=12, contact_id=34))
    assert opt_out_token_read(pair[1].rsplit("/", 1)[1]) == (12, 34)
