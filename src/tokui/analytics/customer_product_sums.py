"""Product month sums per customer attribute: the breakdown by product for one company size or one sales rep
(ADR 0046).

A filter on a company size keeps a quarter of the buyers, and a sales rep's page (their own companies) a twentieth
at the bench's 20 reps: the breakdown by product summed those buyers' line facts, 2.5M lines for a size over a
year against the year before, spread over the whole table (1.7-1.9 s at 3M orders). ``SalesCustomerProductMonth``
holds the product month sums (``product_sums``, ADR 0028) once per dimension of ``PRODUCT_DIMENSIONS``, keyed by
the buyer's recorded value of it, so one value's months are a few hundred thousand rows side by side.

Prefectures are left out: at 47 values their sums would hardly be smaller than the lines (ADR 0045's count), and
one prefecture's lines are few.

Kept as the other customer sums are (ADR 0045): every add and take of a line joins the buyer's record, so a line
leaves the sums under the values it was added with.

- The order-fact consumer: ``product_sums`` records a buyer's lines from the earliest day it rewrites into a delta
  table, times -1 before and +1 after, and the keys whose sums changed are written (``customer_products_record``,
  ``customer_products_apply``).
- A customer whose values changed: its lines taken out under the old record and added under the new
  (``customer_products_add``, from ``customer_sums.customers_move``).
- The nightly rebuild sums every line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper

from tokui.analytics.customer_models import NO_VALUE, SalesCustomerProductMonth, SalesCustomerRecord
from tokui.analytics.enums import CustomerDimension
from tokui.analytics.sales_days import month_index, per_customer, previous_month, upsert_sums
from tokui.analytics.sales_models import SalesLineFact, SalesProductChannelMonth

# The dimensions with product sums: those whose one value keeps many buyers.
PRODUCT_DIMENSIONS = (CustomerDimension.SIZE, CustomerDimension.REP)
_KEY = "dimension, value, currency, month, prev_month, product_key"
_COLUMNS = f"{_KEY}, amount, units, orders"
_SUMS = ("amount", "units", "orders")
_DELTA = "tokui_customer_products_delta"
# The product key of the rows over every line (as the channel sums', ADR 0044).
EVERY_LINE = SalesProductChannelMonth.EVERY_LINE


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _select(where: str, *, sign: int, lines: str | None, records: str) -> str:
    """The line facts matching ``where`` (unqualified columns) summed per key of ``SalesCustomerProductMonth``,
    once per dimension of ``PRODUCT_DIMENSIONS``, joined to the records table ``records``, times ``sign``: an
    (order, product) is one order of the product, counted by its first line; and the ``EVERY_LINE`` rows, which
    count each order by its first line along the buyer's chain of orders with any line (the page's totals)."""
    table = _q(lines or SalesLineFact._meta.db_table)
    previous, every, month = previous_month("prev_product_day"), previous_month("prev_order_day"), month_index("day")
    parts = []
    for dimension in PRODUCT_DIMENSIONS:
        columns, join, value = per_customer(dimension, table, records)
        head = f"SELECT {columns}, currency, {month} AS month"
        parts += [
            f"{head}, {previous} AS prev_month, COALESCE(product_id, 0) AS product_key, {sign} * SUM(amount) AS amount,"
            f" {sign} * SUM(quantity) AS units, {sign} * SUM(CASE WHEN product_first THEN 1 ELSE 0 END) AS orders"
            f" FROM {table}{join} WHERE {where}"
            f" GROUP BY {value}, currency, {month}, {previous}, COALESCE(product_id, 0)",
            f"{head}, {every}, {EVERY_LINE}, 0, 0, {sign} * COUNT(*) FROM {table}{join} WHERE ({where}) AND order_first"
            f" GROUP BY {value}, currency, {month}, {every}",
        ]
    return " UNION ALL ".join(parts)


def _few_select(where: str, *, sign: int) -> str:
    """``_select`` for a few buyers' lines (the consumer's delta, a customer's move): one read of the lines for
    both dimensions and both kinds of row, each row's value looked up in the records by its key (``where``'s
    parameters once). Four reads of the lines, as ``_select`` does, cost the consumer 0.1-0.2 s a batch more;
    ``_select`` stays for the rebuild, where one read of every line for all four took twice as long (ADR 0046)."""
    table, records = _q(SalesLineFact._meta.db_table), _q(SalesCustomerRecord._meta.db_table)
    recorded = " ".join(
        f"WHEN '{dimension}' THEN (SELECT r.{CustomerDimension(dimension).value} FROM {records} r"
        f" WHERE r.customer = {table}.buyer)"
        for dimension in PRODUCT_DIMENSIONS
    )
    value = f"COALESCE(CASE k.dimension {recorded} END, '{NO_VALUE}')"
    previous = (
        f"CASE WHEN k.every = 1 THEN {previous_month('prev_order_day')} ELSE {previous_month('prev_product_day')} END"
    )
    product, month = f"CASE WHEN k.every = 1 THEN {EVERY_LINE} ELSE COALESCE(product_id, 0) END", month_index("day")
    kinds = " UNION ALL ".join(
        f"SELECT '{dimension}' AS dimension, {every} AS every" for dimension in PRODUCT_DIMENSIONS for every in (0, 1)
    )
    return (
        f"SELECT k.dimension, {value}, currency, {month}, {previous}, {product},"
        f" {sign} * SUM(CASE WHEN k.every = 1 THEN 0 ELSE amount END),"
        f" {sign} * SUM(CASE WHEN k.every = 1 THEN 0 ELSE quantity END),"
        f" {sign} * SUM(CASE WHEN k.every = 1 OR product_first THEN 1 ELSE 0 END)"
        f" FROM {table} CROSS JOIN ({kinds}) k WHERE ({where}) AND (k.every = 0 OR order_first)"
        f" GROUP BY k.dimension, {value}, currency, {month}, {previous}, {product}"
    )


def customer_products_add(cursor: CursorWrapper, where: str, params: Sequence[Any], *, sign: int) -> None:
    """Add the line facts matching ``where`` (unqualified columns) to the sums, by their buyers' recorded values,
    times ``sign``."""
    table = _q(SalesCustomerProductMonth._meta.db_table)
    cursor.execute(upsert_sums(table, _COLUMNS, _KEY, _SUMS, _few_select(where, sign=sign)), list(params))


def customer_products_delta(cursor: CursorWrapper) -> None:
    """Start the delta of a rewrite of line facts (a temporary table, until ``customer_products_apply``)."""
    cursor.execute(f"DROP TABLE IF EXISTS {_q(_DELTA)}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {_q(_DELTA)} (dimension varchar(10), value varchar(16), currency varchar(3),"
        " month integer, prev_month integer, product_key bigint, amount numeric(14, 2), units bigint, orders integer)"
    )


def customer_products_record(cursor: CursorWrapper, where: str, params: Sequence[Any], *, sign: int) -> None:
    """Add the line facts matching ``where`` to the delta, times ``sign``: -1 before they are rewritten, +1 after."""
    cursor.execute(f"INSERT INTO {_q(_DELTA)} ({_COLUMNS}) {_few_select(where, sign=sign)}", list(params))


def customer_products_apply(cursor: CursorWrapper) -> None:
    """Write the keys whose sums the delta changed (most of a rewritten buyer's lines come back as they were)."""
    delta = _q(_DELTA)
    changed = (
        f"SELECT {_KEY}, SUM(amount) AS amount, SUM(units) AS units, SUM(orders) AS orders FROM {delta}"
        f" GROUP BY {_KEY} HAVING SUM(orders) <> 0 OR SUM(units) <> 0 OR SUM(amount) <> 0"
    )
    cursor.execute(upsert_sums(_q(SalesCustomerProductMonth._meta.db_table), _COLUMNS, _KEY, _SUMS, changed), [])
    cursor.execute(f"DROP TABLE {delta}")


def customer_products_rebuild_sql(
    *, table: str | None = None, lines: str | None = None, records: str | None = None
) -> tuple[str, list[Any]]:
    """INSERT ... SELECT of every sum from the line facts and the customer records (into a rebuild's twins), in
    key order: one value's months are then read from pages side by side."""
    target = _q(table or SalesCustomerProductMonth._meta.db_table)
    select = _select("1 = 1", sign=1, lines=lines, records=records or SalesCustomerRecord._meta.db_table)
    return f"INSERT INTO {target} ({_COLUMNS}) SELECT * FROM ({select}) s ORDER BY {_KEY}", []
