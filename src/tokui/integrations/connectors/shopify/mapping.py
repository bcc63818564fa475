"""Shopify payloads → Tokui records, through the owning apps' services. Every function is idempotent.

Shopify is a B2C shop system: a Shopify customer becomes a contact without a company. A product becomes one Tokui
product per variant (Tokui sells SKUs). Japanese shops usually publish prices with tax included
(``taxes_included``); then the tax is not added again, so the stored total equals Shopify's ``total_price``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils.text import slugify
from django.utils.translation import gettext as _

from tokui.catalog.selectors import product_refs_by_sku
from tokui.catalog.services import category_upsert, product_upsert
from tokui.catalog.types import CategoryIn, ProductIn
from tokui.commerce.services import cart_upsert, order_upsert
from tokui.commerce.types import CartIn, CartLineIn, OrderIn, OrderLineIn
from tokui.core.batches import keep_stored
from tokui.core.enums import UpsertOutcome
from tokui.core.errors import DomainError
from tokui.customers.enums import Channel, ConsentStatus
from tokui.customers.models import Contact
from tokui.customers.selectors import consent_last_from, contacts_by_external_id
from tokui.customers.services import consent_record, contact_upsert
from tokui.customers.types import ContactIn

# Contact fields Shopify does not send: a sync never clears what Tokui keeps there.
TOKUI_CONTACT_FIELDS = frozenset(
    {
        "company_id",
        "name_kana",
        "department",
        "title",
        "birthday",
        "prefecture",
        "line_user_id",
        "is_primary",
        "custom_fields",
    }
)
CONSENT_SOURCE = "Shopify"


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _money(value: Any) -> Decimal:
    return Decimal(str(value or "0"))


def customer_apply(*, source: str, payload: dict[str, Any]) -> UpsertOutcome:
    """Upsert the contact of a Shopify customer and record a change of its mail consent."""
    address = payload.get("default_address") or {}
    name = " ".join(part for part in (payload.get("last_name"), payload.get("first_name")) if part) or str(
        payload.get("email") or payload["id"]
    )
    external_id = str(payload["id"])
    stored = contacts_by_external_id(source=source, external_ids=[external_id]).get(external_id)
    data = ContactIn(
        name=name[:100],
        email=str(payload.get("email") or ""),
        phone=str(payload.get("phone") or address.get("phone") or "")[:32],
    )
    result = contact_upsert(
        source=source, external_id=external_id, data=keep_stored(data, stored, TOKUI_CONTACT_FIELDS)
    )
    _apply_consent(result.instance, payload)
    return result.outcome


def _apply_consent(contact: Contact, payload: dict[str, Any]) -> None:
    consent = payload.get("email_marketing_consent")
    if isinstance(consent, dict) and consent.get("state"):
        status = {"subscribed": ConsentStatus.GRANTED, "unsubscribed": ConsentStatus.WITHDRAWN}.get(consent["state"])
        at = _time(consent.get("consent_updated_at")) or _time(payload.get("updated_at"))
    elif "accepts_marketing" in payload:  # older API versions
        status = ConsentStatus.GRANTED if payload["accepts_marketing"] else ConsentStatus.WITHDRAWN
        at = _time(payload.get("accepts_marketing_updated_at")) or _time(payload.get("updated_at"))
    else:
        return
    # Compared with what Shopify said last, not with the current state: a contact who unsubscribed in Tokui stays
    # out until the customer changes the flag in Shopify. A re-sync adds no history.
    if status is None or consent_last_from(contact=contact, channel=Channel.EMAIL, source=CONSENT_SOURCE) == status:
        return
    consent_record(contact=contact, channel=Channel.EMAIL, status=status, source=CONSENT_SOURCE, recorded_at=at)


def _contact_id(source: str, customer: dict[str, Any] | None) -> int | None:
    if not customer or not customer.get("id"):
        return None
    external_id = str(customer["id"])
    contact = contacts_by_external_id(source=source, external_ids=[external_id]).get(external_id)
    if contact is None:
        customer_apply(source=source, payload=customer)
        contact = contacts_by_external_id(source=source, external_ids=[external_id]).get(external_id)
    return contact.pk if contact else None


def _line_sku(line: dict[str, Any]) -> str:
    return str(line.get("sku") or f"shopify-variant-{line.get('variant_id') or line.get('id')}")


def order_apply(*, source: str, payload: dict[str, Any]) -> UpsertOutcome:
    """Upsert a Shopify order (web channel) with its lines, status and totals."""
    contact_id = _contact_id(source, payload.get("customer"))
    if contact_id is None:
        raise DomainError(_("The order has no customer (a guest checkout without an email)."), field="customer")
    taxes_included = bool(payload.get("taxes_included"))
    if payload.get("cancelled_at"):
        status = "cancelled"
    elif payload.get("financial_status") == "refunded":
        status = "refunded"
    elif payload.get("fulfillment_status") == "fulfilled":
        status = "shipped"
    else:
        status = "confirmed"
    data = OrderIn(
        contact_id=contact_id,
        number=str(payload.get("name") or payload.get("order_number") or payload["id"]),
        channel="web",
        status=status,
        currency=str(payload.get("currency") or "JPY"),
        placed_at=_time(payload.get("processed_at") or payload.get("created_at")) or dt.datetime.now(dt.UTC),
        lines=[
            OrderLineIn(
                sku=_line_sku(line),
                product_name=str(line.get("title") or line.get("name") or "")[:200],
                quantity=int(line.get("quantity") or 0),
                unit_price=_money(line.get("price")),
            )
            for line in payload.get("line_items", [])
        ],
        discount_total=_money(payload.get("total_discounts")),
        shipping_fee=sum((_money(s.get("price")) for s in payload.get("shipping_lines", [])), Decimal(0)),
        tax_total=Decimal(0) if taxes_included else _money(payload.get("total_tax")),
    )
    return order_upsert(source=source, external_id=str(payload["id"]), data=data).outcome


def product_apply(*, source: str, payload: dict[str, Any], shop_domain: str) -> UpsertOutcome:
    """Upsert one Tokui product per variant, under a category named after the Shopify product type."""
    category_id = None
    if product_type := str(payload.get("product_type") or "").strip():
        category_id = category_upsert(
            source=source,
            external_id=f"type:{product_type}",
            data=CategoryIn(name=product_type, slug=f"{source}-{slugify(product_type, allow_unicode=True)}"[:100]),
        ).instance.pk
    status = {"active": "active", "draft": "hidden", "archived": "discontinued"}.get(
        str(payload.get("status")), "active"
    )
    outcomes = []
    for variant in payload.get("variants", []):
        title = str(payload.get("title") or "")
        if variant.get("title") and variant["title"] != "Default Title":
            title = f"{title} / {variant['title']}"
        outcomes.append(
            product_upsert(
                source=source,
                external_id=f"variant:{variant['id']}",
                data=ProductIn(
                    sku=str(variant.get("sku") or f"shopify-variant-{variant['id']}"),
                    name=title[:200],
                    price=_money(variant.get("price")),
                    category_id=category_id,
                    url=f"https://{shop_domain}/products/{payload.get('handle', '')}",
                    stock=int(variant.get("inventory_quantity") or 0),
                    launched_at=_time(payload.get("published_at")),
                    status=status,
                ),
            ).outcome
        )
    return _combined(outcomes)


def checkout_apply(*, source: str, payload: dict[str, Any]) -> UpsertOutcome | None:
    """Keep the cart of an (abandoned) checkout current. Completed checkouts are left to the order."""
    if payload.get("completed_at"):
        return None
    contact_id = _contact_id(source, payload.get("customer"))
    skus = {_line_sku(line): line for line in payload.get("line_items", [])}
    product_ids = {sku: ref.id for sku, ref in product_refs_by_sku(skus=list(skus)).items()}
    data = CartIn(
        contact_id=contact_id,
        anonymous_id="" if contact_id else f"shopify-{payload.get('token', payload['id'])}",
        currency=str(payload.get("currency") or payload.get("presentment_currency") or "JPY"),
        last_activity_at=_time(payload.get("updated_at") or payload.get("created_at")) or dt.datetime.now(dt.UTC),
        recovery_url=str(payload.get("abandoned_checkout_url") or "")[:500],
        lines=[
            CartLineIn(
                product_id=product_ids[sku],
                quantity=int(line.get("quantity") or 1),
                unit_price=_money(line.get("price")),
            )
            for sku, line in skus.items()
            if sku in product_ids
        ],
    )
    return cart_upsert(source=source, external_id=str(payload.get("token") or payload["id"]), data=data).outcome


def _combined(outcomes: list[UpsertOutcome]) -> UpsertOutcome:
    if UpsertOutcome.CREATED in outcomes:
        return UpsertOutcome.CREATED
    if UpsertOutcome.UPDATED in outcomes:
        return UpsertOutcome.UPDATED
    return UpsertOutcome.UNCHANGED
