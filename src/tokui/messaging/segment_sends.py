"""「セグメントに今すぐ送信」: a one-off send of a template to the members of a segment, through the same outbox as
every other mail, queued a committed chunk at a time; and where each segment was sent to (the segment page's
"where it is used")."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from itertools import batched
from typing import Any

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from tokui.core.errors import DomainError
from tokui.messaging.delivery import SendBatch, messages_send_to_contacts
from tokui.messaging.enums import OutboxOrigin
from tokui.messaging.models import MailTemplateVersion, SegmentSend
from tokui.segments.models import Segment
from tokui.segments.selectors import segment_contact_ids
from tokui.segments.usages import SegmentUsage

MAX_SEGMENT_RECIPIENTS = 1_000_000
QUEUE_CHUNK = 10_000


def messages_send_in_chunks(
    *,
    template_version: MailTemplateVersion,
    contact_ids: Iterable[int],
    idempotency_prefix: str,
    campaign_id: str = "",
    created_by: Any = None,
    origin: OutboxOrigin = OutboxOrigin.CONTACTS,
) -> SendBatch:
    """``messages_send_to_contacts`` for a large send, ``QUEUE_CHUNK`` contacts at a time, each chunk committed on
    its own when no transaction is open around the call: workers start on the first chunk while the rest is being
    queued (in one transaction a 1,000,000-recipient send queued for a minute before its first mail). A failure
    part-way leaves the chunks before it queued; the same call again (the same ``idempotency_prefix``) queues only
    the rest."""
    ids: list[int] = []
    created = 0
    for chunk in batched(sorted(set(contact_ids)), QUEUE_CHUNK, strict=False):
        batch = messages_send_to_contacts(
            template_version=template_version,
            contact_ids=chunk,
            campaign_id=campaign_id,
            created_by=created_by,
            idempotency_prefix=idempotency_prefix,
            origin=origin,
        )
        ids += batch.outbox_ids
        created += batch.created
    return SendBatch(outbox_ids=ids, created=created)


def mail_send_to_segment(
    *, template_version: MailTemplateVersion, segment: Segment, campaign_id: str = "", created_by: Any = None
) -> tuple[SegmentSend, SendBatch]:
    """Queue the template for every contact of the segment as it is now; returns the send and its outbox batch.

    Sending again with the same campaign label queues nothing twice (the outbox rows are keyed by it and the
    contact), so a double click or a retried request is harmless.
    """
    if segment.archived_at is not None:
        raise DomainError(_("This segment is archived: choose another one."), field="segment")
    contact_ids = segment_contact_ids(segment=segment)
    if not contact_ids:
        raise DomainError(
            _("“%(segment)s” has no contacts to send to right now.") % {"segment": segment.name}, field="segment"
        )
    if len(contact_ids) > MAX_SEGMENT_RECIPIENTS:
        raise DomainError(_("Send to at most 1,000,000 contacts at a time."), field="segment")
    campaign = campaign_id or f"segment-{segment.pk}-{uuid.uuid4().hex[:10]}"
    send, _created = SegmentSend.objects.get_or_create(
        campaign_id=campaign,
        defaults={
            "segment": segment,
            "segment_name": segment.name,
            "template_version": template_version,
            "recipients": len(contact_ids),
            "created_by": created_by if getattr(created_by, "pk", None) else None,
        },
    )
    # The send is recorded first: the progress page knows the total while the chunks are queued.
    batch = messages_send_in_chunks(
        template_version=template_version,
        contact_ids=contact_ids,
        campaign_id=campaign,
        created_by=created_by,
        idempotency_prefix=f"segment-send:{campaign}",
        origin=OutboxOrigin.SEGMENT,
    )
    return send, batch


def segment_sends_of(segment_id: int) -> list[SegmentUsage]:
    """The segment page's "where it is used": the one-off mails sent to it, newest first."""
    sends = SegmentSend.objects.filter(segment_id=segment_id).select_related("template_version__template")[:20]
    return [
        SegmentUsage(
            kind=_("Mail sent once"),
            name=_("%(template)s — %(when)s, %(count)s recipients")
            % {
                "template": send.template_version.template.name,
                "when": formats.date_format(timezone.localtime(send.created_at), "SHORT_DATETIME_FORMAT"),
                "count": formats.number_format(send.recipients, force_grouping=True),
            },
            url=reverse("mail:send_progress") + f"?campaign={send.campaign_id}",
        )
        for send in sends
    ]
