"""Writes of the messaging app (so far: the opens and clicks of mail links)."""

from __future__ import annotations

from collections.abc import Sequence

from tokui.customers.selectors import companies_of_contacts
from tokui.messaging.enums import MailLinkKind
from tokui.messaging.types import MailHit
from tokui.tracking.enums import EventSource, EventType
from tokui.tracking.services import events_append_rows
from tokui.tracking.types import EventIn

_EVENT_TYPES = {MailLinkKind.CLICK: EventType.MAIL_CLICKED.value, MailLinkKind.OPEN: EventType.MAIL_OPENED.value}


def mail_hits_record(*, hits: Sequence[MailHit]) -> int:
    """Append opens and clicks to the contacts' timelines, in one statement. Returns the facts written.

    Every hit is a fact (a mail opened twice is two facts); reports count unique opens per message and contact.
    Only kinds some app consumes (automation reacting to a click, later) wait in the outbox for dispatch.
    """
    # Facts carry the contact's company of today; a contact deleted since the mail was sent is not counted.
    companies = companies_of_contacts(contact_ids=[hit.link.contact_id for hit in hits])
    events = [
        EventIn(
            type=_EVENT_TYPES[hit.link.kind],
            occurred_at=hit.occurred_at,
            contact_id=hit.link.contact_id,
            company_id=companies[hit.link.contact_id],
            properties={"message_id": hit.link.message_id, **({"url": hit.link.url} if hit.link.url else {})},
            source=EventSource.MAIL.value,
        )
        for hit in hits
        if hit.link.contact_id in companies
    ]
    return events_append_rows(events=events)
