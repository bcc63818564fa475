"""The buyers' chains on the line facts, per product and per order (ADR 0041).

A product's buyers over a period are the (order, product) rows whose buyer's previous order containing the product
lies before the period starts, as for orders (ADR 0015) and categories (ADR 0024). The line facts carry that chain:

- ``product_first`` marks the first line (by id) of each product in its order — lines without a product are
  product 0, the "no longer in the catalogue" row — so a product's orders are its first lines;
- ``prev_product_day`` is the day of the buyer's previous order containing the product (same currency; ties on a
  day broken by order id), ``prev_product_channel_day`` the same within the order's channel. Every line of the
  (order, product) carries the same days, so sums per product and previous month need no grouping by order;
- ``order_first`` marks the order's first line, which carries the chain of the buyer's orders with any line
  (``prev_order_day``, ``prev_order_channel_day``): the figures over every line of a product page, without
  reading the category facts.

The nightly rebuild works the chains out while it writes the lines (``chained``). The order-fact consumer writes the
lines of the orders it refreshes without them and then sets, for each buyer from the earliest day it touched, the
days that are not what the chain says (``line_chains_fix``): an order changes only the next purchase of each of its
products and the buyer's next order, so a few rows change where the whole history would be rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper

from tokui.analytics.category_facts import since_where
from tokui.analytics.sales_models import SalesLineFact

# (column, the lines it is worked out on, the chain's partition beyond currency and buyer, spread over the
# product's lines of the order): the product chains are read with every line of the product (the sums group lines,
# not orders), the order chains only on the order's first line.
_CHAINS = (
    ("prev_product_day", "pf", "x.product_key", True),
    ("prev_product_channel_day", "pf", "x.product_key, x.channel", True),
    ("prev_order_day", "ofl", "", False),
    ("prev_order_channel_day", "ofl", "x.channel", False),
)
CHAIN_COLUMNS = tuple(name for name, *_rest in _CHAINS)
# Buyers named per statement.
_CHUNK = 500


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def chained(rows: str, *, earlier: str | None = None) -> str:
    """``rows`` (a subquery with at least ``line_id, order_id, day, channel, currency, buyer, product_key`` and the
    flags ``pf``, the line is its product's first in its order, and ``ofl``, its order's first) with the chain
    columns added (``CHAIN_COLUMNS``), as a subquery of every column of ``rows`` and those.

    ``rows`` must hold every line of each buyer it names (the chains are window functions over them), unless
    ``earlier`` names a table or CTE of the last day of these buyers' other lines, all before theirs in ``rows``, per
    (currency, buyer, product_key, channel, pf, ofl): each chain then goes on from those (ADR 38). Each lag runs over
    the flagged lines only (the others are their own partition)."""
    lags, joins = [], []
    for n, (_name, flag, partition, _spread) in enumerate(_CHAINS):
        lag = (
            f"LAG(x.day) OVER (PARTITION BY x.currency, x.buyer{', ' + partition if partition else ''}, x.{flag}"
            " ORDER BY x.day, x.order_id)"
        )
        if earlier is not None:
            keys = ["currency", "buyer", *(column.removeprefix("x.") for column in partition.split(", ") if column)]
            on = " AND ".join(f"e{n}.{key} = x.{key}" for key in keys)
            joins.append(
                f" LEFT JOIN (SELECT {', '.join(keys)}, MAX(day) AS day FROM {earlier} WHERE {flag}"
                f" GROUP BY {', '.join(keys)}) e{n} ON {on}"
            )
            lag = f"COALESCE({lag}, e{n}.day)"
        lags.append(f"CASE WHEN x.{flag} AND x.buyer IS NOT NULL THEN {lag} END AS p{n}")
    columns = ", ".join(
        f"MAX(y.p{n}) OVER (PARTITION BY y.order_id, y.product_key) AS {name}" if spread else f"y.p{n} AS {name}"
        for n, (name, _flag, _partition, spread) in enumerate(_CHAINS)
    )
    return f"(SELECT y.*, {columns} FROM (SELECT x.*, {', '.join(lags)} FROM ({rows}) x{''.join(joins)}) y)"


def _distinct(a: str, b: str) -> str:
    """``a`` and ``b`` differ, NULL being a value (PostgreSQL's IS DISTINCT FROM, SQLite's IS NOT)."""
    return f"{a} IS DISTINCT FROM {b}" if connection.vendor == "postgresql" else f"{a} IS NOT {b}"


def earlier_lines(since: Mapping[int, Any], buyers: Sequence[int]) -> tuple[str, list[Any]]:
    """`` WITH earlier AS (…)``: the last day of these buyers' line facts before their day in ``since``, per
    (currency, buyer, product_key, channel, pf, ofl), for ``chained(rows, earlier="earlier")``."""
    table = _q(SalesLineFact._meta.db_table)
    if not buyers:
        mine, params = "1 = 0", []
    else:
        later, later_params = since_where(since, buyers)
        mine, params = f"buyer IN ({', '.join(['%s'] * len(buyers))}) AND NOT ({later})", [*buyers, *later_params]
    sql = (
        " WITH earlier AS (SELECT currency, buyer, COALESCE(product_id, 0) AS product_key, channel,"
        f" product_first AS pf, order_first AS ofl, MAX(day) AS day FROM {table} WHERE {mine}"
        " GROUP BY currency, buyer, COALESCE(product_id, 0), channel, product_first, order_first)"
    )
    return sql, params


def buyers_with_lines(cursor: CursorWrapper, *, since: Mapping[int, Any], buyers: Sequence[int]) -> set[int]:
    """Those of these buyers with line facts from their day in ``since`` on."""
    table = _q(SalesLineFact._meta.db_table)
    found: set[int] = set()
    for chunk in (buyers[i : i + _CHUNK] for i in range(0, len(buyers), _CHUNK)):
        later, later_params = since_where(since, chunk)
        cursor.execute(f"SELECT DISTINCT buyer FROM {table} WHERE {later}", later_params)
        found.update(int(row[0]) for row in cursor.fetchall())
    return found


def line_chains_fix(cursor: CursorWrapper, *, since: Mapping[int, Any], buyers: Sequence[int]) -> None:
    """Set the chain days of these buyers' line facts from each one's day in ``since`` on to what their chains
    say now (call after writing their lines); only the rows whose days differ are written.

    The chains are worked out over those rows alone, going on from the last day of each partition before them
    (ADR 38): window functions over the buyers' whole histories took 0.15-0.2 s a batch of 500 new orders, most of
    it sorting rows whose chains stay as they are."""
    if not buyers:
        return
    table = _q(SalesLineFact._meta.db_table)
    later, later_params = since_where(since, buyers)
    rows = (
        "SELECT line_id, order_id, day, channel, currency, buyer, COALESCE(product_id, 0) AS product_key,"
        f" product_first AS pf, order_first AS ofl FROM {table} WHERE {later}"
    )
    earlier, earlier_params = earlier_lines(since, buyers)
    differs = " OR ".join(_distinct(f"{table}.{name}", f"c.{name}") for name in CHAIN_COLUMNS)
    cursor.execute(
        f"{earlier} UPDATE {table} SET {', '.join(f'{name} = c.{name}' for name in CHAIN_COLUMNS)}"
        f" FROM (SELECT * FROM {chained(rows, earlier='earlier')} z) c"
        f" WHERE {table}.line_id = c.line_id AND ({differs})",
        [*earlier_params, *later_params],
    )
