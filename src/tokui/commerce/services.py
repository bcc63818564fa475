"""Writes for orders, carts and favourites. Placing, cancelling and shipping an order are facts on the timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tokui.catalog.models import Product
from tokui.catalog.selectors import product_refs_by_external_id, product_refs_by_sku
from tokui.catalog.types import ProductRef
from tokui.commerce.enums import CartState, OrderChannel, OrderStatus
from tokui.commerce.models import Cart, CartLine, Favorite, Order, OrderLine
from tokui.commerce.selectors import favorite_pairs, order_line_rows, orders_by_external_id
from tokui.commerce.types import (
    CartIn,
    CartLineIn,
    CartLineRecordIn,
    CartRecordIn,
    FavoriteRecordIn,
    OrderIn,
    OrderLineIn,
    OrderLineRecordIn,
    OrderRecordIn,
)
from tokui.core.batches import (
    RecordOutcome,
    duplicate_error,
    duplicated_keys,
    record_apply,
    records_apply,
    unknown_reference,
)
from tokui.core.enums import UpsertOutcome
from tokui.core.errors import DomainError
from tokui.core.money import quantize
from tokui.core.upserts import UpsertResult, upsert_by_key
from tokui.customers.selectors import company_id_of_contact, company_ids_by_external_id, contact_ids_by_external_id
from tokui.tracking.enums import EventSource, EventType
from tokui.tracking.selectors import EventRow, contact_of_anonymous_id, events_anonymous_ids, events_of_anonymous_id
from tokui.tracking.services import event_record, events_record_batch
from tokui.tracking.types import EventIn

LINE_FIELDS = ("line_no", "product_id", "sku", "product_name", "quantity", "unit_price", "amount")


@dataclass(frozen=True, slots=True)
class _PricedOrder:
    header: dict[str, Any]
    lines: list[dict[str, Any]]


def _price_order(data: OrderIn) -> _PricedOrder:
    """Validate an incoming order and compute its lines and totals in the order's currency."""
    if data.company_id is None and data.contact_id is None:
        raise DomainError(_("An order needs a company or a contact."), field="company_id")
    if not data.lines:
        raise DomainError(_("An order needs at least one line."), field="lines")
    if timezone.is_naive(data.placed_at):
        raise DomainError(_("The order time must include a time zone."), field="placed_at")
    if data.channel not in OrderChannel.values:
        raise DomainError(_("Unknown order channel “%(value)s”.") % {"value": data.channel}, field="channel")
    if data.status not in OrderStatus.values:
        raise DomainError(_("Unknown order status “%(value)s”.") % {"value": data.status}, field="status")
    currency = data.currency.upper()
    if len(currency) != 3 or not currency.isalpha():
        raise DomainError(_("The currency must be a 3-letter code such as JPY."), field="currency")
    skus = {line.sku for line in data.lines if line.product_id is None}
    products_by_sku = {p.sku: p for p in Product.objects.filter(sku__in=skus)} if skus else {}
    unnamed_ids = [ln.product_id for ln in data.lines if ln.product_id and not ln.product_name]
    names = dict(Product.objects.filter(pk__in=unnamed_ids).values_list("pk", "name")) if unnamed_ids else {}
    lines: list[dict[str, Any]] = []
    for number, line in enumerate(data.lines, start=1):
        field = f"lines[{number - 1}]"
        if line.quantity <= 0:
            raise DomainError(
                _("Line %(no)d: the quantity must be at least 1.") % {"no": number}, field=f"{field}.quantity"
            )
        if line.unit_price < 0:
            raise DomainError(
                _("Line %(no)d: the price cannot be negative.") % {"no": number}, field=f"{field}.unit_price"
            )
        product = products_by_sku.get(line.sku)
        product_id = line.product_id or (product.pk if product else None)
        unit_price = quantize(line.unit_price, currency)
        lines.append(
            {
                "line_no": number,
                "product_id": product_id,
                "sku": line.sku,
                "product_name": line.product_name
                or (product.name if product else names.get(product_id or 0, line.sku)),
                "quantity": line.quantity,
                "unit_price": unit_price,
                "amount": quantize(unit_price * line.quantity, currency),
            }
        )
    subtotal = sum((line["amount"] for line in lines), Decimal(0))
    total = subtotal - data.discount_total + data.shipping_fee + data.tax_total
    header = {
        "number": data.number,
        "company_id": data.company_id,
        "contact_id": data.contact_id,
        "channel": data.channel,
        "status": data.status,
        "placed_at": data.placed_at,
        "shipped_at": data.shipped_at,
        "currency": currency,
        "subtotal": quantize(subtotal, currency),
        "discount_total": quantize(data.discount_total, currency),
        "shipping_fee": quantize(data.shipping_fee, currency),
        "tax_total": quantize(data.tax_total, currency),
        "total": quantize(total, currency),
        "sales_rep_id": data.sales_rep_id,
        "note": data.note,
    }
    return _PricedOrder(header=header, lines=lines)


def _order_placed_fact(order_id: int, header: dict[str, Any], lines: list[dict[str, Any]], source: str) -> EventIn:
    return EventIn(
        type=EventType.ORDER_PLACED,
        occurred_at=header["placed_at"],
        contact_id=header["contact_id"],
        company_id=header["company_id"],
        properties={
            "order_id": order_id,
            "number": header["number"],
            "channel": header["channel"],
            "total": str(header["total"]),
            "currency": header["currency"],
            "items": [{"sku": ln["sku"], "name": ln["product_name"], "quantity": ln["quantity"]} for ln in lines],
        },
        source=source,
        idempotency_key=f"order:{order_id}:placed",
    )


@transaction.atomic
def order_upsert(*, source: str, external_id: str, data: OrderIn) -> UpsertResult[Order]:
    """Create or update an order and its lines by source id; the same order twice changes nothing.

    A new order is a fact on the timeline and converts the customer's open carts; a cancellation is a fact too.
    """
    priced = _price_order(data)
    previous_status = (
        Order.objects.filter(source=source, external_id=external_id).values_list("status", flat=True).first()
    )
    result = upsert_by_key(Order, key={"source": source, "external_id": external_id}, values=priced.header)
    order = result.instance
    stored = [tuple(row) for row in order.lines.order_by("line_no").values_list(*LINE_FIELDS)]
    wanted = [tuple(line[name] for name in LINE_FIELDS) for line in priced.lines]
    outcome = result.outcome
    if stored != wanted:
        order.lines.all().delete()
        OrderLine.objects.bulk_create(OrderLine(order=order, **line) for line in priced.lines)
        if outcome == UpsertOutcome.UNCHANGED:
            outcome = UpsertOutcome.UPDATED
    if result.outcome == UpsertOutcome.CREATED:
        fact = _order_placed_fact(order.pk, priced.header, priced.lines, source)
        event_record(**_event_kwargs(fact))
        _carts_convert(order)
    if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED) and previous_status != order.status:
        event_record(
            type=EventType.ORDER_CANCELLED,
            occurred_at=order.cancelled_at or timezone.now(),
            contact_id=order.contact_id,
            company_id=order.company_id,
            properties={"order_id": order.pk, "number": order.number, "status": order.status},
            source=source,
            idempotency_key=f"order:{order.pk}:{order.status}",
        )
    return UpsertResult(order, outcome)


def _event_kwargs(fact: EventIn) -> dict[str, Any]:
    return {
        "type": fact.type,
        "occurred_at": fact.occurred_at,
        "contact_id": fact.contact_id,
        "company_id": fact.company_id,
        "properties": fact.properties,
        "source": fact.source,
        "idempotency_key": fact.idempotency_key,
    }


def orders_load_new(*, source: str, orders: Sequence[tuple[str, OrderIn]], dispatch_facts: bool = True) -> int:
    """Bulk-insert orders that ``source`` has not sent before (the fast path of imports); returns orders created.

    Orders already stored are left to ``order_upsert``; this path never updates.
    """
    known = set(
        Order.objects.filter(source=source, external_id__in=[external_id for external_id, _ in orders]).values_list(
            "external_id", flat=True
        )
    )
    priced = [(external_id, _price_order(data)) for external_id, data in orders if external_id not in known]
    if not priced:
        return 0
    with transaction.atomic():
        created = Order.objects.bulk_create(
            [Order(source=source, external_id=external_id, **p.header) for external_id, p in priced]
        )
        OrderLine.objects.bulk_create(
            [OrderLine(order=order, **line) for order, (_, p) in zip(created, priced, strict=True) for line in p.lines],
            batch_size=2000,
        )
        events_record_batch(
            events=[
                _order_placed_fact(order.pk, p.header, p.lines, source)
                for order, (_, p) in zip(created, priced, strict=True)
            ],
            dispatch=dispatch_facts,
        )
    return len(created)


def _carts_convert(order: Order) -> int:
    """An order closes the customer's open carts: nobody should be reminded of a cart they have just bought."""
    carts = Cart.objects.filter(
        state__in=[CartState.ACTIVE, CartState.ABANDONED], last_activity_at__lte=order.placed_at
    )
    if order.contact_id is not None:
        carts = carts.filter(contact_id=order.contact_id)
    elif order.company_id is not None:
        carts = carts.filter(company_id=order.company_id)
    return carts.update(state=CartState.CONVERTED, converted_order=order)


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


@transaction.atomic
def favorite_add(
    *, contact_id: int, product_id: int, added_at: dt.datetime | None = None, source: str = "tokui"
) -> Favorite:
    at = added_at or timezone.now()
    favorite, created = Favorite.objects.get_or_create(
        contact_id=contact_id,
        product_id=product_id,
        defaults={"added_at": at, "company_id": company_id_of_contact(contact_id=contact_id), "source": source},
    )
    if created:
        event_record(
            type=EventType.FAVORITE_ADDED,
            occurred_at=at,
            contact_id=contact_id,
            properties={"product_id": product_id},
            source=source,
        )
    return favorite


@transaction.atomic
def favorite_remove(
    *, contact_id: int, product_id: int, removed_at: dt.datetime | None = None, source: str = "tokui"
) -> bool:
    deleted, _rows = Favorite.objects.filter(contact_id=contact_id, product_id=product_id).delete()
    if deleted:
        event_record(
            type=EventType.FAVORITE_REMOVED,
            occurred_at=removed_at or timezone.now(),
            contact_id=contact_id,
            properties={"product_id": product_id},
            source=source,
        )
    return bool(deleted)


# --- Carts kept by the tracking tag -------------------------------------------------------------------------------

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


# --- Batches from outside systems (API, imports, connectors) -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SourceRefs:
    """The customers and products a batch names by a source's ids, looked up once for the whole batch."""

    companies: dict[str, int]
    contacts: dict[str, tuple[int, int | None]]
    products: dict[str, ProductRef]
    skus: dict[str, ProductRef]

    @classmethod
    def load(
        cls,
        *,
        source: str,
        company_keys: Iterable[str | None],
        contact_keys: Iterable[str | None],
        lines: Iterable[OrderLineRecordIn | CartLineRecordIn | FavoriteRecordIn],
    ) -> _SourceRefs:
        lines = list(lines)
        return cls(
            companies=company_ids_by_external_id(source=source, external_ids=[k for k in company_keys if k]),
            contacts=contact_ids_by_external_id(source=source, external_ids=[k for k in contact_keys if k]),
            products=product_refs_by_external_id(
                source=source, external_ids=[ln.product_external_id for ln in lines if ln.product_external_id]
            ),
            skus=product_refs_by_sku(skus=[ln.sku for ln in lines if ln.sku and not ln.product_external_id]),
        )

    def customer(self, *, company_key: str | None, contact_key: str | None) -> tuple[int | None, int | None]:
        """(company id, contact id); a contact's company stands in when the company is not named."""
        company_id = contact_id = None
        if contact_key:
            found = self.contacts.get(contact_key)
            if found is None:
                raise unknown_reference(_("contact"), contact_key, field="contact_external_id")
            contact_id, company_id = found
        if company_key:
            company_id = self.companies.get(company_key)
            if company_id is None:
                raise unknown_reference(_("company"), company_key, field="company_external_id")
        return company_id, contact_id

    def product(
        self, line: OrderLineRecordIn | CartLineRecordIn | FavoriteRecordIn, *, field: str, required: bool
    ) -> ProductRef | None:
        if line.product_external_id:
            ref = self.products.get(line.product_external_id)
            if ref is None:
                raise unknown_reference(_("product"), line.product_external_id, field=f"{field}product_external_id")
            return ref
        if not line.sku:
            raise DomainError(_("Name the product by its sku or its product_external_id."), field=f"{field}sku")
        ref = self.skus.get(line.sku)
        if ref is None and required:
            raise unknown_reference(_("product"), line.sku, field=f"{field}sku")
        return ref


def _order_in(record: OrderRecordIn, refs: _SourceRefs) -> OrderIn:
    company_id, contact_id = refs.customer(
        company_key=record.company_external_id, contact_key=record.contact_external_id
    )
    lines = []
    for index, line in enumerate(record.lines):
        product = refs.product(line, field=f"lines[{index}].", required=False)
        lines.append(
            OrderLineIn(
                sku=line.sku or (product.sku if product else ""),
                quantity=line.quantity,
                unit_price=line.unit_price,
                product_name=line.product_name or (product.name if product else ""),
                product_id=product.id if product else None,
            )
        )
    return OrderIn(
        placed_at=record.placed_at,
        lines=lines,
        company_id=company_id,
        contact_id=contact_id,
        number=record.number,
        channel=record.channel,
        status=record.status,
        currency=record.currency,
        discount_total=record.discount_total,
        shipping_fee=record.shipping_fee,
        tax_total=record.tax_total,
        shipped_at=record.shipped_at,
        note=record.note,
    )


def _order_unchanged(order: Order, priced: _PricedOrder, stored_lines: list[tuple[Any, ...]]) -> bool:
    wanted_lines = [tuple(line[name] for name in LINE_FIELDS) for line in priced.lines]
    return stored_lines == wanted_lines and all(getattr(order, name) == value for name, value in priced.header.items())


def _order_upserted(source: str, external_id: str, data: OrderIn) -> RecordOutcome:
    return RecordOutcome.stored(external_id, order_upsert(source=source, external_id=external_id, data=data))


def orders_upsert_batch(*, source: str, records: Sequence[OrderRecordIn]) -> list[RecordOutcome]:
    """Create or update the orders of ``source`` with their lines: the hot path, batched.

    Customers and products are looked up once for the batch; stored orders and their lines are read in two
    queries and compared in memory, so a batch sent again writes nothing. New orders are inserted in bulk with
    their lines and facts; changed orders go through ``order_upsert`` one by one. A bad order is reported with
    its field and reason and never rolls back the others.
    """
    duplicates = duplicated_keys(record.external_id for record in records)
    refs = _SourceRefs.load(
        source=source,
        company_keys=[r.company_external_id for r in records],
        contact_keys=[r.contact_external_id for r in records],
        lines=[line for record in records for line in record.lines],
    )
    stored = orders_by_external_id(source=source, external_ids=[record.external_id for record in records])
    stored_lines = order_line_rows(order_ids=[order.pk for order in stored.values()], fields=LINE_FIELDS)
    outcomes: dict[int, RecordOutcome] = {}
    new: list[tuple[int, str, OrderIn, _PricedOrder]] = []
    with transaction.atomic():
        for index, record in enumerate(records):
            key = record.external_id
            if key in duplicates:
                outcomes[index] = RecordOutcome.failed(key, duplicate_error(key))
                continue
            try:
                data = _order_in(record, refs)
                priced = _price_order(data)
            except DomainError as error:
                outcomes[index] = RecordOutcome.failed(key, error)
                continue
            order = stored.get(key)
            if order is None:
                new.append((index, key, data, priced))
            elif _order_unchanged(order, priced, stored_lines.get(order.pk, [])):
                outcomes[index] = RecordOutcome(key=key, outcome=UpsertOutcome.UNCHANGED.value, id=order.pk)
            else:
                outcomes[index] = record_apply(key, partial(_order_upserted, source, key, data))
        outcomes.update(_orders_create(source=source, new=new))
    return [outcomes[index] for index in range(len(records))]


def _orders_create(*, source: str, new: list[tuple[int, str, OrderIn, _PricedOrder]]) -> dict[int, RecordOutcome]:
    """Insert new orders, their lines and their facts in bulk; if the database refuses the bulk, one by one."""
    if not new:
        return {}
    try:
        with transaction.atomic():
            created = Order.objects.bulk_create(
                [Order(source=source, external_id=key, **priced.header) for _i, key, _d, priced in new]
            )
            pairs = list(zip(created, new, strict=True))
            OrderLine.objects.bulk_create(
                [OrderLine(order=order, **line) for order, (_i, _k, _d, priced) in pairs for line in priced.lines],
                batch_size=2000,
            )
            facts = [_order_placed_fact(order.pk, p.header, p.lines, source) for order, (_i, _k, _d, p) in pairs]
            facts += [
                EventIn(
                    type=EventType.ORDER_CANCELLED,
                    occurred_at=timezone.now(),
                    contact_id=order.contact_id,
                    company_id=order.company_id,
                    properties={"order_id": order.pk, "number": order.number, "status": order.status},
                    source=source,
                    idempotency_key=f"order:{order.pk}:{order.status}",
                )
                for order in created
                if order.status in (OrderStatus.CANCELLED, OrderStatus.REFUNDED)
            ]
            events_record_batch(events=facts)
            _carts_convert_many(created)
    except DatabaseError:
        # A row the database refuses, or another writer that stored one of these orders meanwhile: one by one.
        return {index: record_apply(key, partial(_order_upserted, source, key, data)) for index, key, data, _p in new}
    return {
        index: RecordOutcome(key=key, outcome=UpsertOutcome.CREATED.value, id=order.pk)
        for order, (index, key, _d, _p) in pairs
    }


def _carts_convert_many(orders: Sequence[Order]) -> None:
    """What ``_carts_convert`` does for one order, for many: one query when, as usual, no cart is open."""
    contact_ids = {o.contact_id for o in orders if o.contact_id is not None}
    company_ids = {o.company_id for o in orders if o.contact_id is None and o.company_id is not None}
    if not contact_ids and not company_ids:
        return
    open_carts = list(
        Cart.objects.filter(state__in=[CartState.ACTIVE, CartState.ABANDONED])
        .filter(Q(contact_id__in=contact_ids) | Q(company_id__in=company_ids))
        .values_list("id", "contact_id", "company_id", "last_activity_at")
    )
    taken: set[int] = set()
    for order in orders:
        cart_ids = [
            cart_id
            for cart_id, contact_id, company_id, last_activity_at in open_carts
            if cart_id not in taken
            and last_activity_at <= order.placed_at
            and (contact_id == order.contact_id if order.contact_id is not None else company_id == order.company_id)
        ]
        if cart_ids:
            taken.update(cart_ids)
            Cart.objects.filter(pk__in=cart_ids).update(state=CartState.CONVERTED, converted_order=order)


def _cart_in(record: CartRecordIn, refs: _SourceRefs) -> CartIn:
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
    refs = _SourceRefs.load(
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


def favorites_apply_batch(*, source: str, records: Sequence[FavoriteRecordIn]) -> list[RecordOutcome]:
    """Add (or, with ``removed``, delete) favourites known by contact and product: ``created``/``unchanged``
    when added, ``updated``/``unchanged`` when removed. The same (contact, product) twice in a batch is refused.
    """
    refs = _SourceRefs.load(
        source=source, company_keys=[], contact_keys=[r.contact_external_id for r in records], lines=records
    )
    keys = [f"{r.contact_external_id}/{r.product_external_id or r.sku}" for r in records]
    duplicates = duplicated_keys(keys)
    existing = favorite_pairs(
        contact_ids=[pair[0] for pair in refs.contacts.values()],
        product_ids=[ref.id for ref in [*refs.products.values(), *refs.skus.values()]],
    )

    def apply(record: FavoriteRecordIn) -> RecordOutcome:
        _company_id, contact_id = refs.customer(company_key=None, contact_key=record.contact_external_id)
        product = refs.product(record, field="", required=True)
        assert contact_id is not None and product is not None
        pair = (contact_id, product.id)
        if record.removed:
            removed = favorite_remove(
                contact_id=contact_id, product_id=product.id, removed_at=record.added_at, source=source
            )
            existing.discard(pair)
            return RecordOutcome(
                key=record.contact_external_id,
                outcome=UpsertOutcome.UPDATED.value if removed else UpsertOutcome.UNCHANGED.value,
            )
        favorite = favorite_add(contact_id=contact_id, product_id=product.id, added_at=record.added_at, source=source)
        outcome = UpsertOutcome.UNCHANGED if pair in existing else UpsertOutcome.CREATED
        existing.add(pair)
        return RecordOutcome(key=record.contact_external_id, outcome=outcome.value, id=favorite.pk)

    outcomes = []
    with transaction.atomic():
        for key, record in zip(keys, records, strict=True):
            if key in duplicates:
                outcomes.append(
                    RecordOutcome.failed(record.contact_external_id, duplicate_error(key, field="contact_external_id"))
                )
            else:
                outcomes.append(record_apply(record.contact_external_id, partial(apply, record)))
    return outcomes
