"""The suppression list: addresses Tokui never mails again, and the bounces and complaints that put them there."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from tokui.messaging.enums import SuppressionReason
from tokui.messaging.models import OutboxMessage, Suppression
from tokui.tracking.enums import EventSource, EventType
from tokui.tracking.services import event_record


def suppression_add(*, email: str, reason: SuppressionReason, source: str, detail: str = "") -> bool:
    """Put ``email`` on the suppression list; ``False`` when it was there already (the first reason stays)."""
    address = email.strip().lower()
    if not address:
        return False
    try:
        with transaction.atomic():
            Suppression.objects.create(email=address, reason=reason, source=source[:100], detail=detail[:2000])
    except IntegrityError:
        return False
    return True


def suppression_remove(*, email: str) -> int:
    return int(Suppression.objects.filter(email=email.strip().lower()).delete()[0])


def _message_properties(message: OutboxMessage | None) -> dict[str, Any]:
    if message is None:
        return {"message_id": None, "template_id": None, "campaign_id": ""}
    return {
        "message_id": message.pk,
        "template_id": message.template_version.template_id,
        "campaign_id": message.campaign_id,
    }


def mail_bounce_record(
    *, email: str, reason: SuppressionReason, source: str, detail: str = "", outbox_id: int | None = None
) -> bool:
    """A bounce or complaint (ESP webhook or SMTP reply): the address is suppressed and the fact recorded."""
    added = suppression_add(email=email, reason=reason, source=source, detail=detail)
    message = (
        OutboxMessage.objects.select_related("template_version", "contact").filter(pk=outbox_id).first()
        if outbox_id
        else OutboxMessage.objects.select_related("template_version", "contact")
        .filter(to_email__iexact=email.strip())
        .order_by("-created_at")
        .first()
    )
    contact = message.contact if message is not None else None
    if contact is not None:
        event_record(
            type=EventType.MAIL_COMPLAINED if reason == SuppressionReason.COMPLAINT else EventType.MAIL_BOUNCED,
            occurred_at=timezone.now(),
            contact_id=contact.pk,
            company_id=contact.company_id,
            properties={**_message_properties(message), "reason": reason.value, "detail": detail[:500]},
            source=EventSource.MAIL,
        )
    return added
