"""Carts as shops report them, idle carts marked abandoned, and batches of carts from outside systems."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tokui.commerce.enums import CartState
from tokui.commerce.models import Cart, CartLine
from tokui.commerce.services.source_refs import SourceRefs
from tokui.commerce.types import CartIn, CartLineIn, CartRecordIn
from tokui.core.batches import RecordOutcome, records_apply
from tokui.core.enums import UpsertOutcome
from tokui.core.errors import DomainError
from tokui.core.money import quantize
from tokui.core.upserts import UpsertResult, upsert_by_key
from tokui.customers.selectors import company_id_of_contact
from tokui.tracking.enums import EventType
from tokui.tracking.services import events_record_batch
from tokui.tracking.types import EventIn


@transaction.atomic
def cart_upsert(*, source: str, external_id: str, data: CartIn) -> UpsertResult[Cart]:
    """Store the cart as the shop reports it. A cart that was abandoned and changes again is active again."""
    if data.contact_id is None and data.company_id is None and not data.anonymous_id:
        raise DomainError(_("A cart needs a contact, a company or an anonymous id."), field="contact_id")
    company_id = data.company_id
    if company_id is None and data.contact_id is not None:
        company_id = company_id_of_contact(contact_id=data.contact_id)
    existing = Cart.objects.filter(source=source, external_id=external_id).first()
    state = CartState.ACTIVE if data.lines else CartState.EMPTIED
    if existing and existing.state == CartState.CONVERTED and existing.last_activity_at >= data.last_activity_at:
        state = CartState.CONVERTED
    values: dict[str, Any] = {
        "contact_id": data.contact_id,
        "company_id": company_id,
        "anonymous_id": data.anonymous_id,
        "currency": data.currency,
        "last_activity_at": data.last_activity_at,
        "recovery_url": data.recovery_url,
        "state": state,
    }
    if state != CartState.ABANDONED:
        values["abandoned_at"] = None
    result = upsert_by_key(Cart, key={"source": source, "external_id": external_id}, values=values)
    cart = result.instance
    wanted = {(line.product_id, line.quantity, quantize(line.unit_price, data.currency)) for line in data.lines}
    stored = set(cart.lines.values_list("product_id", "quantity", "unit_price"))
    if wanted != stored:
        cart.lines.all().delete()
        CartLine.objects.bulk_create(
            CartLine(cart=cart, product_id=pid, quantity=qty, unit_price=price, added_at=data.last_activity_at)
            for pid, qty, price in wanted
        )
        if result.outcome == UpsertOutcome.UNCHANGED:
            return UpsertResult(cart, UpsertOutcome.UPDATED)
    return result


def carts_mark_abandoned(*, idle_for: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Mark active carts untouched for ``idle_for`` as abandoned, each a fact on the timeline. Returns carts marked."""
    at = now or timezone.now()
    with transaction.atomic():
        due = list(
            Cart.objects.select_for_update(skip_locked=True)
            .filter(state=CartState.ACTIVE, last_activity_at__lte=at - idle_for)
            .values("id", "contact_id", "company_id", "anonymous_id", "last_activity_at")[:5000]
        )
        if not due:
            return 0
        Cart.objects.filter(pk__in=[row["id"] for row in due]).update(state=CartState.ABANDONED, abandoned_at=at)
        events_record_batch(
            events=[
                EventIn(
                    type=EventType.CART_ABANDONED,
                    occurred_at=at,
                    contact_id=row["contact_id"],
                    company_id=row["company_id"],
                    anonymous_id=row["anonymous_id"],
                    properties={"cart_id": row["id"], "idle_since": row["last_activity_at"].isoformat()},
                    idempotency_key=f"cart:{row['id']}:abandoned:{row['last_activity_at'].isoformat()}",
                )
                for row in due
            ]
        )
    return len(due)


def _cart_in(record: CartRecordIn, refs: SourceRefs) -> CartIn:
    company_id, contact_id = refs.customer(
        company_key=record.company_external_id, contact_key=record.contact_external_id
    )
    currency = record.currency.upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise DomainError(_("The currency must be a 3-letter code such as JPY."), field="currency")
    if record.recovery_url:
        try:
            URLValidator()(record.recovery_url)
        except ValidationError:
            raise DomainError(
                _("The cart link must be a full address starting with https://."), field="recovery_url"
            ) from None
    lines: dict[int, CartLineIn] = {}
    for index, line in enumerate(record.lines):
        field = f"lines[{index}]."
        product = refs.product(line, field=field, required=True)
        assert product is not None
        if line.quantity < 1:
            raise DomainError(_("The quantity must be at least 1."), field=f"{field}quantity")
        if line.unit_price is not None and line.unit_price < 0:
            raise DomainError(_("The price cannot be negative."), field=f"{field}unit_price")
        if product.id in lines:
            raise DomainError(_("This product is already on another line of the cart."), field=f"{field}sku")
        price = line.unit_price if line.unit_price is not None else product.price
        lines[product.id] = CartLineIn(product_id=product.id, quantity=line.quantity, unit_price=price)
    return CartIn(
        last_activity_at=record.last_activity_at,
        lines=list(lines.values()),
        contact_id=contact_id,
        company_id=company_id,
        anonymous_id=record.anonymous_id,
        currency=currency,
        recovery_url=record.recovery_url,
    )


def carts_upsert_batch(*, source: str, records: Sequence[CartRecordIn]) -> list[RecordOutcome]:
    """Store the carts of ``source`` as it reports them, each in its own savepoint; references resolved once."""
    refs = SourceRefs.load(
        source=source,
        company_keys=[r.company_external_id for r in records],
        contact_keys=[r.contact_external_id for r in records],
        lines=[line for record in records for line in record.lines],
    )

    def apply(record: CartRecordIn) -> RecordOutcome:
        data = _cart_in(record, refs)
        return RecordOutcome.stored(
            record.external_id, cart_upsert(source=source, external_id=record.external_id, data=data)
        )

    return records_apply(records, key=lambda record: record.external_id, apply=apply)
