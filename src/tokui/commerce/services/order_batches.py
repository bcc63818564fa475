"""Batches of orders from outside systems (API, imports, connectors): the hot path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from tokui.commerce.enums import OrderStatus
from tokui.commerce.models import Order, OrderLine
from tokui.commerce.selectors import order_line_rows, orders_by_external_id
from tokui.commerce.services.inserts import LINE_FIELDS, order_lines_insert, orders_insert
from tokui.commerce.services.orders import (
    PricedOrder,
    ProductLookups,
    carts_convert_many,
    order_placed_fact,
    order_upsert,
    price_order,
)
from tokui.commerce.services.source_refs import SourceRefs
from tokui.commerce.types import OrderIn, OrderLineIn, OrderRecordIn
from tokui.core.batches import RecordOutcome, duplicate_error, duplicated_keys, record_apply
from tokui.core.enums import UpsertOutcome
from tokui.core.errors import DomainError
from tokui.tracking.enums import EventType
from tokui.tracking.services import events_record_batch
from tokui.tracking.types import EventIn

# A change to one of these is the order's cancellation: a fact on the timeline.
CANCELLED_STATUSES = (OrderStatus.CANCELLED, OrderStatus.REFUNDED)


def _order_in(record: OrderRecordIn, refs: SourceRefs) -> OrderIn:
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


def _order_upserted(source: str, external_id: str, data: OrderIn) -> RecordOutcome:
    return RecordOutcome.stored(external_id, order_upsert(source=source, external_id=external_id, data=data))


@dataclass(slots=True)
class _Incoming:
    """A valid order of the batch, priced, with the stored order it replaces (if any) and what differs from it."""

    index: int
    key: str
    data: OrderIn
    priced: PricedOrder
    stored: Order | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    lines_changed: bool = False

    def alone(self, source: str) -> tuple[int, RecordOutcome]:
        """The error path: this order on its own, in its own savepoint, through ``order_upsert``."""
        return self.index, record_apply(self.key, partial(_order_upserted, source, self.key, self.data))


def orders_upsert_batch(*, source: str, records: Sequence[OrderRecordIn]) -> list[RecordOutcome]:
    """Create or update the orders of ``source`` with their lines: the hot path, batched.

    Customers and products are looked up once for the batch; stored orders and their lines are read in two
    queries and compared in memory, so a batch sent again writes nothing. New orders are inserted in bulk with
    their lines and facts; changed orders are updated in bulk (their lines replaced in bulk). A bad order is
    reported with its field and reason and never rolls back the others: if the database refuses a bulk write,
    the batch is split in halves until the refused order stands alone in its own savepoint.
    """
    duplicates = duplicated_keys(record.external_id for record in records)
    refs = SourceRefs.load(
        source=source,
        company_keys=[r.company_external_id for r in records],
        contact_keys=[r.contact_external_id for r in records],
        lines=[line for record in records for line in record.lines],
    )
    stored = orders_by_external_id(source=source, external_ids=[record.external_id for record in records])
    stored_lines = order_line_rows(order_ids=[order.pk for order in stored.values()], fields=LINE_FIELDS)
    outcomes: dict[int, RecordOutcome] = {}
    resolved: list[tuple[int, str, OrderIn]] = []
    for index, record in enumerate(records):
        key = record.external_id
        if key in duplicates:
            outcomes[index] = RecordOutcome.failed(key, duplicate_error(key))
            continue
        try:
            resolved.append((index, key, _order_in(record, refs)))
        except DomainError as error:
            outcomes[index] = RecordOutcome.failed(key, error)
    products = ProductLookups.load(data for _index, _key, data in resolved)
    new: list[_Incoming] = []
    changed: list[_Incoming] = []
    for index, key, data in resolved:
        try:
            incoming = _Incoming(index=index, key=key, data=data, priced=price_order(data, products=products))
        except DomainError as error:
            outcomes[index] = RecordOutcome.failed(key, error)
            continue
        order = stored.get(key)
        if order is None:
            new.append(incoming)
            continue
        incoming.stored = order
        incoming.changes = {
            name: value for name, value in incoming.priced.header.items() if getattr(order, name) != value
        }
        incoming.lines_changed = stored_lines.get(order.pk, []) != _line_rows(incoming.priced)
        if incoming.changes or incoming.lines_changed:
            changed.append(incoming)
        else:
            outcomes[index] = RecordOutcome(key=key, outcome=UpsertOutcome.UNCHANGED.value, id=order.pk)
    if new or changed:
        with transaction.atomic():
            outcomes.update(_in_bulk_or_alone(new, source=source, bulk=_orders_create))
            outcomes.update(_in_bulk_or_alone(changed, source=source, bulk=_orders_update))
    return [outcomes[index] for index in range(len(records))]


def _line_rows(priced: PricedOrder) -> list[tuple[Any, ...]]:
    return [tuple(line[name] for name in LINE_FIELDS) for line in priced.lines]


def _in_bulk_or_alone(
    items: list[_Incoming],
    *,
    source: str,
    bulk: Callable[[str, list[_Incoming]], dict[int, RecordOutcome]],
) -> dict[int, RecordOutcome]:
    """Write ``items`` with ``bulk`` in one savepoint; if the database refuses it, each half again, down to one.

    A refused row (a value out of range, another writer that stored the same order meanwhile) so costs a few
    failed bulk writes, not a savepoint per order; the order left alone goes through ``order_upsert``, which
    reports the refusal or wins the race.
    """
    if not items:
        return {}
    try:
        with transaction.atomic():
            return bulk(source, items)
    except DatabaseError:
        if len(items) == 1:
            return dict([items[0].alone(source)])
        middle = len(items) // 2
        return _in_bulk_or_alone(items[:middle], source=source, bulk=bulk) | _in_bulk_or_alone(
            items[middle:], source=source, bulk=bulk
        )


def _cancelled_fact(order: Order, source: str) -> EventIn:
    return EventIn(
        type=EventType.ORDER_CANCELLED,
        occurred_at=order.cancelled_at or timezone.now(),
        contact_id=order.contact_id,
        company_id=order.company_id,
        properties={"order_id": order.pk, "number": order.number, "status": order.status},
        source=source,
        idempotency_key=f"order:{order.pk}:{order.status}",
    )


def _orders_create(source: str, new: list[_Incoming]) -> dict[int, RecordOutcome]:
    """Insert new orders with their lines and their facts: a few statements for the whole batch."""
    created = [Order(source=source, external_id=item.key, **item.priced.header) for item in new]
    orders_insert(created)
    pairs = list(zip(created, new, strict=True))
    order_lines_insert((order.pk, item.priced.lines) for order, item in pairs)
    facts = [order_placed_fact(order.pk, item.priced.header, item.priced.lines, source) for order, item in pairs]
    facts += [_cancelled_fact(order, source) for order in created if order.status in CANCELLED_STATUSES]
    events_record_batch(events=facts)
    carts_convert_many(created)
    return {
        item.index: RecordOutcome(key=item.key, outcome=UpsertOutcome.CREATED.value, id=order.pk)
        for order, item in pairs
    }


def _orders_update(source: str, changed: list[_Incoming]) -> dict[int, RecordOutcome]:
    """Update changed orders in bulk: their changed columns in one statement, their lines replaced when they differ.

    A cancellation (or refund) is a fact, once per order and status, as in ``order_upsert``.
    """
    now = timezone.now()
    orders: list[Order] = []
    fields: set[str] = {"updated_at"}
    facts: list[EventIn] = []
    for item in changed:
        order = item.stored
        assert order is not None
        for name, value in item.changes.items():
            setattr(order, name, value)
        order.updated_at = now
        fields.update(item.changes)
        orders.append(order)
        if "status" in item.changes and order.status in CANCELLED_STATUSES:
            facts.append(_cancelled_fact(order, source))
    _orders_columns_update(orders, fields=sorted(fields))
    rewritten = [item for item in changed if item.lines_changed]
    if rewritten:
        OrderLine.objects.filter(order_id__in=[item.stored.pk for item in rewritten if item.stored]).delete()
        order_lines_insert((item.stored.pk, item.priced.lines) for item in rewritten if item.stored)
    if facts:
        events_record_batch(events=facts)
    return {
        item.index: RecordOutcome(key=item.key, outcome=UpsertOutcome.UPDATED.value, id=order.pk)
        for order, item in zip(orders, changed, strict=True)
    }


def _orders_columns_update(orders: Sequence[Order], *, fields: Sequence[str]) -> None:
    """Write the columns ``fields`` (attribute names) of ``orders``: an UPDATE by id per order, in one executemany.

    ``bulk_update`` builds a CASE per column with a branch per row, which at a thousand rows costs more to compile
    (and for the database to evaluate) than the write itself; psycopg pipelines ``executemany`` in one round trip.
    """
    pk = Order._meta.pk
    assert pk is not None
    column_of = {field.attname: field for field in Order._meta.concrete_fields}
    columns = [column_of[name] for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(column.column))} = %s" for column in columns)
    sql = f"UPDATE {quote(Order._meta.db_table)} SET {assignments} WHERE {quote(str(pk.column))} = %s"
    rows = [
        [*(column.get_db_prep_save(getattr(order, column.attname), connection) for column in columns), order.pk]
        for order in orders
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
