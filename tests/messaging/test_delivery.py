"""The outbox and its delivery over a real SMTP server: every message parsed back with Python's ``email``."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from markupsafe import escape
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.factories import CompanyFactory, ContactFactory, ProductFactory
from tests.messaging.conftest import SmtpServer, make_template, opted_in
from tokui.commerce.models import Cart, CartLine
from tokui.customers.models import Contact
from tokui.messaging.delivery import outbox_claim, outbox_deliver, outbox_deliver_due, outbox_requeue_stale
from tokui.messaging.enums import (
    AttemptOutcome,
    MailCharset,
    MailKind,
    MailLinkKind,
    OutboxStatus,
    SkipReason,
    SuppressionReason,
)
from tokui.messaging.links import mail_link_read
from tokui.messaging.models import (
    DeliveryAttempt,
    MailTemplate,
    MailTemplateVersion,
    OutboxMessage,
    OutboxQueueEntry,
    SenderIdentity,
    Suppression,
)
from tokui.messaging.selectors import outbox_messages, suppressed_reasons
from tokui.messaging.services import contact_unsubscribe, messages_send_to_contacts
from tokui.messaging.suppression import suppression_add
from tokui.tracking.models import Event

pytestmark = pytest.mark.django_db


def _cart(contact: Contact) -> Cart:
    cart = Cart.objects.create(
        contact=contact,
        company=contact.company,
        currency="JPY",
        last_activity_at=timezone.now(),
        recovery_url="https://shop.example.jp/cart/restore/abc",
    )
    for index, (price, quantity) in enumerate([(Decimal(4900), 2), (Decimal(12800), 1)]):
        product = ProductFactory(name=f"リネンシャツ{index}", url=f"https://shop.example.jp/products/{index}")
        CartLine.objects.create(
            cart=cart, product=product, quantity=quantity, unit_price=price, added_at=timezone.now()
        )
    return cart


def test_a_marketing_mail_arrives_personalised_tracked_and_with_every_header(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion], buyer: Contact
) -> None:
    _cart(buyer)
    batch = messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk], campaign_id="spring")

    outbox = OutboxMessage.objects.get(pk=batch.outbox_ids[0])
    assert outbox.status == OutboxStatus.SENT and outbox.attempts == 1
    [received] = smtp_server.received
    assert received.recipients == ["hanako@shop.example.jp"] and received.mail_from == "shop@tokui.example.jp"
    message = received.message
    assert message["Subject"] == "山田 花子様、カートに商品が残っています"
    assert message["From"].addresses[0].display_name == "得意商事"
    assert message["To"].addresses[0].display_name == "山田 花子"
    assert message["Message-ID"] == outbox.message_id
    assert message["List-Unsubscribe"].startswith("<https://tokui.example.jp/m/u/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_payload()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert text.get_content_charset() == html.get_content_charset() == "utf-8"
    body = html.get_content()
    assert "山田 花子様" in body and "リネンシャツ0" in body and "4,900円 × 2" in body and "12,800円 × 1" in body
    assert 'style="color: #c00;"' in body  # the CSS was inlined
    assert "https://tokui.example.jp/m/c/" in body and "https://shop.example.jp/products/0" not in body
    assert 'src="https://tokui.example.jp/m/o/' in body  # the open pixel
    assert "得意商事株式会社" in body and "東京都千代田区丸の内1-1-1" in body  # 特定電子メール法 footer
    assert "山田 花子様" in text.get_content() and "カートに商品が残っています" in text.get_content()
    assert DeliveryAttempt.objects.get(message=outbox).outcome == AttemptOutcome.SENT
    fact = Event.objects.get(type="mail_sent", contact=buyer)
    assert fact.properties["template_id"] == cart_template[0].pk and fact.properties["campaign_id"] == "spring"


def test_every_link_of_a_sent_mail_reads_back_to_its_message_contact_and_address(
    smtp_server: SmtpServer, sender: SenderIdentity, buyer: Contact
) -> None:
    _cart(buyer)
    html = (
        '<p><a href="https://shop.example.jp/sale?a=1&amp;b=2">セール</a></p>'
        '{% for item in cart.items %}<a href="{{ item.url }}">{{ item.name }}</a>{% endfor %}'
    )
    _template, version = make_template(sender=sender, html=html)
    batch = messages_send_to_contacts(template_version=version, contact_ids=[buyer.pk])
    [received] = smtp_server.received
    body = received.message.get_payload()[1].get_content()
    assert "\x00" not in body
    tokens = re.findall(r'href="https://tokui\.example\.jp/m/c/([^"]+)"', body)
    links = [mail_link_read(token=token, kind=MailLinkKind.CLICK) for token in tokens]
    assert [(link.message_id, link.contact_id) for link in links if link] == [(batch.outbox_ids[0], buyer.pk)] * 3
    assert [link.url for link in links if link] == [
        "https://shop.example.jp/sale?a=1&b=2",
        "https://shop.example.jp/products/0",
        "https://shop.example.jp/products/1",
    ]
    assert body.count('src="https://tokui.example.jp/m/o/') == 1


def test_missing_data_falls_back_to_defaults(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion]
) -> None:
    nameless = opted_in(ContactFactory(name="", email="someone@shop.example.jp", company=None))
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[nameless.pk])

    body = smtp_server.received[0].message.get_body(("html",))
    assert body is not None and "ご担当者様" in body.get_content()


def test_the_same_send_queued_twice_is_one_mail(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion], buyer: Contact
) -> None:
    for _ in range(2):
        messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk], idempotency_prefix="b1")
    assert OutboxMessage.objects.count() == 1 and len(smtp_server.received) == 1


def test_iso_2022_jp_mail_converts_platform_dependent_characters(
    smtp_server: SmtpServer, sender: SenderIdentity, buyer: Contact
) -> None:
    _template, version = make_template(
        sender=sender,
        html="<p>①ご注文 ㈱ﾄｸｲ ～ {{ contact.name }}様</p>",
        subject="①㈱ﾃｽﾄのご案内",
        charset=MailCharset.ISO2022JP,
    )
    messages_send_to_contacts(template_version=version, contact_ids=[buyer.pk])

    raw = smtp_server.received[0].raw
    assert b"=?iso-2022-jp?b?" in raw and raw.isascii()
    message = smtp_server.received[0].message
    assert message["Subject"] == "(1)(株)テストのご案内"
    html = message.get_body(("html",))
    assert html is not None and html.get_content_charset() == "iso-2022-jp"
    assert "(1)ご注文 (株)トクイ ~ 山田 花子様" in html.get_content()


def test_a_temporary_refusal_is_retried_later_with_the_attempt_logged(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion], buyer: Contact
) -> None:
    smtp_server.handler.rcpt_replies[buyer.email] = "451 4.7.1 Greylisted, try again later"
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])

    outbox = OutboxMessage.objects.get()
    assert outbox.status == OutboxStatus.QUEUED and outbox.attempts == 1
    assert outbox.queue_entry.next_attempt_at > timezone.now() + dt.timedelta(seconds=50)
    assert outbox.queue_entry.claimed_at is None
    attempt = DeliveryAttempt.objects.get()
    assert (attempt.outcome, attempt.code) == (AttemptOutcome.TEMPORARY, 451)

    del smtp_server.handler.rcpt_replies[buyer.email]
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
        outbox_deliver_due()
    outbox.refresh_from_db()
    assert outbox.status == OutboxStatus.SENT and outbox.attempts == 2 and len(smtp_server.received) == 1
    assert smtp_server.received[0].message["Message-ID"] == outbox.message_id


def test_a_5xx_no_such_user_fails_suppresses_the_address_and_is_a_fact(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion], buyer: Contact
) -> None:
    smtp_server.handler.rcpt_replies[buyer.email] = "550 5.1.1 No such user"
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])

    assert OutboxMessage.objects.get().status == OutboxStatus.FAILED
    assert Suppression.objects.get(email=buyer.email).reason == "hard_bounce"
    assert Event.objects.filter(type="mail_bounced", contact=buyer).exists()

    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])
    later = OutboxMessage.objects.order_by("-id").first()
    assert later is not None and (later.status, later.skip_reason) == (OutboxStatus.SUPPRESSED, SkipReason.SUPPRESSED)
    assert smtp_server.received == []


def test_a_connection_lost_after_data_is_unknown_and_never_resent(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion], buyer: Contact
) -> None:
    smtp_server.handler.drop_after_data = True
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])

    outbox = OutboxMessage.objects.get()
    assert outbox.status == OutboxStatus.UNKNOWN
    assert DeliveryAttempt.objects.get().outcome == AttemptOutcome.UNKNOWN
    smtp_server.handler.drop_after_data = False
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1)):
        assert outbox_deliver_due().claimed == 0
    assert smtp_server.received == []


def test_consent_topic_opt_out_and_frequency_cap_are_checked_at_send_time(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion], settings: SettingsWrapper
) -> None:
    never_asked = ContactFactory()
    opted_out_topic = opted_in(ContactFactory())
    capped = opted_in(ContactFactory())
    contact_unsubscribe(contact=opted_out_topic, message=None, topic=cart_template[0].topic)
    settings.MAIL_FREQUENCY_CAP = 1
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[capped.pk])
    messages_send_to_contacts(
        template_version=cart_template[1], contact_ids=[never_asked.pk, opted_out_topic.pk, capped.pk]
    )

    reasons = dict(
        OutboxMessage.objects.filter(status=OutboxStatus.SUPPRESSED).values_list("contact_id", "skip_reason")
    )
    assert reasons == {
        never_asked.pk: SkipReason.NO_CONSENT,
        opted_out_topic.pk: SkipReason.OPTED_OUT,
        capped.pk: SkipReason.FREQUENCY_CAP,
    }
    assert len(smtp_server.received) == 1


def test_a_frequency_cap_counts_only_marketing_mail_accepted_inside_its_window(
    smtp_server: SmtpServer, sender: SenderIdentity, settings: SettingsWrapper
) -> None:
    settings.MAIL_FREQUENCY_CAP, settings.MAIL_FREQUENCY_CAP_DAYS = 2, 7
    _t, marketing = make_template(sender=sender)
    _t2, receipt = make_template(sender=sender, kind=MailKind.TRANSACTIONAL, html="<p>ご注文ありがとうございます</p>")
    buyer = opted_in(ContactFactory())
    with time_machine.travel(timezone.now() - dt.timedelta(days=8)):  # outside the window
        messages_send_to_contacts(template_version=marketing, contact_ids=[buyer.pk])
    messages_send_to_contacts(template_version=receipt, contact_ids=[buyer.pk])  # transactional: not counted
    smtp_server.handler.rcpt_replies[buyer.email] = "554 5.7.1 Rejected"  # refused: not counted
    messages_send_to_contacts(template_version=marketing, contact_ids=[buyer.pk])
    del smtp_server.handler.rcpt_replies[buyer.email]
    messages_send_to_contacts(template_version=marketing, contact_ids=[buyer.pk])  # the first inside the window
    messages_send_to_contacts(template_version=marketing, contact_ids=[buyer.pk])  # the second
    messages_send_to_contacts(template_version=marketing, contact_ids=[buyer.pk])  # over the cap

    statuses = list(OutboxMessage.objects.order_by("id").values_list("status", "skip_reason"))
    assert statuses == [
        (OutboxStatus.SENT, ""), (OutboxStatus.SENT, ""), (OutboxStatus.FAILED, ""), (OutboxStatus.SENT, ""),
        (OutboxStatus.SENT, ""), (OutboxStatus.SUPPRESSED, SkipReason.FREQUENCY_CAP),
    ]  # fmt: skip
    # The log keeps each attempt's recipient, domain and kind, which the caps and domain rates count.
    logged = set(DeliveryAttempt.objects.values_list("contact_id", "to_domain", "kind"))
    domain = buyer.email.rpartition("@")[2]
    assert logged == {(buyer.pk, domain, MailKind.MARKETING), (buyer.pk, domain, MailKind.TRANSACTIONAL)}


def test_mail_not_delivered_is_marked_for_attention_and_the_outbox_page_lists_it_newest_first(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion]
) -> None:
    refused, delivered, unasked = opted_in(ContactFactory()), opted_in(ContactFactory()), ContactFactory()
    smtp_server.handler.rcpt_replies[refused.email] = "554 5.7.1 Rejected"
    for contact in (refused, delivered, unasked):
        messages_send_to_contacts(template_version=cart_template[1], contact_ids=[contact.pk])

    marked = dict(OutboxMessage.objects.values_list("contact_id", "needs_attention"))
    assert marked == {refused.pk: True, delivered.pk: False, unasked.pk: True}
    assert not OutboxQueueEntry.objects.exists()  # every outcome here is final
    assert [m.contact_id for m in outbox_messages()] == [unasked.pk, delivered.pk, refused.pk]
    assert [m.contact_id for m in outbox_messages(status=OutboxStatus.FAILED)] == [refused.pk]
    assert [m.contact_id for m in outbox_messages(status=OutboxStatus.SUPPRESSED)] == [unasked.pk]
    assert [m.contact_id for m in outbox_messages(status=OutboxStatus.SENT)] == [delivered.pk]


def test_an_unsubscribe_between_queueing_and_sending_is_honoured(
    smtp_server: SmtpServer,
    cart_template: tuple[MailTemplate, MailTemplateVersion],
    buyer: Contact,
    settings: SettingsWrapper,
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])
    contact_unsubscribe(contact=buyer, message=None)
    outbox_deliver()

    assert OutboxMessage.objects.get().skip_reason == SkipReason.NO_CONSENT and smtp_server.received == []


def test_quiet_hours_hold_marketing_mail_but_not_transactional_mail(
    smtp_server: SmtpServer, sender: SenderIdentity, settings: SettingsWrapper
) -> None:
    settings.MAIL_QUIET_HOURS = (21, 8)
    _t, marketing = make_template(sender=sender)
    _t2, receipt = make_template(sender=sender, kind=MailKind.TRANSACTIONAL, html="<p>ご注文ありがとうございます</p>")
    late_evening = dt.datetime(2027, 4, 1, 23, 30, tzinfo=dt.UTC) - dt.timedelta(hours=9)  # 23:30 in Tokyo
    with time_machine.travel(late_evening, tick=False):
        buyer = opted_in(ContactFactory())
        messages_send_to_contacts(template_version=marketing, contact_ids=[buyer.pk])
        contact_unsubscribe(contact=buyer, message=None)  # transactional mail still goes to an unsubscribed contact
        messages_send_to_contacts(template_version=receipt, contact_ids=[buyer.pk])

    held, sent = OutboxMessage.objects.order_by("id")
    assert held.status == OutboxStatus.QUEUED
    assert timezone.localtime(held.queue_entry.next_attempt_at).hour == 8
    assert sent.status == OutboxStatus.SENT and "List-Unsubscribe" not in smtp_server.received[0].message


def test_a_domain_rate_limit_defers_the_excess(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion], settings: SettingsWrapper
) -> None:
    settings.MAIL_DOMAIN_RATE_LIMITS = {"docomo.ne.jp": 2}
    contacts = [opted_in(ContactFactory(email=f"user{i}@docomo.ne.jp")) for i in range(3)]
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[c.pk for c in contacts])

    assert OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 2
    assert OutboxMessage.objects.filter(status=OutboxStatus.QUEUED).count() == 1
    assert DeliveryAttempt.objects.filter(outcome=AttemptOutcome.DEFERRED).count() == 1


def test_the_delivery_log_keeps_each_attempts_channel_code_and_reply_and_a_deferrals_resume_time(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion], settings: SettingsWrapper
) -> None:
    settings.MAIL_DOMAIN_RATE_LIMITS = {"docomo.ne.jp": 1}
    contacts = [opted_in(ContactFactory(email=f"user{i}@docomo.ne.jp")) for i in range(2)]
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[c.pk for c in contacts])

    sent = OutboxMessage.objects.get(status=OutboxStatus.SENT)
    held = OutboxMessage.objects.get(status=OutboxStatus.QUEUED)
    sent_log = DeliveryAttempt.objects.get(message=sent)
    assert (sent_log.outcome, sent_log.code, sent_log.channel) == (AttemptOutcome.SENT, 250, settings.MAIL_CHANNEL)
    assert sent_log.response and sent_log.attempted_at == sent.sent_at
    held_log = DeliveryAttempt.objects.get(message=held)
    assert (held_log.outcome, held_log.code, held_log.channel) == (AttemptOutcome.DEFERRED, None, "")
    assert held_log.response == str(held.queue_entry.next_attempt_at) and held_log.attempted_at == sent.sent_at


def test_a_worker_killed_mid_batch_leaves_rows_that_go_back_to_the_queue(
    cart_template: tuple[MailTemplate, MailTemplateVersion], buyer: Contact, settings: SettingsWrapper
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    with time_machine.travel(timezone.now() - dt.timedelta(hours=1)):
        messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])
        assert [mail.pk for mail in outbox_claim()] == [OutboxMessage.objects.get().pk]
    fresh = ContactFactory()
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[fresh.pk])
    assert len(outbox_claim()) == 1  # a claim within the lease stays with its worker

    assert outbox_requeue_stale() == 1
    stale = OutboxMessage.objects.get(contact=buyer)
    assert stale.status == OutboxStatus.QUEUED and stale.queue_entry.claimed_at is None
    assert OutboxMessage.objects.get(contact=fresh).status == OutboxStatus.SENDING
    assert [mail.pk for mail in outbox_claim()] == [stale.pk]


def test_a_batch_reads_its_contacts_in_one_go_however_many_mails_it_holds(
    smtp_server: SmtpServer, sender: SenderIdentity
) -> None:
    # Only a few columns of each contact and company are read when a batch is claimed: a mail that needed another
    # one would read it per contact, and the number of statements would grow with the batch.
    _template, version = make_template(sender=sender, html="<p>{{ contact.name }} / {{ company.name }}</p>")
    company = CompanyFactory(name="得意先商事")
    counts, everyone = [], []
    for size in (1, 4):
        contacts = [opted_in(ContactFactory(company=company)) for _ in range(size)]
        everyone += contacts
        with CaptureQueriesContext(connection) as queries:
            messages_send_to_contacts(template_version=version, contact_ids=[c.pk for c in contacts])
        counts.append(len(queries))

    assert counts[0] == counts[1]
    bodies = [received.message.get_body(("html",)).get_content() for received in smtp_server.received]
    assert len(bodies) == 5
    assert all(any(f"{escape(c.name)} / 得意先商事" in body for body in bodies) for c in everyone)


def test_a_channel_failing_mid_batch_leaves_its_slice_unknown_and_the_mails_not_handed_over_queued(
    sender: SenderIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tokui.messaging import delivery
    from tokui.messaging.channels.base import SendResult

    class BreaksOnSecondSlice:
        name = "smtp"
        merges = False
        hand_over_slice = 2
        calls = 0

        def send_many(self, envelopes: list[Any]) -> list[SendResult]:
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("connection reset")
            return [SendResult(e.outbox_id, AttemptOutcome.SENT, 250, "OK") for e in envelopes]

        def close(self) -> None:
            pass

    monkeypatch.setattr(delivery, "_deliver_after_commit", lambda ids: None)
    _template, version = make_template(sender=sender, html="<p>{{ contact.name }}</p>")
    ids = messages_send_to_contacts(
        template_version=version, contact_ids=[opted_in(ContactFactory()).pk for _ in range(5)]
    ).outbox_ids
    report = outbox_deliver(outbox_ids=ids, channel=BreaksOnSecondSlice())

    statuses = dict(OutboxMessage.objects.values_list("pk", "status"))
    assert [statuses[pk] for pk in sorted(ids)] == [
        OutboxStatus.SENT, OutboxStatus.SENT, OutboxStatus.UNKNOWN, OutboxStatus.UNKNOWN, OutboxStatus.QUEUED,
    ]  # fmt: skip
    assert (report.sent, report.unknown, report.retried) == (2, 2, 1)


def test_the_suppression_check_finds_a_batchs_suppressed_addresses_whatever_their_case() -> None:
    suppression_add(email="bounced@example.jp", reason=SuppressionReason.HARD_BOUNCE, source="smtp")
    suppression_add(email="left@example.jp", reason=SuppressionReason.UNSUBSCRIBED, source="link")
    batch = ["Bounced@Example.JP", "", "LEFT@example.jp", *(f"user{n}@example.jp" for n in range(1500))]

    assert suppressed_reasons(emails=batch) == {
        "bounced@example.jp": SuppressionReason.HARD_BOUNCE,
        "left@example.jp": SuppressionReason.UNSUBSCRIBED,
    }


def test_a_cart_mails_batch_reads_its_recipients_carts_at_once_and_each_gets_its_own(
    smtp_server: SmtpServer, cart_template: tuple[MailTemplate, MailTemplateVersion]
) -> None:
    # The carts, their lines and products are read for the whole batch (a few statements), not per recipient.
    counts, everyone = [], []
    for size in (1, 4):
        contacts = [opted_in(ContactFactory()) for _ in range(size)]
        for contact in contacts:
            cart = _cart(contact)
            cart.lines.filter(quantity=1).update(quantity=contact.pk % 7 + 3)  # a quantity only this one has
        everyone += contacts
        with CaptureQueriesContext(connection) as queries:
            messages_send_to_contacts(template_version=cart_template[1], contact_ids=[c.pk for c in contacts])
        counts.append(len(queries))

    assert counts[0] == counts[1]
    delivered = {r.recipients[0]: r.message.get_body(("html",)).get_content() for r in smtp_server.received}
    for contact in everyone:
        assert f"× {contact.pk % 7 + 3}" in delivered[contact.email]
