"""Day sums of the sales facts: what the sales pages over whole months read instead of millions of facts.

A year against the year before reads 1.5M order facts per year, and a category breakdown 5M category facts per
year: 1-4 s on PostgreSQL however narrow the rows (ADR 0024). Buyers are counted from each fact's previous-order
day (ADR 0015), and a period that starts on the 1st only needs that day's *month*: a fact is its buyer's first of
the period exactly when its previous order's month is before the period's. So the facts summed per (currency, day,
channel or category, previous month) answer those pages exactly, from a few hundred thousand rows.

The sums are kept with the facts, in the same transactions: ``sales_facts`` adds a fact's row times -1 before it
deletes the fact and times +1 after it writes it (an upsert on the sums' key), and the nightly rebuild sums the
rebuilt facts. A sum taken back to zero stays as a zero row until the next rebuild; it changes no figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper

from tokui.analytics.customer_models import NO_VALUE
from tokui.analytics.enums import CustomerDimension
from tokui.analytics.models import (
    SalesCategoryDay,
    SalesCategoryFact,
    SalesCustomerCategoryMonth,
    SalesCustomerDay,
    SalesCustomerRecord,
    SalesOrderDay,
    SalesOrderFact,
)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def month_index(column: str) -> str:
    """year × 12 + month - 1 of a date column, in this database's SQL (the ORM's ExtractYear / ExtractMonth)."""
    if connection.vendor == "postgresql":
        return f"(EXTRACT(YEAR FROM {column})::integer * 12 + EXTRACT(MONTH FROM {column})::integer - 1)"
    return f"(CAST(strftime('%%Y', {column}) AS INTEGER) * 12 + CAST(strftime('%%m', {column}) AS INTEGER) - 1)"


def week_start(column: str) -> str:
    """The Monday of a date column's week, in this database's SQL (a date, comparable with date columns)."""
    if connection.vendor == "postgresql":
        return f"({column} - (EXTRACT(ISODOW FROM {column})::integer - 1))"
    # 'weekday 0' moves to the next Sunday (a Sunday stays); six days before it is that week's Monday.
    return f"date({column}, 'weekday 0', '-6 days')"


def previous_month(column: str) -> str:
    """The month of a previous-order day; ``NO_BUYER`` for facts without a customer, ``NO_PREVIOUS`` without one."""
    return (
        f"CASE WHEN buyer IS NULL THEN {SalesCategoryDay.NO_BUYER}"
        f" WHEN {column} IS NULL THEN {SalesCategoryDay.NO_PREVIOUS} ELSE {month_index(column)} END"
    )


def upsert_sums(table: str, columns: str, key: str, sums: Sequence[str], select: str) -> str:
    added = ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in sums)
    # "WHERE 1 = 1": SQLite needs a WHERE before ON CONFLICT to tell it from a join's ON.
    return (
        f"INSERT INTO {table} ({columns}) SELECT * FROM ({select}) d WHERE 1 = 1"
        f" ON CONFLICT ({key}) DO UPDATE SET {added}"
    )


# --- Category day sums (SalesCategoryDay) --------------------------------------------------------------------------

_CATEGORY_COLUMNS = "currency, category_key, day, prev_month, amount, units, orders"
_CATEGORY_KEY = "currency, category_key, day, prev_month"


def _category_select(where: str, *, sign: int, facts: str | None = None) -> str:
    """The day sums of the category facts matching ``where``, times ``sign``: one row per category and one for
    every line (the orders' first rows along their chain of orders with any line)."""
    table = _q(facts or SalesCategoryFact._meta.db_table)
    previous = previous_month("prev_day")
    every = previous_month("prev_order_day")
    return (
        f"SELECT currency, COALESCE(category_id, 0) AS category_key, day, {previous} AS prev_month,"
        f" {sign} * SUM(amount) AS amount, {sign} * SUM(units) AS units, {sign} * COUNT(*) AS orders"
        f" FROM {table} WHERE {where} GROUP BY currency, COALESCE(category_id, 0), day, {previous}"
        f" UNION ALL SELECT currency, {SalesCategoryDay.EVERY_LINE}, day, {every}, 0, 0, {sign} * COUNT(*)"
        f" FROM {table} WHERE ({where}) AND {_q('first')} GROUP BY currency, day, {every}"
    )


def per_customer(dimension: str, facts: str, records: str | None) -> tuple[str, str, str]:
    """``(columns, join, value)`` that key sums over ``facts`` by the buyers' recorded value of ``dimension``: the
    leading ``dimension, value`` columns, the join of the records, and the value to group by (``NO_VALUE`` for a
    fact without a recorded buyer).

    With ``records`` (a rebuild: every fact) that table is joined. Without, each fact's record is looked up by its
    key: the consumer's and the customer check's facts are a few hundred buyers', and joined, PostgreSQL hashed all
    600,000 records in each statement (0.12 s each at 3M orders; ADR 46)."""
    column = CustomerDimension(dimension).value
    if records is None:
        table = _q(SalesCustomerRecord._meta.db_table)
        recorded, join = f"(SELECT r.{column} FROM {table} r WHERE r.customer = {facts}.buyer)", ""
    else:
        recorded, join = f"r.{column}", f" LEFT JOIN {_q(records)} r ON r.customer = {facts}.buyer"
    value = f"COALESCE({recorded}, '{NO_VALUE}')"
    return f"'{dimension}' AS dimension, {value} AS value", join, value


_CUSTOMER_CATEGORY_KEY = "dimension, value, currency, category_key, month, prev_month"
_CUSTOMER_CATEGORY_COLUMNS = f"{_CUSTOMER_CATEGORY_KEY}, amount, units, orders"
_LINE_SUMS = ("amount", "units", "orders")


def _customer_category_select(where: str, *, sign: int, facts: str | None = None, records: str | None = None) -> str:
    """``_category_select`` by month, once per customer dimension, keyed also by the buyers' recorded value of it
    (``SalesCustomerCategoryMonth``; ``where``'s parameters are given twice per dimension)."""
    table = _q(facts or SalesCategoryFact._meta.db_table)
    previous, every, month = previous_month("prev_day"), previous_month("prev_order_day"), month_index("day")
    parts = []
    for dimension in CustomerDimension:
        columns, join, value = per_customer(dimension, table, records)
        head = f"SELECT {columns}, currency"
        parts += [
            f"{head}, COALESCE(category_id, 0) AS category_key, {month} AS month, {previous} AS prev_month,"
            f" {sign} * SUM(amount) AS amount, {sign} * SUM(units) AS units, {sign} * COUNT(*) AS orders"
            f" FROM {table}{join} WHERE {where} GROUP BY {value}, currency, COALESCE(category_id, 0), {month},"
            f" {previous}",
            f"{head}, {SalesCategoryDay.EVERY_LINE}, {month}, {every}, 0, 0, {sign} * COUNT(*)"
            f" FROM {table}{join} WHERE ({where}) AND {_q('first')} GROUP BY {value}, currency, {month}, {every}",
        ]
    return " UNION ALL ".join(parts)


def _customer_category_upsert(select: str) -> str:
    table = _q(SalesCustomerCategoryMonth._meta.db_table)
    return upsert_sums(table, _CUSTOMER_CATEGORY_COLUMNS, _CUSTOMER_CATEGORY_KEY, _LINE_SUMS, select)


# The category facts a refresh takes out (times -1) and writes (times +1), summed into these tables and written to
# the sums once, per key whose sum changed: a buyer's facts rewritten from a day inside their history mostly come
# back as they were, and each upsert of the sums cost as much as the facts' own write (ADR 0048).
_DAYS_DELTA, _CUSTOMERS_DELTA = "tokui_category_days_delta", "tokui_customer_categories_delta"


def category_deltas_begin(cursor: CursorWrapper) -> None:
    """From here, ``category_facts_delete`` and ``category_facts_insert`` note what they change, until
    ``category_deltas_apply`` (in the same transaction)."""
    for table in (_DAYS_DELTA, _CUSTOMERS_DELTA):
        cursor.execute(f"DROP TABLE IF EXISTS {_q(table)}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {_q(_DAYS_DELTA)} (currency varchar(3), category_key bigint, day date,"
        " prev_month integer, amount numeric(14, 2), units bigint, orders bigint)"
    )
    cursor.execute(
        f"CREATE TEMPORARY TABLE {_q(_CUSTOMERS_DELTA)} (dimension varchar(10), value varchar(64), currency"
        " varchar(3), category_key bigint, month integer, prev_month integer, amount numeric(14, 2), units bigint,"
        " orders bigint)"
    )


def category_deltas_apply(cursor: CursorWrapper) -> None:
    """Add what was noted since ``category_deltas_begin`` to the category day sums and the customer category
    months: one upsert each, of the keys whose sums changed."""
    for delta, table, columns, key in (
        (_DAYS_DELTA, SalesCategoryDay._meta.db_table, _CATEGORY_COLUMNS, _CATEGORY_KEY),
        (
            _CUSTOMERS_DELTA,
            SalesCustomerCategoryMonth._meta.db_table,
            _CUSTOMER_CATEGORY_COLUMNS,
            _CUSTOMER_CATEGORY_KEY,
        ),
    ):
        select = (
            f"SELECT {key}, SUM(amount) AS amount, SUM(units) AS units, SUM(orders) AS orders FROM {_q(delta)}"
            f" GROUP BY {key} HAVING SUM(amount) <> 0 OR SUM(units) <> 0 OR SUM(orders) <> 0"
        )
        cursor.execute(upsert_sums(_q(table), columns, key, _LINE_SUMS, select), [])
        cursor.execute(f"DROP TABLE {_q(delta)}")


def _delta_insert(table: str, columns: str, select: str) -> str:
    return f"INSERT INTO {_q(table)} ({columns}) {select}"


def category_days_add(cursor: CursorWrapper, where: str, params: Sequence[Any], *, sign: int) -> None:
    """Note the category facts matching ``where`` (unqualified columns) for the day sums and the customer category
    months (by the buyers' recorded values), times ``sign``, until ``category_deltas_apply``."""
    cursor.execute(_delta_insert(_DAYS_DELTA, _CATEGORY_COLUMNS, _category_select(where, sign=sign)), [*params] * 2)
    select = _customer_category_select(where, sign=sign)
    cursor.execute(
        _delta_insert(_CUSTOMERS_DELTA, _CUSTOMER_CATEGORY_COLUMNS, select),
        list(params) * 2 * len(CustomerDimension),
    )


def customer_categories_add(cursor: CursorWrapper, where: str, params: Sequence[Any], *, sign: int) -> None:
    """Add the category facts matching ``where`` to the customer category months only, times ``sign``."""
    select = _customer_category_select(where, sign=sign)
    cursor.execute(_customer_category_upsert(select), list(params) * 2 * len(CustomerDimension))


def category_facts_insert(
    cursor: CursorWrapper, insert: tuple[str, Sequence[Any]], where: str, params: Sequence[Any]
) -> None:
    """Run ``insert`` (INSERT ... SELECT of category facts) and note what it wrote for the day sums, until
    ``category_deltas_apply``: on PostgreSQL from its RETURNING rows, elsewhere by reading the facts matching
    ``where`` again."""
    sql, insert_params = insert
    if connection.vendor != "postgresql":
        cursor.execute(sql, list(insert_params))
        category_days_add(cursor, where, params, sign=1)
        return
    # The new rows' index entries sit beside the deleted ones' until a vacuum: reading them back costs a heap
    # page per deleted row. The rows as written are summed instead.
    days = _delta_insert(_DAYS_DELTA, _CATEGORY_COLUMNS, _category_select("1 = 1", sign=1, facts="added"))
    select = _customer_category_select("1 = 1", sign=1, facts="added")
    customers = _delta_insert(_CUSTOMERS_DELTA, _CUSTOMER_CATEGORY_COLUMNS, select)
    cursor.execute(f"WITH added AS ({sql} RETURNING *), customers AS ({customers}) {days}", list(insert_params))


def category_facts_delete(cursor: CursorWrapper, where: str, params: Sequence[Any]) -> None:
    """Delete the category facts matching ``where`` (unqualified columns), noting them for the day sums until
    ``category_deltas_apply``."""
    _delete(cursor, SalesCategoryFact._meta.db_table, where, params, category=True)


def category_days_rebuild_sql(*, table: str | None = None, facts: str | None = None) -> tuple[str, list[Any]]:
    """INSERT ... SELECT of every category day sum (into a rebuild's twin tables)."""
    target = _q(table or SalesCategoryDay._meta.db_table)
    return f"INSERT INTO {target} ({_CATEGORY_COLUMNS}) {_category_select('1 = 1', sign=1, facts=facts)}", []


# --- Order day sums (SalesOrderDay) ---------------------------------------------------------------------------------

_ORDER_SUMS = ("total", "units", "orders", "repeat_day", "repeat_week", "repeat_channel_day", "repeat_channel_week")
_ORDER_KEY = "currency, day, channel, prev_month, prev_channel_month"
_ORDER_COLUMNS = f"{_ORDER_KEY}, {', '.join(_ORDER_SUMS)}"
_CUSTOMER_KEY = f"dimension, value, {_ORDER_KEY}"
_CUSTOMER_COLUMNS = f"{_CUSTOMER_KEY}, {', '.join(_ORDER_SUMS)}"


def _order_select(
    where: str, *, sign: int, facts: str | None = None, dimension: str | None = None, records: str | None = None
) -> str:
    """The order day sums of the order facts matching ``where``, times ``sign``; with ``dimension``, keyed by the
    buyers' value of it too, as recorded in ``records`` (``SalesCustomerDay``)."""
    table = _q(facts or SalesOrderFact._meta.db_table)
    previous, channel = previous_month("prev_day"), previous_month("prev_channel_day")
    monday = week_start("day")
    repeats = ", ".join(
        f"{sign} * SUM(CASE WHEN {chain} {test} THEN 1 ELSE 0 END) AS {name}"
        for chain, kind in (("prev_day", ""), ("prev_channel_day", "channel_"))
        for name, test in ((f"repeat_{kind}day", "= day"), (f"repeat_{kind}week", f">= {monday}"))
    )
    head, join, group = "", "", ""
    if dimension is not None:
        columns, join, value = per_customer(dimension, table, records)
        head, group = f"{columns}, ", f"{value}, "
    return (
        f"SELECT {head}currency, day, channel, {previous} AS prev_month, {channel} AS prev_channel_month,"
        f" {sign} * SUM(total) AS total, {sign} * SUM(units) AS units, {sign} * COUNT(*) AS orders, {repeats}"
        f" FROM {table}{join} WHERE {where} GROUP BY {group}currency, day, channel, {previous}, {channel}"
    )


def _customer_select(where: str, *, sign: int, facts: str | None = None, records: str | None = None) -> str:
    """``_order_select`` once per customer dimension (``where``'s parameters are given once per dimension)."""
    return " UNION ALL ".join(
        _order_select(where, sign=sign, facts=facts, dimension=dimension, records=records)
        for dimension in CustomerDimension
    )


def order_days_add(cursor: CursorWrapper, where: str, params: Sequence[Any], *, sign: int) -> None:
    """Add the order facts matching ``where`` (unqualified columns) to the day sums and to the customer day sums
    (by the buyers' recorded values), times ``sign``."""
    cursor.execute(
        upsert_sums(
            _q(SalesOrderDay._meta.db_table), _ORDER_COLUMNS, _ORDER_KEY, _ORDER_SUMS, _order_select(where, sign=sign)
        ),
        list(params),
    )
    customer_days_add(cursor, where, params, sign=sign)


def _customer_day_upsert(select: str) -> str:
    table = _q(SalesCustomerDay._meta.db_table)
    return upsert_sums(table, _CUSTOMER_COLUMNS, _CUSTOMER_KEY, _ORDER_SUMS, select)


def customer_days_add(cursor: CursorWrapper, where: str, params: Sequence[Any], *, sign: int) -> None:
    """Add the order facts matching ``where`` (unqualified columns) to the customer day sums only, times ``sign``."""
    select = _customer_select(where, sign=sign)
    cursor.execute(_customer_day_upsert(select), list(params) * len(CustomerDimension))


def order_facts_delete(cursor: CursorWrapper, where: str, params: Sequence[Any]) -> None:
    """Delete the order facts matching ``where`` (unqualified columns), taking them out of the day sums and the
    customer day sums."""
    _delete(cursor, SalesOrderFact._meta.db_table, where, params, category=False)


def _delete(cursor: CursorWrapper, facts: str, where: str, params: Sequence[Any], *, category: bool) -> None:
    add = category_days_add if category else order_days_add
    if connection.vendor != "postgresql":
        add(cursor, where, params, sign=-1)
        cursor.execute(f"DELETE FROM {_q(facts)} WHERE {where}", list(params))
        return
    # One pass over the facts (a buyer's facts lie on as many pages as rows): the deleted rows are summed as
    # they are returned.
    gone = f"WITH gone AS (DELETE FROM {_q(facts)} WHERE {where} RETURNING *)"
    if category:
        days = _delta_insert(_DAYS_DELTA, _CATEGORY_COLUMNS, _category_select("1 = 1", sign=-1, facts="gone"))
        select = _customer_category_select("1 = 1", sign=-1, facts="gone")
        customers = _delta_insert(_CUSTOMERS_DELTA, _CUSTOMER_CATEGORY_COLUMNS, select)
        cursor.execute(f"{gone}, customers AS ({customers}) {days}", list(params))
        return
    table = _q(SalesOrderDay._meta.db_table)
    upsert = upsert_sums(table, _ORDER_COLUMNS, _ORDER_KEY, _ORDER_SUMS, _order_select("1 = 1", sign=-1, facts="gone"))
    customers = _customer_day_upsert(_customer_select("1 = 1", sign=-1, facts="gone"))
    cursor.execute(f"{gone}, customers AS ({customers}) {upsert}", list(params))


def order_days_rebuild_sql(*, table: str | None = None, facts: str | None = None) -> tuple[str, list[Any]]:
    target = _q(table or SalesOrderDay._meta.db_table)
    return f"INSERT INTO {target} ({_ORDER_COLUMNS}) {_order_select('1 = 1', sign=1, facts=facts)}", []


def customer_days_rebuild_sql(
    *, table: str | None = None, facts: str | None = None, records: str | None = None
) -> tuple[str, list[Any]]:
    """INSERT ... SELECT of every customer day sum from the order facts and the customer records."""
    target = _q(table or SalesCustomerDay._meta.db_table)
    select = _customer_select("1 = 1", sign=1, facts=facts, records=records or SalesCustomerRecord._meta.db_table)
    return f"INSERT INTO {target} ({_CUSTOMER_COLUMNS}) {select}", []


def customer_categories_rebuild_sql(
    *, table: str | None = None, facts: str | None = None, records: str | None = None
) -> tuple[str, list[Any]]:
    """INSERT ... SELECT of every customer category month from the category facts and the customer records."""
    target = _q(table or SalesCustomerCategoryMonth._meta.db_table)
    records = records or SalesCustomerRecord._meta.db_table
    select = _customer_category_select("1 = 1", sign=1, facts=facts, records=records)
    return f"INSERT INTO {target} ({_CUSTOMER_CATEGORY_COLUMNS}) {select}", []
