"""Orders: pricing, the single-order upsert and the bulk load of new orders.

Placing and cancelling an order are facts on the timeline; an order converts the customer's open carts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tokui.catalog.models import Product
from tokui.commerce.enums import CartState, OrderChannel, OrderStatus
from tokui.commerce.models import Cart, Order, OrderLine
from tokui.commerce.services.inserts import LINE_FIELDS, order_lines_insert
from tokui.commerce.types import OrderIn
from tokui.core.enums import UpsertOutcome
from tokui.core.errors import DomainError
from tokui.core.money import quantize
from tokui.core.upserts import UpsertResult, upsert_by_key
from tokui.tracking.enums import EventType
from tokui.tracking.services import event_record, events_record_batch
from tokui.tracking.types import EventIn

# The choices as sets, built once: ``TextChoices.values`` builds a new list on every call.
_CHANNELS = frozenset(OrderChannel.values)
_STATUSES = frozenset(OrderStatus.values)


@dataclass(frozen=True, slots=True)
class PricedOrder:
    header: dict[str, Any]
    lines: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ProductLookups:
    """Products named by a line's SKU alone (``{sku: (id, name)}``) and names of products named by id alone."""

    by_sku: dict[str, tuple[int, str]]
    names: dict[int, str]

    @classmethod
    def load(cls, orders: Iterable[OrderIn]) -> ProductLookups:
        """At most two queries for any number of orders; none when every line names its product and its name."""
        orders = list(orders)
        skus = {line.sku for data in orders for line in data.lines if line.product_id is None}
        unnamed = {ln.product_id for data in orders for ln in data.lines if ln.product_id and not ln.product_name}
        by_sku = (
            {sku: (pk, name) for pk, sku, name in Product.objects.filter(sku__in=skus).values_list("pk", "sku", "name")}
            if skus
            else {}
        )
        names = dict(Product.objects.filter(pk__in=unnamed).values_list("pk", "name")) if unnamed else {}
        return cls(by_sku=by_sku, names=names)


def price_order(data: OrderIn, *, products: ProductLookups | None = None) -> PricedOrder:
    """Validate an incoming order and compute its lines and totals in the order's currency.

    ``products`` are the lookups of a whole batch (``ProductLookups.load``); without them, this order's are made.
    """
    if data.company_id is None and data.contact_id is None:
        raise DomainError(_("An order needs a company or a contact."), field="company_id")
    if not data.lines:
        raise DomainError(_("An order needs at least one line."), field="lines")
    if timezone.is_naive(data.placed_at):
        raise DomainError(_("The order time must include a time zone."), field="placed_at")
    if data.channel not in _CHANNELS:
        raise DomainError(_("Unknown order channel “%(value)s”.") % {"value": data.channel}, field="channel")
    if data.status not in _STATUSES:
        raise DomainError(_("Unknown order status “%(value)s”.") % {"value": data.status}, field="status")
    currency = data.currency.upper()
    if len(currency) != 3 or not currency.isalpha():
        raise DomainError(_("The currency must be a 3-letter code such as JPY."), field="currency")
    if products is None:
        products = ProductLookups.load([data])
    # Only this order's SKU-only lines may take a product by SKU, as when the order is priced alone.
    skus = {line.sku for line in data.lines if line.product_id is None}
    names = products.names
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
        product = products.by_sku.get(line.sku) if line.sku in skus else None
        product_id = line.product_id or (product[0] if product else None)
        unit_price = quantize(line.unit_price, currency)
        lines.append(
            {
                "line_no": number,
                "product_id": product_id,
                "sku": line.sku,
                "product_name": line.product_name or (product[1] if product else names.get(product_id or 0, line.sku)),
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
    return PricedOrder(header=header, lines=lines)


def order_placed_fact(order_id: int, header: dict[str, Any], lines: list[dict[str, Any]], source: str) -> EventIn:
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
    priced = price_order(data)
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
            # Only the lines changed: the order is still changed for readers syncing by ``updated_since``.
            order.updated_at = timezone.now()
            Order.objects.filter(pk=order.pk).update(updated_at=order.updated_at)
            outcome = UpsertOutcome.UPDATED
    if result.outcome == UpsertOutcome.CREATED:
        fact = order_placed_fact(order.pk, priced.header, priced.lines, source)
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
    products = ProductLookups.load(data for external_id, data in orders if external_id not in known)
    priced = [
        (external_id, price_order(data, products=products)) for external_id, data in orders if external_id not in known
    ]
    if not priced:
        return 0
    with transaction.atomic():
        created = Order.objects.bulk_create(
            [Order(source=source, external_id=external_id, **p.header) for external_id, p in priced]
        )
        order_lines_insert((order.pk, p.lines) for order, (_, p) in zip(created, priced, strict=True))
        events_record_batch(
            events=[
                order_placed_fact(order.pk, p.header, p.lines, source)
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


def carts_convert_many(orders: Sequence[Order]) -> None:
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
