"""ESP batch calls (ADR 32): a version's mails go up to 1,000 to a call with per-recipient fields, through the real
anymail Mailgun and SendGrid backends against a local server that checks the documented request shapes. What each
recipient gets once the ESP has merged is, character for character, the mail Tokui renders for that recipient alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.factories import CompanyFactory, ContactFactory, ProductFactory
from tests.messaging.conftest import make_template, opted_in
from tests.messaging.esp_server import EspCall, EspServer, running_esp_server
from tokui.commerce.models import Cart, CartLine
from tokui.customers.models import Contact
from tokui.messaging import tasks
from tokui.messaging.delivery import outbox_deliver
from tokui.messaging.enums import OutboxStatus
from tokui.messaging.hand_over import render_envelopes
from tokui.messaging.models import MailTemplate, MailTemplateVersion, OutboxMessage, SenderIdentity
from tokui.messaging.outbox_rows import claimed_mails
from tokui.messaging.services import messages_send_to_contacts

pytestmark = [
    pytest.mark.django_db,
    # anymail warns that it no longer officially supports SendGrid; its backend still sends as documented.
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]

MAILGUN = "anymail.backends.mailgun.EmailBackend"
SENDGRID = "anymail.backends.sendgrid.EmailBackend"


@pytest.fixture
def esp_server(settings: SettingsWrapper) -> Iterator[EspServer]:
    with running_esp_server() as server:
        settings.MAIL_CHANNEL = "esp"
        settings.SITE_URL = "https://tokui.example.jp"
        settings.ANYMAIL = {
            "MAILGUN_API_KEY": "key-test",
            "MAILGUN_API_URL": f"{server.url}/v3",
            "SENDGRID_API_KEY": "key-test",
            "SENDGRID_API_URL": f"{server.url}/v3/",
        }
        yield server


def _buyers(count: int) -> list[Contact]:
    buyers = []
    for n in range(count):
        company = CompanyFactory(name=f"得意商店{n}")
        contact = opted_in(ContactFactory(name=f"山田 {n}郎", email=f"buyer{n}@shop.example.jp", company=company))
        cart = Cart.objects.create(
            contact=contact, company=company, currency="JPY", last_activity_at=timezone.now(),
            recovery_url=f"https://shop.example.jp/cart/restore/{n}",
        )  # fmt: skip
        for index in range(n % 3 + 1):  # carts of 1 to 3 lines: loops of different lengths per recipient
            product = ProductFactory(name=f"リネン<シャツ> {n}-{index}", url=f"https://shop.example.jp/p/{n}/{index}")
            CartLine.objects.create(
                cart=cart,
                product=product,
                quantity=index + 1,
                unit_price=Decimal(4900 + index),
                added_at=timezone.now(),
            )
        buyers.append(contact)
    return buyers


def _alone(ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """Each mail as Tokui renders it for one recipient (the path every single-mail send takes)."""
    envelopes, errors = render_envelopes(claimed_mails(ids))
    assert not errors
    return {envelope.outbox_id: (envelope.subject, envelope.html, envelope.text) for envelope in envelopes}


def _mailgun_merged(call: EspCall) -> dict[str, dict[str, str]]:
    """What Mailgun makes of a call for each recipient: ``%recipient.KEY%`` replaced from its variables."""
    variables = json.loads(call.value("recipient-variables")) if call.values("recipient-variables") else {}
    merged = {}
    for address in call.values("to"):
        mine = variables.get(address, {})

        def put(text: str, mine: dict[str, Any] = mine) -> str:
            return re.sub(r"%recipient\.([^%]+)%", lambda match: str(mine[match.group(1)]), text)

        merged[address] = {name: put(value) for name, value in call.form if name not in ("to", "recipient-variables")}
    return merged


def _sendgrid_merged(call: EspCall) -> dict[str, dict[str, str]]:
    """What SendGrid makes of a call for each personalization: every substitution key replaced by its value."""
    body = call.body
    content = {part["type"]: part["value"] for part in body["content"]}
    merged = {}
    for personalization in body["personalizations"]:
        substitutions = personalization.get("substitutions", {})
        pattern = re.compile("|".join(map(re.escape, substitutions)) or "(?!)")

        def put(text: str, substitutions: dict[str, str] = substitutions, pattern: re.Pattern[str] = pattern) -> str:
            return pattern.sub(lambda match: substitutions[match.group(0)], text)

        [to] = personalization["to"]
        merged[to["email"]] = {
            "subject": put(personalization.get("subject", body.get("subject", ""))),
            "html": put(content["text/html"]),
            "text": put(content["text/plain"]),
            **{f"h:{name}": value for name, value in body.get("headers", {}).items()},
            **{f"h:{name}": value for name, value in personalization.get("headers", {}).items()},
            **{f"v:{name}": value for name, value in body.get("custom_args", {}).items()},
            **{f"v:{name}": value for name, value in personalization.get("custom_args", {}).items()},
        }
    return merged


def _check_each_recipient(merged: dict[str, dict[str, str]], ids: list[int]) -> None:
    alone = _alone(ids)
    for outbox in OutboxMessage.objects.filter(pk__in=ids):
        mine = {name.lower(): value for name, value in merged[outbox.to_email].items()}  # header names: any case
        assert (mine["subject"], mine["html"], mine["text"]) == alone[outbox.pk]
        assert mine["h:message-id"] == outbox.message_id
        assert mine["h:list-unsubscribe"].startswith("<https://tokui.example.jp/m/u/")
        assert mine["v:tokui_outbox_id"] == str(outbox.pk)


def test_a_mailgun_batch_is_one_call_and_each_recipient_gets_exactly_their_own_mail(
    esp_server: EspServer, settings: SettingsWrapper, sender: SenderIdentity
) -> None:
    settings.MAIL_ESP_BACKEND = MAILGUN
    _template, version = make_template(sender=sender)
    buyers = _buyers(5)

    batch = messages_send_to_contacts(template_version=version, contact_ids=[b.pk for b in buyers])

    assert esp_server.problems == []
    [call] = esp_server.calls
    assert sorted(call.values("to")) == sorted(b.email for b in buyers)
    assert "%recipient." in call.value("html") and "山田" not in call.value("html")  # one body, names as fields
    assert call.value("h:List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"  # the same for all: sent once
    _check_each_recipient(_mailgun_merged(call), batch.outbox_ids)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}


def test_a_sendgrid_batch_is_one_call_with_a_personalization_per_recipient(
    esp_server: EspServer, settings: SettingsWrapper, sender: SenderIdentity
) -> None:
    settings.MAIL_ESP_BACKEND = SENDGRID
    _template, version = make_template(sender=sender)
    buyers = _buyers(4)

    batch = messages_send_to_contacts(template_version=version, contact_ids=[b.pk for b in buyers])

    assert esp_server.problems == []
    [call] = esp_server.calls
    assert len(call.body["personalizations"]) == 4
    _check_each_recipient(_sendgrid_merged(call), batch.outbox_ids)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}


def test_fixed_text_that_looks_like_a_placeholder_sends_one_call_a_mail_unchanged(
    esp_server: EspServer, settings: SettingsWrapper, sender: SenderIdentity
) -> None:
    settings.MAIL_ESP_BACKEND = MAILGUN
    _template, version = make_template(
        sender=sender, html="<p>{{ contact.name }}様 — 100%recipient.off% のお知らせ</p>"
    )
    buyers = _buyers(3)

    batch = messages_send_to_contacts(template_version=version, contact_ids=[b.pk for b in buyers])

    assert esp_server.problems == [] and len(esp_server.calls) == 3
    alone = _alone(batch.outbox_ids)
    by_address = {call.value("to"): call for call in esp_server.calls}
    for outbox in OutboxMessage.objects.all():
        call = by_address[outbox.to_email]
        assert call.values("recipient-variables") == []
        assert (call.value("subject"), call.value("html"), call.value("text")) == alone[outbox.pk]


def test_a_recipient_whose_fields_pass_sendgrids_limit_is_sent_alone_and_the_rest_together(
    esp_server: EspServer, settings: SettingsWrapper, sender: SenderIdentity
) -> None:
    settings.MAIL_ESP_BACKEND = SENDGRID
    _template, version = make_template(sender=sender)
    buyers = _buyers(3)
    cart = Cart.objects.get(contact=buyers[1])
    for index in range(40):  # a cart of 40 lines: its block alone passes 10,000 bytes
        product = ProductFactory(name=f"長袖リネンシャツ {index}", url=f"https://shop.example.jp/long/{index}")
        CartLine.objects.create(
            cart=cart, product=product, quantity=1, unit_price=Decimal(4900), added_at=timezone.now()
        )

    batch = messages_send_to_contacts(template_version=version, contact_ids=[b.pk for b in buyers])

    assert esp_server.problems == []
    sizes = sorted(len(call.body["personalizations"]) for call in esp_server.calls)
    assert sizes == [1, 2]
    [alone_call] = [call for call in esp_server.calls if len(call.body["personalizations"]) == 1]
    assert "substitutions" not in alone_call.body["personalizations"][0]
    assert "長袖リネンシャツ 39" in alone_call.body["content"][1]["value"]
    assert alone_call.body["personalizations"][0]["to"][0]["email"] == buyers[1].email
    merged: dict[str, dict[str, str]] = {}
    for call in esp_server.calls:
        merged.update(_sendgrid_merged(call))
    _check_each_recipient(merged, batch.outbox_ids)


def test_two_mails_to_one_address_go_in_separate_calls(
    esp_server: EspServer, settings: SettingsWrapper, sender: SenderIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MAIL_ESP_BACKEND = MAILGUN
    # Queued without delivery: delivered below, all in one batch.
    monkeypatch.setattr(tasks, "deliver_outbox", SimpleNamespace(enqueue=lambda **kwargs: None))
    _template, version = make_template(sender=sender)
    buyers = _buyers(3)
    ids = [b.pk for b in buyers]
    first = messages_send_to_contacts(template_version=version, contact_ids=ids, campaign_id="a")
    second = messages_send_to_contacts(template_version=version, contact_ids=ids[:1], campaign_id="b")

    report = outbox_deliver()

    assert report.sent == 4 and esp_server.problems == []
    assert sorted(len(call.values("to")) for call in esp_server.calls) == [1, 3]
    merged: list[dict[str, dict[str, str]]] = [_mailgun_merged(call) for call in esp_server.calls]
    for outbox in OutboxMessage.objects.filter(pk__in=first.outbox_ids + second.outbox_ids):
        assert any(m.get(outbox.to_email, {}).get("v:tokui_outbox_id") == str(outbox.pk) for m in merged)


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (503, OutboxStatus.QUEUED),
        (429, OutboxStatus.QUEUED),
        (400, OutboxStatus.FAILED),
        ("drop", OutboxStatus.UNKNOWN),
    ],
)
def test_a_failed_batch_call_gives_every_mail_in_it_the_same_outcome(
    esp_server: EspServer, settings: SettingsWrapper, sender: SenderIdentity, answer: str | int, status: str
) -> None:
    settings.MAIL_ESP_BACKEND = MAILGUN
    esp_server.answer = answer
    _template, version = make_template(sender=sender)
    buyers = _buyers(3)

    messages_send_to_contacts(template_version=version, contact_ids=[b.pk for b in buyers])

    assert len(esp_server.calls) == 1
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {status}


def test_without_a_merging_esp_every_mail_is_its_own_call_as_before(
    settings: SettingsWrapper, cart_template: tuple[MailTemplate, MailTemplateVersion]
) -> None:
    from django.core import mail

    settings.MAIL_CHANNEL = "esp"
    settings.MAIL_ESP_BACKEND = "anymail.backends.test.EmailBackend"
    buyers = _buyers(3)

    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[b.pk for b in buyers])

    assert sorted(m.to[0] for m in mail.outbox) == sorted(b.email for b in buyers)
    assert all("%recipient" not in m.alternatives[0][0] for m in mail.outbox)
