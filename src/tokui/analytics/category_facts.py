"""Sales category facts: each counted order's lines summed per category, with the buyer's chain in that category.

The category figures of the sales analysis (category breakdown, category filter) used to read every line fact
joined to its product, with distinct counts of orders and buyers: 16-28 s for a year at 10M lines (ADR 0015).
These rows let them be plain sums like the order figures (ADR 0024): one row per (order, category), whose
``prev_day`` is the day of the buyer's previous order with a line in that category, so a period's buying
customers of a category are its rows whose previous order in the category lies before the period starts.

The category is the product's *current* one. The rows are derived from the line facts joined to the catalogue,
by ``sales_facts`` whenever it writes line facts (same transaction, same buyers) and in the nightly rebuild;
``SalesCategoryProduct`` records the category each product had when that happened. Before every report
``category_facts_catch_up`` compares it with the catalogue (one join of two small tables) and re-derives the rows
of the buyers of every product that moved, was deleted or is new, so a product moved in the admin, the API or an
import is counted in its new category at the next view. More orders than ``sales_facts.CATCH_UP_LIMIT`` (a
catalogue reorganised at once) are left to a rebuild in the worker, and the page says so meanwhile.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper

from tokui.analytics.models import (
    SalesCategoryFact,
    SalesCategoryProduct,
    SalesLineFact,
    SalesOrderFact,
)
from tokui.analytics.sales_days import category_facts_delete, category_facts_insert
from tokui.catalog.models import Category, Product
from tokui.commerce.models import OrderLine

_CHUNK = 500


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _roots() -> str:
    """``(id, root)`` of every category under a top-level one, as a subquery (a category caught in a loop of
    parents has none; UNION, not UNION ALL, so such a loop still ends)."""
    category = _q(Category._meta.db_table)
    return (
        f"(WITH RECURSIVE roots (id, root) AS (SELECT id, id FROM {category} WHERE parent_id IS NULL"
        f" UNION SELECT c.id, r.root FROM {category} c JOIN roots r ON c.parent_id = r.id) SELECT id, root FROM roots)"
    )


# Chains partitioned by a nullable id: NULL is its own partition, written 0 (ids start at 1) so it can be joined.
_NULLABLE_KEYS = frozenset({"category_id", "root_id"})


def earlier_rows(facts: str, buyers: Sequence[int], columns: Sequence[str]) -> tuple[str, list[Any]]:
    """`` WITH earlier AS (…)``: these buyers' rows left in ``facts`` (all before the rows being written) read
    once, to the last day of each ``columns`` partition (a nullable id as 0), for ``prior_days``."""
    keys = [f"COALESCE({column}, 0)" if column in _NULLABLE_KEYS else column for column in columns]
    select = ", ".join(f"{key} AS {column}" for key, column in zip(keys, columns, strict=True))
    sql = (
        f" WITH earlier AS (SELECT {select}, MAX(day) AS day FROM {facts}"
        f" WHERE buyer IN ({_placeholders(buyers)}) GROUP BY {', '.join(keys)})"
    )
    return sql, list(buyers)


def prior_days(alias: str, *, rows: str, only: str = "", key: str = "", channel: bool = False) -> str:
    """A LEFT JOIN of ``alias`` (buyer, currency[, key][, channel], day) to the rows being written (``rows``): the
    last day of each buyer's chain in ``earlier`` (``earlier_rows``) per the chain's partition (``key``: a nullable
    id column; ``only``: the partition's rows)."""
    columns = ["buyer", "currency", *([key] if key else []), *(["channel"] if channel else [])]
    on = " AND ".join(
        f"{alias}.{column} = " + (f"COALESCE({rows}.{column}, 0)" if column in _NULLABLE_KEYS else f"{rows}.{column}")
        for column in columns
    )
    where = f" WHERE {only}" if only else ""
    group = ", ".join(columns)
    return f" LEFT JOIN (SELECT {group}, MAX(day) AS day FROM earlier{where} GROUP BY {group}) {alias} ON {on}"


# The category chains: (the rows outside the chain, its partition, its prior_days partition).
_FIRST = '"first"'  # a keyword in both databases' grammars, quoted where it stands alone
_CHAINS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("", "g.category_id", {"key": "category_id"}),
    ("", "g.category_id, g.channel", {"key": "category_id", "channel": True}),
    (" OR g.rn <> 1", "g.rn", {"only": _FIRST}),
    (" OR g.rn <> 1", "g.rn, g.channel", {"only": _FIRST, "channel": True}),
    (" OR g.root_rn <> 1", "g.root_id, g.root_rn", {"only": "root_first", "key": "root_id"}),
    (
        " OR g.root_rn <> 1",
        "g.root_id, g.root_rn, g.channel",
        {"only": "root_first", "key": "root_id", "channel": True},
    ),
)


def categories_insert(
    where: str,
    params: Sequence[Any],
    *,
    table: str | None = None,
    lines: str | None = None,
    after: Sequence[int] | None = None,
) -> tuple[str, list[Any]]:
    """INSERT ... SELECT of the category facts of the line facts matching ``where`` (a condition on ``lf``).

    ``where`` must hold every order of each buyer it names (the chains are window functions over these rows),
    unless ``after`` names the buyers: then ``where`` holds each one's orders from some day on, the rows of theirs
    left in the table are all earlier, and each chain goes on from the last of those (ADR 38). The group's first
    line keys the row; the order's group holding its first line is its ``first`` row.
    """
    product = _q(Product._meta.db_table)
    facts = _q(table or SalesCategoryFact._meta.db_table)
    lag = (
        "CASE WHEN g.buyer IS NULL{extra} THEN NULL"
        " ELSE {prior}LAG(g.day) OVER (PARTITION BY g.currency, g.buyer, {partition} ORDER BY g.day, g.order_id){end}"
        " END"
    )
    if after is None:
        lags = [lag.format(extra=extra, partition=partition, prior="", end="") for extra, partition, _ in _CHAINS]
        prior_rows, joins, prior_params = "", "", list[Any]()
    else:
        lags = [
            lag.format(extra=extra, partition=partition, prior="COALESCE(", end=f", p{number}.day)")
            for number, (extra, partition, _) in enumerate(_CHAINS)
        ]
        joins = "".join(prior_days(f"p{n}", rows="g", **partition) for n, (_, _, partition) in enumerate(_CHAINS))
        # Read to the finest partition once; each chain's last day is the latest of its partitions'.
        finest = ("buyer", "currency", "category_id", "channel", _FIRST, "root_id", "root_first")
        prior_rows, prior_params = earlier_rows(facts, after, finest)
    sql = (
        f"INSERT INTO {facts}"
        " (line_id, order_id, category_id, day, channel, currency, company_id, contact_id, buyer, amount, units,"
        " prev_day, prev_channel_day, first, prev_order_day, prev_order_channel_day, root_id, root_first,"
        f" prev_root_day, prev_root_channel_day){prior_rows}"
        " SELECT g.line_id, g.order_id, g.category_id, g.day, g.channel, g.currency, g.company_id, g.contact_id,"
        f" g.buyer, g.amount, g.units, {lags[0]}, {lags[1]}, g.rn = 1, {lags[2]}, {lags[3]},"
        f" g.root_id, g.root_rn = 1, {lags[4]}, {lags[5]}"
        " FROM (SELECT MIN(lf.line_id) AS line_id, lf.order_id, p.category_id, lf.day, lf.channel, lf.currency,"
        " lf.company_id, lf.contact_id, lf.buyer, SUM(lf.amount) AS amount, SUM(lf.quantity) AS units,"
        " ROW_NUMBER() OVER (PARTITION BY lf.order_id ORDER BY MIN(lf.line_id)) AS rn, rt.root AS root_id,"
        " ROW_NUMBER() OVER (PARTITION BY lf.order_id, rt.root ORDER BY MIN(lf.line_id)) AS root_rn"
        f" FROM {_q(lines or SalesLineFact._meta.db_table)} lf LEFT JOIN {product} p ON p.id = lf.product_id"
        f" LEFT JOIN {_roots()} rt ON rt.id = p.category_id"
        f" WHERE {where}"
        " GROUP BY lf.order_id, p.category_id, rt.root, lf.day, lf.channel, lf.currency, lf.company_id,"
        f" lf.contact_id, lf.buyer) g{joins}"
        # A category's rows lie together, by day: a category filter reads few pages.
        " ORDER BY g.category_id, g.day, g.order_id"
    )
    return sql, [*prior_params, *params]


# The buyers of a ``since_where`` on PostgreSQL in at most this many groups, each with its earliest day.
_SINCE_GROUPS = 4


def since_where(since: Mapping[int, Any], buyers: Sequence[int]) -> tuple[str, list[Any]]:
    """The facts of these buyers from their day in ``since`` on (unqualified columns).

    On PostgreSQL each row's day is looked up by its buyer in one JSON object (orders inside their buyers'
    histories have as many days as buyers, and an OR of one IN list per day was tested term by term on every row:
    60 µs a row at 500 buyers). The buyers come in a few groups by day, each also bounded by its earliest day, so the
    (buyer, day) indexes skip the rows before it: new orders, all of today, read their buyers' rows of today alone,
    where the buyers' whole histories were read (12,700 rows from 10,600 pages a batch of 500 buyers, 0.22 s).
    Elsewhere one IN list per day."""
    if connection.vendor == "postgresql":
        ordered = sorted(buyers, key=lambda buyer: since[buyer])
        size = -(-len(ordered) // _SINCE_GROUPS) or 1
        groups = [ordered[i : i + size] for i in range(0, len(ordered), size)]
        days = json.dumps({str(buyer): since[buyer].isoformat() for buyer in buyers})
        parts, params = [], []
        for group in groups:
            parts.append(f"(buyer IN ({_placeholders(group)}) AND day >= %s)")
            params += [*group, since[group[0]]]
        bounded = " OR ".join(parts) or "1 = 0"
        return f"(({bounded}) AND day >= (%s::jsonb ->> buyer::text)::date)", [*params, days]
    by_day: dict[Any, list[int]] = {}
    for buyer in buyers:
        by_day.setdefault(since[buyer], []).append(buyer)
    parts, params = [], []
    for day, group in sorted(by_day.items()):
        parts.append(f"(day >= %s AND buyer IN ({_placeholders(group)}))")
        params += [day, *group]
    return " OR ".join(parts) or "1 = 0", params


def categories_rewrite(
    cursor: CursorWrapper,
    *,
    buyers: Iterable[int],
    buyerless_orders: Iterable[int],
    since: Mapping[int, Any] | None = None,
) -> None:
    """Rewrite the category facts of every order of ``buyers`` and of these orders without a buyer, from the
    line facts as they are now (call after writing those); the day sums follow.

    With ``since`` (buyer → the earliest day, old or new, of the orders just written) only each buyer's rows from
    that day on: an order changes only the chains after it, and the rows before it keep every column (ADR 0024).
    Buyers missing from ``since`` have no row to change.
    """
    order_facts = _q(SalesOrderFact._meta.db_table)
    ordered = sorted(set(buyers) if since is None else set(buyers) & set(since))
    for chunk in (ordered[i : i + _CHUNK] for i in range(0, len(ordered), _CHUNK)):
        mine = f"buyer IN ({_placeholders(chunk)})"
        # Through the order facts' buyer index: the line facts have none.
        every = f"lf.order_id IN (SELECT order_id FROM {order_facts} WHERE {mine})"
        if since is None:
            categories_delete(cursor, mine, chunk)
            category_facts_insert(cursor, categories_insert(every, chunk), mine, chunk)
            continue
        later, later_params = since_where(since, chunk)
        categories_delete(cursor, later, later_params)
        # Only the rows from each buyer's day on are worked out, going on from the rows before it (ADR 38).
        written = f"lf.order_id IN (SELECT order_id FROM {order_facts} WHERE {later})"
        insert = categories_insert(written, later_params, after=chunk)
        category_facts_insert(cursor, insert, later, later_params)
    orders = sorted(set(buyerless_orders))
    for chunk in (orders[i : i + _CHUNK] for i in range(0, len(orders), _CHUNK)):
        categories_delete(cursor, f"order_id IN ({_placeholders(chunk)})", chunk)
        insert = categories_insert(f"lf.buyer IS NULL AND lf.order_id IN ({_placeholders(chunk)})", chunk)
        category_facts_insert(cursor, insert, f"buyer IS NULL AND order_id IN ({_placeholders(chunk)})", chunk)


def categories_delete(cursor: CursorWrapper, where: str, params: Sequence[Any]) -> None:
    """Delete the category facts matching ``where`` (unqualified columns), taking them out of the day sums."""
    category_facts_delete(cursor, where, params)


def products_recorded_sql(*, table: str | None = None) -> str:
    """Record every product's current category (and its top-level one) as those the category facts are written
    with."""
    return (
        f"INSERT INTO {_q(table or SalesCategoryProduct._meta.db_table)} (product_id, category_id, root_id)"
        f" SELECT p.id, p.category_id, rt.root FROM {_q(Product._meta.db_table)} p"
        f" LEFT JOIN {_roots()} rt ON rt.id = p.category_id"
    )


def moved_products() -> list[int]:
    """Products whose category, or its top-level category, differs from the one recorded (new products, deleted
    ones, and those under a category moved to another top-level one included)."""
    product, recorded = _q(Product._meta.db_table), _q(SalesCategoryProduct._meta.db_table)

    def same(a: str, b: str) -> str:
        return f"({a} = {b} OR ({a} IS NULL AND {b} IS NULL))"

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id FROM {product} p LEFT JOIN {recorded} r ON r.product_id = p.id"
            f" LEFT JOIN {_roots()} rt ON rt.id = p.category_id"
            f" WHERE r.product_id IS NULL OR NOT {same('p.category_id', 'r.category_id')}"
            f" OR NOT {same('rt.root', 'r.root_id')}"
            f" UNION SELECT r.product_id FROM {recorded} r LEFT JOIN {product} p ON p.id = r.product_id"
            " WHERE p.id IS NULL"
        )
        return sorted(int(row[0]) for row in cursor.fetchall())


def affected_orders(cursor: CursorWrapper, product_ids: Sequence[int]) -> tuple[set[int], set[int]]:
    """``(buyers, orders without a buyer)`` with a line of these products (deleted products: their line facts)."""
    order_facts, line_facts = _q(SalesOrderFact._meta.db_table), _q(SalesLineFact._meta.db_table)
    existing = set(Product.objects.filter(pk__in=product_ids).values_list("pk", flat=True))
    buyers: set[int] = set()
    buyerless: set[int] = set()
    ids = sorted(product_ids)
    for chunk in (ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)):
        live = [pk for pk in chunk if pk in existing]
        gone = [pk for pk in chunk if pk not in existing]
        queries = []
        if live:  # the order lines' product index
            lines = _q(OrderLine._meta.db_table)
            queries.append(
                (
                    f"SELECT DISTINCT f.buyer, f.order_id FROM {lines} l"
                    f" JOIN {order_facts} f ON f.order_id = l.order_id"
                    f" WHERE l.product_id IN ({_placeholders(live)})",
                    live,
                )
            )
        if gone:  # a deleted product's lines lost it; the line facts still name it (a rare, full read)
            queries.append(
                (f"SELECT DISTINCT buyer, order_id FROM {line_facts} WHERE product_id IN ({_placeholders(gone)})", gone)
            )
        for sql, params in queries:
            cursor.execute(sql, params)
            for buyer, order_id in cursor.fetchall():
                if buyer is None:
                    buyerless.add(int(order_id))
                else:
                    buyers.add(int(buyer))
    return buyers, buyerless


def products_record(cursor: CursorWrapper, product_ids: Sequence[int]) -> None:
    recorded = _q(SalesCategoryProduct._meta.db_table)
    ids = sorted(product_ids)
    for chunk in (ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)):
        cursor.execute(f"DELETE FROM {recorded} WHERE product_id IN ({_placeholders(chunk)})", chunk)
        cursor.execute(f"{products_recorded_sql()} WHERE p.id IN ({_placeholders(chunk)})", chunk)
