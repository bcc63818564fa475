"""「セグメントに今すぐ送信」: a template to every contact of a segment, through the outbox, listed on the segment."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import CompanyFactory, ContactFactory
from tests.messaging.conftest import SmtpServer, opted_in
from tokui.messaging.enums import OutboxOrigin
from tokui.messaging.models import MailTemplate, MailTemplateVersion, OutboxMessage, SegmentSend
from tokui.segments.enums import SegmentKind, Subject
from tokui.segments.models import Segment, SegmentMember

pytestmark = pytest.mark.django_db


def static_segment(name: str, subject: Subject, ids: list[int]) -> Segment:
    segment = Segment.objects.create(name=name, subject=subject, kind=SegmentKind.STATIC, member_count=len(ids))
    SegmentMember.objects.bulk_create(
        SegmentMember(segment=segment, customer_id=pk, entered_at=timezone.now()) for pk in ids
    )
    return segment


def send(client: Client, template: MailTemplate, segment: Segment, campaign: str = "") -> str:
    response = client.post(
        f"/mail/{template.pk}/send-segment/",
        {"segment-segment": segment.pk, "segment-campaign_id": campaign, "segment-confirm": "on"},
    )
    assert response.status_code == 302
    return str(response["Location"])


def test_a_segment_of_companies_reaches_every_contact_of_its_companies_once(
    smtp_server: SmtpServer, marketer_client: Client, cart_template: tuple[MailTemplate, MailTemplateVersion]
) -> None:
    first, second, outside = CompanyFactory(), CompanyFactory(), CompanyFactory()
    buyers = [opted_in(ContactFactory(company=company)) for company in (first, first, second)]
    opted_in(ContactFactory(company=outside))
    opted_in(ContactFactory(company=second, archived_at=timezone.now()))  # left the company: not sent
    segment = static_segment("春の優良取引先", Subject.COMPANY, [first.pk, second.pk])

    location = send(marketer_client, cart_template[0], segment, campaign="spring-top")

    assert "campaign=spring-top" in location
    rows = OutboxMessage.objects.filter(campaign_id="spring-top")
    assert sorted(rows.values_list("contact_id", flat=True)) == sorted(buyer.pk for buyer in buyers)
    assert set(rows.values_list("origin", flat=True)) == {OutboxOrigin.SEGMENT}
    assert sorted(r.recipients[0] for r in smtp_server.received) == sorted(buyer.email for buyer in buyers)
    sent = SegmentSend.objects.get()
    assert (sent.segment, sent.recipients, sent.template_version) == (segment, 3, cart_template[1])
    assert marketer_client.get(location).status_code == 200

    send(marketer_client, cart_template[0], segment, campaign="spring-top")  # a double click
    assert OutboxMessage.objects.filter(campaign_id="spring-top").count() == 3
    assert len(smtp_server.received) == 3


def test_the_segment_page_lists_the_mails_sent_to_it(
    smtp_server: SmtpServer,
    marketer_client: Client,
    cart_template: tuple[MailTemplate, MailTemplateVersion],
    buyer: object,
) -> None:
    segment = static_segment("カートに残っている方", Subject.CONTACT, [buyer.pk])  # type: ignore[attr-defined]
    send(marketer_client, cart_template[0], segment)

    page = marketer_client.get(f"/segments/{segment.pk}/").content.decode()

    assert cart_template[0].name in page and "1件" in page.replace(",", "")


def test_a_segment_without_contacts_says_so_and_queues_nothing(
    marketer_client: Client, cart_template: tuple[MailTemplate, MailTemplateVersion]
) -> None:
    segment = static_segment("空のリスト", Subject.COMPANY, [CompanyFactory().pk])  # a company without contacts

    send(marketer_client, cart_template[0], segment)

    assert OutboxMessage.objects.count() == 0 and SegmentSend.objects.count() == 0
    page = marketer_client.get(f"/mail/{cart_template[0].pk}/preview/", follow=True).content.decode()
    assert "送信できる連絡先がありません" in page


@pytest.mark.django_db(transaction=True)
def test_a_large_send_commits_chunk_by_chunk_and_a_retry_queues_only_what_is_missing(
    cart_template: tuple[MailTemplate, MailTemplateVersion], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tokui.messaging import delivery, segment_sends, tasks

    queued: list[list[int]] = []
    monkeypatch.setattr(tasks, "deliver_outbox", SimpleNamespace(enqueue=lambda outbox_ids: queued.append(outbox_ids)))
    monkeypatch.setattr(segment_sends, "QUEUE_CHUNK", 2)
    ids = [opted_in(ContactFactory()).pk for _ in range(5)]
    real = delivery.messages_send_to_contacts
    calls = []

    def third_chunk_fails(**kwargs: Any) -> delivery.SendBatch:
        calls.append(kwargs["contact_ids"])
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real(**kwargs)

    monkeypatch.setattr(segment_sends, "messages_send_to_contacts", third_chunk_fails)
    with pytest.raises(RuntimeError):
        segment_sends.messages_send_in_chunks(
            template_version=cart_template[1], contact_ids=reversed(ids), idempotency_prefix="big", campaign_id="big"
        )
    # The two chunks before the failure are committed (in their own transactions) and were handed to the workers.
    assert sorted(OutboxMessage.objects.values_list("contact_id", flat=True)) == sorted(ids)[:4]
    assert [len(chunk) for chunk in queued] == [2, 2]

    monkeypatch.setattr(segment_sends, "messages_send_to_contacts", real)
    batch = segment_sends.messages_send_in_chunks(
        template_version=cart_template[1], contact_ids=ids, idempotency_prefix="big", campaign_id="big"
    )
    assert batch.created == 1 and len(batch.outbox_ids) == 5
    assert sorted(OutboxMessage.objects.values_list("contact_id", flat=True)) == sorted(ids)
