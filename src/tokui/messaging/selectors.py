"""Reads of the messaging app: templates, the outbox, and the send-time checks (read in batches)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import Count, F, Min, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from tokui.analytics.selectors import product_partners
from tokui.catalog.models import Product
from tokui.commerce.selectors import current_carts_of_contacts, recent_order_products_of_contacts
from tokui.core.lookups import ids_q, texts_q
from tokui.customers.enums import Channel, ConsentStatus, PointLotState
from tokui.customers.models import Consent, Contact, PointLot
from tokui.messaging.enums import ATTENTION_STATUSES, AttemptOutcome, MailKind
from tokui.messaging.models import (
    DeliveryAttempt,
    MailTemplate,
    MailTemplateVersion,
    OutboxMessage,
    SenderIdentity,
    Suppression,
    TopicOptOut,
)
from tokui.messaging.types import MailRecipient
from tokui.tracking.enums import EventType
from tokui.tracking.selectors import events_matching

VIEWED_WINDOW = dt.timedelta(days=30)


# --- Templates -------------------------------------------------------------------------------------------------


def mail_templates() -> QuerySet[MailTemplate]:
    return MailTemplate.objects.filter(archived_at__isnull=True).select_related("current_version", "sender")


def mail_template_get(*, template_id: int) -> MailTemplate | None:
    return MailTemplate.objects.select_related("current_version", "sender").filter(pk=template_id).first()


def template_versions(*, template_id: int) -> QuerySet[MailTemplateVersion]:
    return MailTemplateVersion.objects.filter(template_id=template_id).select_related("author").order_by("-number")


def template_version_get(*, version_id: int) -> MailTemplateVersion | None:
    return MailTemplateVersion.objects.select_related("template", "template__sender").filter(pk=version_id).first()


def sender_identities() -> QuerySet[SenderIdentity]:
    return SenderIdentity.objects.all()


def sender_default() -> SenderIdentity | None:
    return SenderIdentity.objects.filter(is_default=True).first() or SenderIdentity.objects.first()


# --- Context parts -------------------------------------------------------------------------------------------------


def points_expiring_of_contacts(
    *, contact_ids: Iterable[int], within: dt.timedelta
) -> dict[int, tuple[int, dt.date | None]]:
    """Points of each of these contacts that expire within ``within`` from now, and the first day they expire
    ((0, None) for none), in one query for all."""
    now = timezone.now()
    ids = list(contact_ids)
    rows = (
        PointLot.objects.filter(
            ids_q("contact_id", ids), state=PointLotState.ACTIVE, expires_at__gt=now, expires_at__lte=now + within
        )
        .values("contact_id")
        .order_by()
        .annotate(points=Sum("remaining_points"), first=Min("expires_at"))
        .values_list("contact_id", "points", "first")
    )
    found: dict[int, tuple[int, dt.date | None]] = dict.fromkeys(ids, (0, None))
    for contact_id, points, first in rows:
        found[int(contact_id)] = (int(points or 0), timezone.localtime(first).date() if first else None)
    return found


def recommended_products(*, contact_id: int, limit: int = 4) -> list[Product]:
    """Products for one contact: bought together with what they buy or keep in the cart (basket analysis), then
    products they viewed lately and did not buy. Never a product they already ordered or hold in the cart."""
    return recommended_products_of_contacts(contact_ids=[contact_id], limit=limit).get(contact_id, [])


def recommended_products_of_contacts(*, contact_ids: Iterable[int], limit: int = 4) -> dict[int, list[Product]]:
    """``recommended_products`` of each of these contacts, in a fixed number of queries for all (a mail batch
    reads them at once: one at a time they cost a recommendation mail 20-25 ms a recipient)."""
    ids = list(dict.fromkeys(contact_ids))
    carts = current_carts_of_contacts(contact_ids=ids)
    ordered = recent_order_products_of_contacts(contact_ids=ids, orders=5)
    seeds = {pk: [item.product_id for item in carts[pk].items] if pk in carts else [] for pk in ids}
    for pk in ids:
        seeds[pk] += ordered.get(pk, [])
    # The nightly bought-together lists (one index read for every seed of the batch), not a count over the orders.
    firsts = {pk: list(dict.fromkeys(seeds[pk][:5])) for pk in ids}
    partners = product_partners(
        product_ids=sorted({seed for chosen in firsts.values() for seed in chosen}), limit=limit
    )
    viewed: dict[int, list[Any]] = {}
    events = (
        events_matching(type=EventType.PRODUCT_VIEWED, since=timezone.now() - VIEWED_WINDOW)
        .filter(ids_q("contact_id", ids))
        .annotate(
            place=Window(
                RowNumber(), partition_by=[F("contact_id")], order_by=[F("occurred_at").desc(), F("id").desc()]
            )
        )
        .filter(place__lte=50)
        .order_by("contact_id", "place")
        .values_list("contact_id", "properties")
    )
    for contact_id, properties in events:
        viewed.setdefault(int(contact_id), []).append(properties)
    picked: dict[int, list[int]] = {}
    for pk in ids:
        owned, chosen = set(seeds[pk]), []
        for seed in firsts[pk]:
            for together in partners.get(seed, []):
                if together.product_id not in owned and together.product_id not in chosen:
                    chosen.append(together.product_id)
        for properties in viewed.get(pk, []):
            product_id = properties.get("product_id") if isinstance(properties, dict) else None
            if isinstance(product_id, int) and product_id not in owned and product_id not in chosen:
                chosen.append(product_id)
        picked[pk] = chosen[: limit * 3]
    wanted = {product_id for chosen in picked.values() for product_id in chosen}
    products = Product.objects.filter(ids_q("pk", wanted), status="active").in_bulk()
    return {pk: [products[p] for p in picked[pk] if p in products][:limit] for pk in ids}


# --- Send-time checks, in batches -----------------------------------------------------------------------------------


def contacts_for_mail(*, contact_ids: Iterable[int]) -> dict[int, MailRecipient]:
    """The contacts a mail can be personalised for, as plain values."""
    rows = Contact.objects.filter(pk__in=list(contact_ids)).values_list(
        "pk", "name", "email", "company_id", "company__name"
    )
    return {
        pk: MailRecipient(id=pk, name=name, email=email, company_id=company_id, company_name=company_name or "")
        for pk, name, email, company_id, company_name in rows
    }


def contact_addresses(*, contact_ids: Iterable[int]) -> dict[int, str]:
    """Contact id → email address (possibly empty) of the contacts that exist."""
    return dict(Contact.objects.filter(ids_q("pk", contact_ids)).values_list("pk", "email"))


def suppressed_addresses(*, emails: Iterable[str]) -> set[str]:
    wanted = {email.lower() for email in emails if email}
    return set(Suppression.objects.filter(email__in=wanted).values_list("email", flat=True))


def suppressed_reasons(*, emails: Iterable[str]) -> dict[str, str]:
    """Lower-cased address → why it is suppressed, for the addresses of a batch that are."""
    # One parameter for the batch: a thousand placeholders cost ≈ 2 µs a mail to bind.
    wanted = sorted({email.lower() for email in emails if email})
    return dict(Suppression.objects.filter(texts_q("email", wanted)).values_list("email", "reason"))


def address_suppressed(*, email: str) -> bool:
    return Suppression.objects.filter(email=email.lower()).exists()


def contacts_with_mail_consent(*, contact_ids: Iterable[int]) -> set[int]:
    """Contacts who opted in to marketing mail (and did not withdraw since)."""
    consents = Consent.objects.filter(ids_q("contact_id", contact_ids), channel=Channel.EMAIL)
    return set(consents.filter(status=ConsentStatus.GRANTED).values_list("contact_id", flat=True))


def contacts_opted_out_of(*, contact_ids: Iterable[int], topic: str) -> set[int]:
    opt_outs = TopicOptOut.objects.filter(ids_q("contact_id", contact_ids), topic=topic)
    return set(opt_outs.values_list("contact_id", flat=True))


def topic_opt_outs(*, contact_id: int) -> set[str]:
    return set(TopicOptOut.objects.filter(contact_id=contact_id).values_list("topic", flat=True))


def marketing_sent_counts(*, contact_ids: Iterable[int], since: dt.datetime) -> dict[int, int]:
    """Marketing mails accepted for each contact since ``since``, counted in the delivery log (ADR 39)."""
    rows = (
        DeliveryAttempt.objects.filter(
            ids_q("contact_id", contact_ids),
            attempted_at__gte=since,
            outcome=AttemptOutcome.SENT,
            kind=MailKind.MARKETING,
        )
        .values("contact_id")
        .annotate(n=Count("id"))
    )
    return {row["contact_id"]: row["n"] for row in rows}


def domain_sent_counts(*, domains: Iterable[str], since: dt.datetime) -> dict[str, int]:
    """Mails accepted for each receiving domain since ``since``, counted in the delivery log (ADR 39)."""
    rows = (
        DeliveryAttempt.objects.filter(
            to_domain__in=list(domains), attempted_at__gte=since, outcome=AttemptOutcome.SENT
        )
        .values("to_domain")
        .annotate(n=Count("id"))
    )
    return {row["to_domain"]: row["n"] for row in rows}


# --- The outbox -------------------------------------------------------------------------------------------------


def outbox_messages(*, status: str = "", template_id: int | None = None) -> QuerySet[OutboxMessage]:
    """The Outbox page's rows, newest first: by id, which the primary key (or the attention index) reads in order
    and stops after a page, instead of sorting the whole outbox by its queue time."""
    messages = OutboxMessage.objects.select_related("template_version__template", "contact")
    if status:
        messages = messages.filter(status=status)
        if status in ATTENTION_STATUSES:
            messages = messages.filter(needs_attention=True)
    if template_id is not None:
        messages = messages.filter(template_version__template_id=template_id)
    return messages.order_by("-id")


def outbox_message_get(*, message_id: int) -> OutboxMessage | None:
    return outbox_messages().filter(pk=message_id).first()


def delivery_attempts_of(*, message_ids: Sequence[int]) -> dict[int, list[DeliveryAttempt]]:
    attempts: dict[int, list[DeliveryAttempt]] = {message_id: [] for message_id in message_ids}
    for attempt in DeliveryAttempt.objects.filter(message_id__in=message_ids).order_by("attempted_at", "id"):
        attempts[attempt.message_id].append(attempt)
    return attempts


def outbox_status_counts(*, message_ids: Sequence[int] | None = None, campaign_id: str = "") -> dict[str, int]:
    messages = OutboxMessage.objects.all()
    if message_ids is not None:
        messages = messages.filter(pk__in=message_ids)
    if campaign_id:
        messages = messages.filter(campaign_id=campaign_id)
    return {row["status"]: row["n"] for row in messages.values("status").annotate(n=Count("id"))}


def outbox_facts(*, message_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Opens (by people and by machines) and clicks per message, counted from the timeline."""
    counts = {message_id: {"opens": 0, "machine_opens": 0, "clicks": 0} for message_id in message_ids}
    if not message_ids:
        return counts
    events = events_matching(type=None).filter(
        Q(type=EventType.MAIL_OPENED) | Q(type=EventType.MAIL_CLICKED), properties__message_id__in=list(message_ids)
    )
    for event_type, properties in events.values_list("type", "properties"):
        bucket = counts.get(properties.get("message_id"))
        if bucket is None:
            continue
        if event_type == EventType.MAIL_CLICKED:
            bucket["clicks"] += 1
        elif properties.get("machine"):
            bucket["machine_opens"] += 1
        else:
            bucket["opens"] += 1
    return counts


def outbox_messages_facts_of(*, message_ids: Sequence[int]) -> dict[int, tuple[int | None, int | None, str, str]]:
    """Per message: contact, template, campaign and sent time (ISO) — what a hit's fact needs."""
    rows = OutboxMessage.objects.filter(pk__in=list(message_ids)).values_list(
        "pk", "contact_id", "template_version__template_id", "campaign_id", "sent_at"
    )
    return {
        pk: (contact_id, template_id, campaign_id, sent_at.isoformat() if sent_at else "")
        for pk, contact_id, template_id, campaign_id, sent_at in rows
    }
