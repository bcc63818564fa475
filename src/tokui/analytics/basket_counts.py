"""Products bought together, counted in arrays: every pair of every order in one pass of NumPy.

The SQL way (each order's products joined with themselves, grouped) makes PostgreSQL hash tens of millions of
joined rows: 45 s for the pairs of 1,000,000 orders here. The same count over arrays: the scope's (order,
product) rows leave the database once — by a binary ``COPY`` on PostgreSQL, whose fixed-width rows NumPy reads
without a Python loop — are sorted and made distinct in one sort of a combined key, and each order's pairs are
generated position by position (all orders at once for the 1st partner, then the 2nd, …, so the work is the
number of pairs, not orders × the largest order). Pairs are then counted by ``np.bincount`` (few products) or by
sorting. Thresholds, ratios and the ranking run on arrays too; only the pairs shown become objects.

Figures are integers until the last division, which divides the exact products (``t × N`` and ``a × b``) as
floats, correctly rounded as Python's own ``int / int`` (below 2**53): a threshold at exactly 1.0 holds the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection

# A binary COPY row of two non-null bigints: field count, then (length, value) twice; big-endian.
_COPY_ROW = np.dtype([("fields", ">i2"), ("len_a", ">i4"), ("a", ">i8"), ("len_b", ">i4"), ("b", ">i8")])
_COPY_HEADER = 19  # signature (11), flags (4), header extension length (4)
_COPY_TRAILER = 2
# Pairs are counted in a dense products × products table up to this many cells (200 MB of int64), else sorted.
_DENSE_CELLS = 25_000_000


@dataclass(frozen=True, slots=True)
class PairCounts:
    """Every pair of products in scope bought together in at least ``floor`` orders, with the item counts."""

    orders_total: int
    floor: int
    product_a: np.ndarray  # product ids, a < b
    product_b: np.ndarray
    together: np.ndarray  # orders with both
    orders_a: np.ndarray  # orders with a
    orders_b: np.ndarray


def _rows_postgresql(sql: str, params: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    select = f"SELECT s.order_id::int8, s.product_id::int8 FROM ({sql}) s"
    statement = f"COPY ({select}) TO STDOUT (FORMAT BINARY)"
    with connection.cursor() as cursor, cursor.cursor.copy(statement, params) as copy:
        data = b"".join(bytes(block) for block in copy)
    count = (len(data) - _COPY_HEADER - _COPY_TRAILER) // _COPY_ROW.itemsize
    if count <= 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rows = np.frombuffer(data, dtype=_COPY_ROW, count=count, offset=_COPY_HEADER)
    return rows["a"].astype(np.int64), rows["b"].astype(np.int64)


def _rows_generic(sql: str, params: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 2)
    return found[:, 0], found[:, 1]


def scope_rows(sql: str, params: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """The (order_id, product_id) rows of ``sql`` as two arrays (duplicates and any order allowed)."""
    if connection.vendor == "postgresql":
        return _rows_postgresql(sql, params)
    return _rows_generic(sql, params)


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    # ``np.unique`` of NumPy 2 hashes and then sorts: ten times slower here than one sort and a comparison.
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if ordered.size else ordered


def _dense(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ids (ascending) and each value's position among them: by a table over the id range when it is
    not much larger than the data (no sort), else by sorting."""
    low, high = int(values.min()), int(values.max())
    span = high - low + 1
    if span <= 4 * values.size + 1_000_000:
        present = np.zeros(span, dtype=bool)
        present[values - low] = True
        position = np.cumsum(present, dtype=np.int64) - 1
        return np.flatnonzero(present).astype(np.int64) + low, position[values - low]
    ids = _distinct_sorted(values)
    return ids, np.searchsorted(ids, values).astype(np.int64)


def pair_counts(
    orders: np.ndarray,
    products: np.ndarray,
    *,
    floor: int | Callable[[int], int],
    dense_cells: int = _DENSE_CELLS,
) -> PairCounts:
    """Count the pairs of the order lines given as (order id, product id) arrays, keeping those bought together in
    at least ``floor`` orders (or ``floor(orders in scope)``, for a floor set by a share of the orders)."""
    empty = np.empty(0, np.int64)
    if orders.size == 0:
        return PairCounts(0, floor(0) if callable(floor) else floor, empty, empty, empty, empty, empty)
    product_ids, product_index = _dense(products)
    width = np.int64(product_ids.size)
    # One sort makes the rows distinct and groups them by order, products ascending inside each order.
    order_ids, order_index = _dense(orders)
    keys = _distinct_sorted(order_index * width + product_index)
    line_order, line_product = keys // width, keys % width
    orders_total = int(order_ids.size)
    floor = int(floor(orders_total)) if callable(floor) else floor
    items = np.bincount(line_product, minlength=int(width)).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, line_order[1:] != line_order[:-1]])
    sizes = np.diff(np.r_[starts, line_order.size])
    # For each line: how many lines of the same order come after it.
    after = np.repeat(starts + sizes, sizes) - np.arange(line_order.size) - 1
    firsts, seconds = [], []
    positions, step = np.flatnonzero(after >= 1), 1
    while positions.size:
        firsts.append(line_product[positions])
        seconds.append(line_product[positions + step])
        step += 1
        positions = positions[after[positions] >= step]
    if not firsts:
        return PairCounts(orders_total, floor, empty, empty, empty, empty, empty)
    pair_keys = np.concatenate(firsts) * width + np.concatenate(seconds)
    if int(width) ** 2 <= dense_cells:
        table = np.bincount(pair_keys, minlength=int(width) ** 2)
        found = np.flatnonzero(table >= floor)
        together = table[found]
    else:
        ordered = np.sort(pair_keys)
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        found, together = ordered[starts], np.diff(np.r_[starts, ordered.size])
        kept = together >= floor
        found, together = found[kept], together[kept]
    index_a, index_b = found // width, found % width
    return PairCounts(
        orders_total=orders_total,
        floor=floor,
        product_a=product_ids[index_a],
        product_b=product_ids[index_b],
        together=together.astype(np.int64),
        orders_a=items[index_a],
        orders_b=items[index_b],
    )


def ranked_pairs(
    counts: PairCounts, *, min_confidence: float, min_lift: float, order_by: str, limit: int
) -> np.ndarray:
    """Indexes into ``counts`` of the pairs passing the thresholds, best first by ``order_by`` (ties: the lower
    product ids first), at most ``limit``."""
    together, total = counts.together, np.int64(counts.orders_total)
    confidence = np.maximum(together / counts.orders_a, together / counts.orders_b)
    lift = (together * total) / (counts.orders_a * counts.orders_b)
    kept = np.flatnonzero((confidence >= min_confidence) & (lift >= min_lift))
    support = together / total
    primary, secondary = {
        "support": (support, lift),
        "confidence": (confidence, together),
        "lift": (lift, together),
    }.get(order_by, (together, lift))
    order = np.lexsort(
        (counts.product_b[kept], counts.product_a[kept], -secondary[kept], -primary[kept])  # last key sorts first
    )
    return kept[order[:limit]]
