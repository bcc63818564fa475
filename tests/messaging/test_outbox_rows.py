"""The outbox's batch writes (COPY and array statements on PostgreSQL, the ORM elsewhere) keep the outbox's rules."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tests.factories import ContactFactory
from tokui.customers.models import Contact
from tokui.messaging.delivery import outbox_claim, outbox_deliver
from tokui.messaging.enums import MailKind, OutboxOrigin, OutboxStatus
from tokui.messaging.models import MailTemplateVersion, OutboxMessage, OutboxQueueEntry
from tokui.messaging.outbox_rows import NewRow, outbox_rows_store
from tokui.messaging.types import MailRecipient


def _rows(version: MailTemplateVersion, contact_ids: list[int], *, prefix: str) -> list[NewRow]:
    return [
        NewRow(
            idempotency_key=f"{prefix}:{contact_id}", contact_id=contact_id, to_email=f"c{contact_id}@example.jp",
            to_domain="example.jp", template_version_id=version.pk, kind=MailKind.MARKETING,
            origin=OutboxOrigin.CONTACTS, campaign_id="spring", data={"coupon_code": "春10"},
            message_id=f"<{prefix}-{contact_id}@tokui.example.jp>", created_by_id=None,
        )
        for contact_id in contact_ids
    ]  # fmt: skip


def test_stored_rows_keep_every_field_and_a_repeated_key_answers_the_existing_row(
    cart_template: tuple[object, MailTemplateVersion],
) -> None:
    version = cart_template[1]
    contacts = [ContactFactory().pk for _ in range(3)]
    due = timezone.now()
    first = outbox_rows_store(_rows(version, contacts[:2], prefix="k"), due_at=due)
    again = outbox_rows_store(_rows(version, contacts, prefix="k"), due_at=due + dt.timedelta(hours=1))
    assert first.created == 2 and again.created == 1
    assert len(first.ids) == 2 and set(first.ids) < set(again.ids) and len(again.ids) == 3
    assert OutboxMessage.objects.count() == 3
    # Each new row is queued once, due when its call said; a repeated key leaves the entry as it was.
    entries = dict(OutboxQueueEntry.objects.values_list("message_id", "next_attempt_at"))
    new_id = (set(again.ids) - set(first.ids)).pop()
    assert entries == {first.ids[0]: due, first.ids[1]: due, new_id: due + dt.timedelta(hours=1)}
    row = OutboxMessage.objects.get(pk=first.ids[0])
    assert (row.status, row.attempts, row.data, row.campaign_id, row.kind, row.template_version_id) == (
        OutboxStatus.QUEUED, 0, {"coupon_code": "春10"}, "spring", MailKind.MARKETING, version.pk,
    )  # fmt: skip
    assert row.created_at is not None and row.message_id == f"<k-{contacts[0]}@tokui.example.jp>"


def test_a_claim_takes_only_the_rows_asked_for_and_each_row_once(
    cart_template: tuple[object, MailTemplateVersion],
) -> None:
    version = cart_template[1]
    ids = outbox_rows_store(
        _rows(version, [ContactFactory().pk for _ in range(4)], prefix="c"), due_at=timezone.now()
    ).ids
    claimed = outbox_claim(outbox_ids=ids[:2])
    assert [message.pk for message in claimed] == ids[:2]
    rows = OutboxMessage.objects.filter(pk__in=ids[:2]).select_related("queue_entry")
    assert all(row.status == OutboxStatus.SENDING and row.queue_entry.claimed_at for row in rows)
    # What the send needs comes with the claim: the recipient as plain values and the version.
    contact = Contact.objects.select_related("company").get(pk=claimed[0].contact_id)
    assert claimed[0].recipient == MailRecipient(
        id=contact.pk,
        name=contact.name,
        email=contact.email,
        company_id=contact.company_id,
        company_name=contact.company.name if contact.company else "",
    )
    assert claimed[0].template_version == version
    assert outbox_claim(outbox_ids=ids[:2]) == []
    assert [message.pk for message in outbox_claim(limit=1)] == [ids[2]]
    assert outbox_deliver(outbox_ids=ids[:3]).claimed == 0
