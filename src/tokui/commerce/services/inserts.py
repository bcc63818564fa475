"""Inserts of many new orders and order lines: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere.

``COPY`` stores rows several times faster than a batched INSERT (see the performance principles in DESIGN.md) and
needs no SQL compiled per row. A row the database refuses raises ``DatabaseError`` either way, so callers keep
their savepoint-and-retry error path. ``COPY`` is not in Django's query log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models

from tokui.commerce.models import Order, OrderLine

# The stored values of a line, in the order they are compared and written (``order_id`` comes first when written).
LINE_FIELDS = ("line_no", "product_id", "sku", "product_name", "quantity", "unit_price", "amount")


def order_lines_insert(orders: Iterable[tuple[int, list[dict[str, Any]]]]) -> None:
    """Insert the priced lines (``LINE_FIELDS``) of orders given as (order id, lines)."""
    if connection.vendor != "postgresql":
        OrderLine.objects.bulk_create(
            [OrderLine(order_id=order_id, **line) for order_id, lines in orders for line in lines], batch_size=2000
        )
        return
    # The values are ints, strings and Decimals as priced: written as they are, without a model instance per line.
    rows = ((order_id, *[line[name] for name in LINE_FIELDS]) for order_id, lines in orders for line in lines)
    _copy(OrderLine, ("order_id", *LINE_FIELDS), rows)


def orders_insert(orders: Sequence[Order]) -> None:
    """Insert new orders and set their ids, as ``bulk_create`` does."""
    if connection.vendor != "postgresql":
        Order.objects.bulk_create(orders)
        return
    table, pk = Order._meta.db_table, Order._meta.pk
    assert pk is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk.column, len(orders)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    fields = [field for field in Order._meta.concrete_fields if not field.primary_key]
    rows = []
    for order, order_id in zip(orders, ids, strict=True):
        order.pk = order_id
        # What a save does to each value (``auto_now`` times, time zones, decimals), as ``bulk_create`` would.
        rows.append([order_id, *(field.get_db_prep_save(field.pre_save(order, True), connection) for field in fields)])
        order._state.adding, order._state.db = False, connection.alias
    _copy(Order, (pk.attname, *(field.attname for field in fields)), rows)


def _copy(model: type[models.Model], attnames: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    quote = connection.ops.quote_name
    column_of = {field.attname: str(field.column) for field in model._meta.concrete_fields}
    columns = ", ".join(quote(column_of[name]) for name in attnames)
    sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
