"""Carts kept by the tracking tag: a browser's cart worked out again from its cart facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q

from tokui.catalog.models import Product
from tokui.commerce.enums import CartState
from tokui.commerce.models import Cart
from tokui.commerce.services.carts import cart_upsert
from tokui.commerce.types import CartIn, CartLineIn
from tokui.tracking.enums import EventSource, EventType
from tokui.tracking.selectors import EventRow, contact_of_anonymous_id, events_anonymous_ids, events_of_anonymous_id

TAG_SOURCE = EventSource.TAG.value
TAG_CART_FACTS = (
    EventType.CART_ITEM_ADDED,
    EventType.CART_ITEM_REMOVED,
    EventType.CART_UPDATED,
    EventType.ORDER_PLACED,
)
# Facts after which a browser's cart is worked out again: its cart changes, and a login that names its owner.
TAG_CART_TRIGGERS = (*TAG_CART_FACTS, EventType.LOGGED_IN, EventType.SIGNED_UP)


@dataclass(slots=True)
class _TagLine:
    quantity: int
    price: Decimal | None


@dataclass(slots=True)
class _TagCart:
    """One cart of a browser: from its first cart fact up to the order that completes it."""

    number: int
    lines: dict[tuple[str, str], _TagLine]
    last_activity_at: dt.datetime | None = None
    converted: bool = False
    currency: str = "JPY"


def _tag_product_ref(properties: dict[str, Any]) -> tuple[str, str] | None:
    if properties.get("sku") not in (None, ""):
        return ("sku", str(properties["sku"]))
    if properties.get("product_id") not in (None, ""):
        return ("id", str(properties["product_id"]))
    return None


def _tag_price(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        price = Decimal(str(value))
    except ArithmeticError:
        return None
    return price if price.is_finite() and price >= 0 else None


def _tag_quantity(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _tag_carts_fold(history: Sequence[EventRow]) -> list[_TagCart]:
    """Replay a browser's cart facts in time order into its carts; an order completes a cart and opens the next."""
    carts = [_TagCart(number=0, lines={})]
    for event in history:
        cart, props = carts[-1], event.properties
        if event.type == EventType.ORDER_PLACED:
            cart.last_activity_at, cart.converted = event.occurred_at, True
            carts.append(_TagCart(number=cart.number + 1, lines={}))
            continue
        cart.last_activity_at = event.occurred_at
        currency = props.get("currency")
        if isinstance(currency, str) and len(currency) == 3 and currency.isalpha():
            cart.currency = currency.upper()
        ref = _tag_product_ref(props)
        if event.type == EventType.CART_UPDATED and isinstance(props.get("items"), list):
            cart.lines = {}
            for item in props["items"]:
                item_ref = _tag_product_ref(item) if isinstance(item, dict) else None
                if item_ref is not None and (quantity := _tag_quantity(item.get("quantity"), 1)) > 0:
                    cart.lines[item_ref] = _TagLine(quantity, _tag_price(item.get("price")))
        elif ref is None:
            continue
        elif event.type == EventType.CART_ITEM_ADDED:
            line = cart.lines.setdefault(ref, _TagLine(0, None))
            line.quantity += _tag_quantity(props.get("quantity"), 1)
            if (price := _tag_price(props.get("price"))) is not None:
                line.price = price
        elif event.type == EventType.CART_ITEM_REMOVED:
            line_or_none = cart.lines.get(ref)
            quantity = _tag_quantity(props.get("quantity"), 0)
            if line_or_none is not None and quantity and line_or_none.quantity > quantity:
                line_or_none.quantity -= quantity
            else:
                cart.lines.pop(ref, None)
        elif event.type == EventType.CART_UPDATED:  # one line set to a quantity
            quantity = _tag_quantity(props.get("quantity"), 0)
            if quantity:
                price = _tag_price(props.get("price"))
                cart.lines[ref] = _TagLine(quantity, price if price is not None else _line_price(cart, ref))
            else:
                cart.lines.pop(ref, None)
    return carts


def _line_price(cart: _TagCart, ref: tuple[str, str]) -> Decimal | None:
    line = cart.lines.get(ref)
    return line.price if line is not None else None


def cart_apply_tag_events(*, event_ids: Sequence[int]) -> int:
    """Keep ``commerce.Cart`` current from the tag: the cart facts of each browser in ``event_ids`` are replayed.

    The consumer of the tag's cart facts (and of logins, which name a cart's owner). Working the cart out again
    from the browser's facts makes it idempotent and independent of the order facts are dispatched in. A completed
    order (``order_placed`` from the tag) marks the cart converted; the order itself comes from the shop's system.
    Returns the carts written.
    """
    written = 0
    for anonymous_id in events_anonymous_ids(event_ids=event_ids, source=TAG_SOURCE):
        written += cart_refresh_from_tag(anonymous_id=anonymous_id)
    return written


def cart_refresh_from_tag(*, anonymous_id: str) -> int:
    """Work out a browser's current cart (and the one an order just completed) from its tag facts."""
    history = events_of_anonymous_id(anonymous_id=anonymous_id, source=TAG_SOURCE, types=TAG_CART_FACTS)
    if not history:
        return 0
    owner = contact_of_anonymous_id(anonymous_id=anonymous_id)
    carts = [cart for cart in _tag_carts_fold(history)[-2:] if cart.last_activity_at is not None]
    refs = {ref for cart in carts for ref in cart.lines}
    products: dict[tuple[str, str], tuple[int, Decimal]] = {}
    if refs:
        skus = [value for kind, value in refs if kind == "sku"]
        ids = [value for kind, value in refs if kind == "id"]
        for pk, sku, external_id, price in Product.objects.filter(Q(sku__in=skus) | Q(external_id__in=ids)).values_list(
            "pk", "sku", "external_id", "price"
        ):
            products[("sku", sku)] = (pk, price)
            if external_id:
                products.setdefault(("id", external_id), (pk, price))
    written = 0
    for cart in carts:
        written += _tag_cart_store(anonymous_id=anonymous_id, cart=cart, owner=owner, products=products)
    return written


def _tag_cart_store(
    *,
    anonymous_id: str,
    cart: _TagCart,
    owner: tuple[int, int | None] | None,
    products: dict[tuple[str, str], tuple[int, Decimal]],
) -> int:
    assert cart.last_activity_at is not None
    lines: dict[int, CartLineIn] = {}
    for ref, line in cart.lines.items():
        if ref not in products:  # a product Tokui does not know stays on the timeline, not in the cart
            continue
        product_id, list_price = products[ref]
        quantity, price = line.quantity, line.price
        if product_id in lines:  # the same product named once by sku and once by the shop's product id
            quantity += lines[product_id].quantity
            price = price if price is not None else lines[product_id].unit_price
        lines[product_id] = CartLineIn(
            product_id=product_id, quantity=quantity, unit_price=price if price is not None else list_price
        )
    external_id = f"{anonymous_id}#{cart.number}"
    existing = Cart.objects.filter(source=TAG_SOURCE, external_id=external_id).first()
    if existing is None and not lines:
        return 0
    contact_id, company_id = owner if owner is not None else (None, None)
    if existing is not None and existing.last_activity_at >= cart.last_activity_at:
        # Nothing new in the cart itself (a login, or the same facts again): keep its state, name its owner.
        if owner is not None and existing.contact_id != contact_id:
            Cart.objects.filter(pk=existing.pk).update(contact_id=contact_id, company_id=company_id)
        stored = existing
    else:
        stored = cart_upsert(
            source=TAG_SOURCE,
            external_id=external_id,
            data=CartIn(
                last_activity_at=cart.last_activity_at,
                lines=list(lines.values()),
                contact_id=contact_id,
                company_id=company_id,
                anonymous_id=anonymous_id,
                currency=cart.currency,
            ),
        ).instance
    if cart.converted:
        Cart.objects.filter(pk=stored.pk).exclude(state=CartState.CONVERTED).update(
            state=CartState.CONVERTED, abandoned_at=None
        )
    return 1
