"""Products bought together, counted in arrays: every pair of every order in one pass of NumPy.

The SQL way (each order's products joined with themselves, grouped) makes PostgreSQL hash tens of millions of
joined rows: 45 s for the pairs of 1,000,000 orders here. The same count over arrays: the scope's (order,
product) rows leave the database once — on PostgreSQL as two bytea the server concatenates (ADR 0027),
which NumPy reads without a Python loop — are sorted and made distinct in one sort of a combined key, and each
order's pairs are generated position by position (all orders at once for the 1st partner, then the 2nd, …, so
the work is the number of pairs, not orders × the largest order). Pairs are then counted by ``np.bincount``
(few products) or by sorting. Thresholds, ratios and the ranking run on arrays too; only the pairs shown become objects.

Figures are integers until the last division, which divides the exact products (``t × N`` and ``a × b``) as
floats, correctly rounded as Python's own ``int / int`` (below 2**53): a threshold at exactly 1.0 holds the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import DataError, OperationalError, connection, transaction
from django.db.backends.utils import CursorWrapper

from tokui.analytics.pg_copy import COPY_SIGNATURE, COPY_TRAILER, concatenated, copy_out, int64_values, sent_int8
from tokui.analytics.pg_parallel import beside_second_connection, join_snapshot, shared_snapshot
from tokui.catalog.models import Product

# A binary COPY row of two non-null bigints: field count, then (length, value) twice; big-endian.
_COPY_ROW = np.dtype([("fields", ">i2"), ("len_a", ">i4"), ("a", ">i8"), ("len_b", ">i4"), ("b", ">i8")])
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


def _rows_copied(sql: str, params: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    select = f"SELECT s.order_id::int8, s.product_id::int8 FROM ({sql}) s"
    statement = f"COPY ({select}) TO STDOUT (FORMAT BINARY)"
    with connection.cursor() as cursor:
        data = copy_out(cursor, statement, params)
    count = (len(data) - len(COPY_SIGNATURE) - len(COPY_TRAILER)) // _COPY_ROW.itemsize
    if count <= 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rows = np.frombuffer(data, dtype=_COPY_ROW, count=count, offset=len(COPY_SIGNATURE))
    return rows["a"].astype(np.int64), rows["b"].astype(np.int64)


def _aggregate(cursor: Any, select: str, params: list[Any]) -> tuple[Any, ...]:
    cursor.execute(select, params)
    return tuple(cursor.fetchone())


def _rows_aggregated(sql: str, params: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """The orders and the products as bytea of big-endian int64 concatenated by the server: one or two values
    instead of a message per row (a ``COPY`` sends each row as a message, and reading 3.4M of them took 3-10 s in
    Python, the whole page's budget several times over; the server's aggregate takes under a second).

    Each row goes as one int64 where it can — the order id shifted left by the bits of the largest product id,
    plus the product id — which halves the server's aggregate work (int8send and the append cost per value). The
    same statement returns the largest product id it packed: one above the catalogue's largest (a line of a
    deleted product) or an order id too large to shift makes the read go again with two values a row."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")  # compiling the one big aggregate costs more than it saves
        cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(Product._meta.db_table)}")
        shift = max(int(cursor.fetchone()[0] or 0).bit_length(), 1)
        packed = (
            f"SELECT {concatenated([sent_int8(f's.order_id::int8 * {1 << shift} + s.product_id')])},"
            f" MAX(s.product_id) FROM ({sql}) s"
        )
        try:
            with transaction.atomic():
                data, top = _aggregate(cursor, packed, params)
        except DataError:  # an order id times the product width past int64
            data, top = None, 1 << shift
        if top is None:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        if int(top) < 1 << shift:
            keys = int64_values(data)
            return keys >> np.int64(shift), keys & np.int64((1 << shift) - 1)
        orders, products = _aggregate(
            cursor,
            f"SELECT {concatenated([sent_int8('s.order_id'), sent_int8('s.product_id')])} FROM ({sql}) s",
            params,
        )
    if not orders:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return int64_values(orders), int64_values(products)


def _rows_postgresql(sql: str, params: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    try:
        return _rows_aggregated(sql, params)
    except OperationalError:
        # More than a bytea holds (1 GB, some 60M lines): row by row instead.
        return _rows_copied(sql, params)


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


def scope_rows_in_halves(first: tuple[str, list[Any]], second: tuple[str, list[Any]]) -> tuple[np.ndarray, np.ndarray]:
    """The rows of two scopes with no row in common (a period's two halves), as ``scope_rows`` of their union.

    On PostgreSQL outside a transaction the second half is read by a second connection meanwhile, at the same
    snapshot: the server's aggregate runs on one core a statement, so two halves at once take about half the
    time on two cores (ADR 0033)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        halves = [scope_rows(*first), scope_rows(*second)]
    else:
        found: list[tuple[np.ndarray, np.ndarray]] = []
        with transaction.atomic(), connection.cursor() as cursor:
            snapshot = shared_snapshot(cursor)

            def read_second(their: CursorWrapper) -> None:
                join_snapshot(their, snapshot)
                found.append(_rows_postgresql(*second))  # on this thread's connection, ``their``'s

            beside_second_connection(
                lambda: found.append(_rows_postgresql(*first)), read_second, failure=[], name="basket-read"
            )
        halves = found
    return np.concatenate([half[0] for half in halves]), np.concatenate([half[1] for half in halves])


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    # ``np.unique`` of NumPy 2 hashes and then sorts: ten times slower here than one sort and a comparison.
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if ordered.size else ordered


def _position_type(size: int) -> type[np.signedinteger[Any]]:
    # Positions (of products, of orders) in half the memory where they fit: every array of 5M lines is paid for
    # page by page when it is first written, and the pairs' generation reads them over and over.
    return np.int32 if size < 2**31 else np.int64


def _dense(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ids (ascending) and each value's position among them: by a table over the id range when it is
    not much larger than the data (no sort), else by sorting."""
    low, high = int(values.min()), int(values.max())
    span = high - low + 1
    if span <= 4 * values.size + 1_000_000:
        present = np.zeros(span, dtype=bool)
        present[values - low] = True
        position = np.cumsum(present, dtype=_position_type(values.size)) - 1
        return np.flatnonzero(present).astype(np.int64) + low, position[values - low]
    ids = _distinct_sorted(values)
    return ids, np.searchsorted(ids, values).astype(_position_type(values.size))


def _grouped_lines(orders: np.ndarray, product_index: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Each distinct line's order number and product position without a sort, when the rows came grouped by order
    with the products ascending inside each order — as PostgreSQL reads them from the basket index (day, order,
    product) and the day packs hold them — else ``None``. Checked, not assumed: every order in one run, each run
    ascending. Sorting 5M keys took a third of a second; the check takes a few passes."""
    same_order = orders[1:] == orders[:-1]
    if np.any(same_order & (product_index[1:] < product_index[:-1])):
        return None
    low, high = int(orders.min()), int(orders.max())
    if high - low > 4 * orders.size + 1_000_000:
        return None  # too sparse for a table of the orders: sorted instead
    present = np.zeros(high - low + 1, dtype=bool)
    present[orders - low] = True
    if int(np.count_nonzero(present)) != orders.size - int(np.count_nonzero(same_order)):
        return None  # an order in two runs
    kept = np.r_[True, ~same_order | (product_index[1:] != product_index[:-1])]  # a product twice in an order: once
    line_order = np.cumsum(np.r_[True, ~same_order], dtype=_position_type(orders.size)) - 1
    return line_order[kept], product_index[kept]


def _sorted_lines(orders: np.ndarray, product_index: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct line's order number and product position, by one sort of a combined key. The key puts the
    product in the low bits (not ``order × width + product``): a shift and a mask split it again where an int64
    division took longer than the sort. The orders need no dense ids first: numbered in the sorted keys."""
    shift = max(int(width - 1).bit_length(), 1)
    low = int(orders.min())
    if (int(orders.max()) - low) >> (62 - shift):
        _, order_index = _dense(orders)  # ids too far apart for the key: dense positions first
        order_index = order_index.astype(np.int64)
    else:
        order_index = orders - low
    keys = _distinct_sorted((order_index << np.int64(shift)) | product_index)
    grouped = keys >> np.int64(shift)
    line_order = np.cumsum(np.r_[True, grouped[1:] != grouped[:-1]], dtype=_position_type(keys.size)) - 1
    return line_order, (keys & np.int64((1 << shift) - 1)).astype(product_index.dtype)


@dataclass(frozen=True, slots=True)
class BasketLines:
    """The scope's distinct (order, product) lines as dense positions, grouped by order, products ascending."""

    orders_total: int
    product_ids: np.ndarray  # position → product id (ascending)
    line_order: np.ndarray
    line_product: np.ndarray
    items: np.ndarray  # orders with each product, by position


def basket_lines(orders: np.ndarray, products: np.ndarray) -> BasketLines:
    """Read once, shared by the pairs and the sets of a page: the rows made distinct and grouped by order, products
    ascending inside each order — as they came from the database when they did (``_grouped_lines``), else sorted."""
    empty = np.empty(0, np.int64)
    if orders.size == 0:
        return BasketLines(0, empty, empty, empty, empty)
    product_ids, product_index = _dense(products)
    found = _grouped_lines(orders, product_index)
    line_order, line_product = found or _sorted_lines(orders, product_index, product_ids.size)
    items = np.bincount(line_product, minlength=product_ids.size).astype(np.int64)
    return BasketLines(int(line_order[-1]) + 1, product_ids, line_order, line_product, items)


def _after(line_order: np.ndarray) -> np.ndarray:
    """For each line: how many lines of the same order come after it."""
    kind = _position_type(line_order.size)
    starts = np.flatnonzero(np.r_[True, line_order[1:] != line_order[:-1]]).astype(kind)
    sizes = np.diff(np.r_[starts, kind(line_order.size)])
    ends = np.repeat(starts + sizes, sizes)
    ends -= np.arange(1, line_order.size + 1, dtype=kind)
    return ends


def _run_lengths(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ordered = np.sort(keys)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], np.diff(np.r_[starts, ordered.size])


def pair_counts(lines: BasketLines, *, floor: int, dense_cells: int = _DENSE_CELLS) -> PairCounts:
    """The pairs of ``lines`` bought together in at least ``floor`` orders (a floor set by a share of the orders is
    resolved by ``basket.BasketScope.pairs``, which knows the orders in scope)."""
    empty = np.empty(0, np.int64)
    orders_total = lines.orders_total
    if not orders_total:
        return PairCounts(0, floor, empty, empty, empty, empty, empty)
    width = int(lines.product_ids.size)
    line_product, after = lines.line_product, _after(lines.line_order)
    keys = np.empty(int(after.sum()), dtype=np.int64)  # one per pair of lines of an order
    if keys.size == 0:
        return PairCounts(orders_total, floor, empty, empty, empty, empty, empty)
    # Counted in a table, the key of (a, b) is its cell in the triangle of the a < b pairs: half the memory of the
    # square, and a fresh table costs a page fault a page (row a's cells begin at ``begins[a]``). Sorted, a × width + b.
    rows = np.arange(width, dtype=np.int64)
    begins = rows * (2 * width - rows - 1) // 2
    dense = width * (width - 1) // 2 <= dense_cells
    offsets = begins - rows - 1 if dense else rows * width
    # Written in place step by step (not collected and concatenated: another copy of every key).
    at, positions, step = 0, np.flatnonzero(after >= 1), 1
    while positions.size:
        keys[at : at + positions.size] = offsets[line_product[positions]] + line_product[positions + step]
        at += positions.size
        step += 1
        positions = positions[after[positions] >= step]
    if dense:
        table = np.bincount(keys, minlength=width * (width - 1) // 2)
        found = np.flatnonzero(table >= floor)
        together = table[found]
        index_a = np.searchsorted(begins, found, side="right") - 1
        index_b = found - begins[index_a] + index_a + 1
    else:
        found, together = _run_lengths(keys)
        kept = together >= floor
        found, together = found[kept], together[kept]
        index_a, index_b = found // width, found % width
    return PairCounts(
        orders_total=orders_total,
        floor=floor,
        product_a=lines.product_ids[index_a],
        product_b=lines.product_ids[index_b],
        together=together.astype(np.int64),
        orders_a=lines.items[index_a],
        orders_b=lines.items[index_b],
    )


def pairs_at_least(counts: PairCounts, floor: int) -> PairCounts:
    """The pairs of ``counts`` bought together in at least ``floor`` orders (``floor`` not below theirs)."""
    if floor < counts.floor:
        raise ValueError("pairs under the floor they were counted with are not in them")
    kept = counts.together >= floor
    return PairCounts(
        orders_total=counts.orders_total,
        floor=floor,
        product_a=counts.product_a[kept],
        product_b=counts.product_b[kept],
        together=counts.together[kept],
        orders_a=counts.orders_a[kept],
        orders_b=counts.orders_b[kept],
    )


@dataclass(frozen=True, slots=True)
class TripleCounts:
    products: np.ndarray  # (n, 3) product ids, ascending in each row
    together: np.ndarray  # orders with all three
    orders_each: np.ndarray  # (n, 3) orders with each product


def _membership(keys: np.ndarray, cells: int, dense_cells: int) -> Callable[[np.ndarray], np.ndarray]:
    """A test of whether each of some keys (below ``cells``) is among ``keys``: a table when it is small enough,
    else a binary search of the sorted keys."""
    if cells <= dense_cells:
        table = np.zeros(cells, dtype=bool)
        table[keys] = True
        return lambda asked: table[asked]
    ordered = np.sort(keys)
    last = ordered.size - 1

    def search(asked: np.ndarray) -> np.ndarray:
        found: np.ndarray = ordered[np.minimum(np.searchsorted(ordered, asked), last)] == asked
        return found

    return search


# Three positions below this make one int64 key (position³ < 2**63); more (never in a real catalogue) are sorted
# as a pair key and a third position.
_TRIPLE_KEY_WIDTH = 2**21


_NO_SETS = TripleCounts(np.empty((0, 3), np.int64), np.empty(0, np.int64), np.empty((0, 3), np.int64))
# The first floor tried for the most frequent sets is the count of the pair ranked this many times the sets asked
# for; each floor after it, of a pair this many times further down.
_TRIAL_RANK_STEP = 8


def triple_counts(
    lines: BasketLines,
    pairs: PairCounts,
    *,
    floor: int,
    limit: int,
    dense_cells: int = _DENSE_CELLS,
    key_width: int = _TRIPLE_KEY_WIDTH,
    rank_step: int = _TRIAL_RANK_STEP,
) -> TripleCounts:
    """The ``limit`` sets of three products bought together most often, in at least ``floor`` orders, whose three
    pairs are each in ``pairs`` (a set cannot be more frequent than its pairs); ties by product ids.

    Only the most frequent are asked for, so the count starts at a high floor: sets in at least T orders are made
    only of pairs in at least T orders, a small part of the lines. When at least ``limit`` sets reach T, they are
    exactly the best (every set left out is in fewer than T orders); else T is lowered, down to ``floor``. At
    3M orders the year's sets took 0.6-1.1 s counted at the floor of 3 orders, and 0.1 s from the pairs' top.
    """
    if pairs.together.size == 0 or limit <= 0:
        return _NO_SETS
    by_count = np.sort(pairs.together)[::-1]
    rank_step = max(rank_step, 2)
    rank = limit * rank_step
    while rank < by_count.size:
        trial = int(by_count[rank - 1])
        if trial <= floor:
            break
        found, reaching = _triples_at_least(
            lines, pairs_at_least(pairs, trial), floor=trial, limit=limit, dense_cells=dense_cells, key_width=key_width
        )
        if reaching >= limit:
            return found
        rank *= rank_step
    found, _ = _triples_at_least(lines, pairs, floor=floor, limit=limit, dense_cells=dense_cells, key_width=key_width)
    return found


def _triples_at_least(
    lines: BasketLines, pairs: PairCounts, *, floor: int, limit: int, dense_cells: int, key_width: int
) -> tuple[TripleCounts, int]:
    """The ``limit`` best sets of three in at least ``floor`` orders whose pairs are all in ``pairs``, and how
    many sets reach ``floor`` in all.

    Only lines of products in a frequent pair take part (renumbered compactly, ids ascending); each order's sets
    are generated position by position as the pairs are, a first pair that is not frequent is dropped before its
    third products are generated, and the sets are counted by sorting one int64 key per set.
    """
    if pairs.together.size == 0:
        return _NO_SETS, 0
    pair_a = np.searchsorted(lines.product_ids, pairs.product_a)
    pair_b = np.searchsorted(lines.product_ids, pairs.product_b)
    in_pair = np.zeros(lines.product_ids.size, dtype=bool)
    in_pair[pair_a] = True
    in_pair[pair_b] = True
    compact = np.cumsum(in_pair, dtype=np.int64) - 1
    width = np.int64(int(compact[-1]) + 1)
    kept = in_pair[lines.line_product]
    line_order, position = lines.line_order[kept], compact[lines.line_product[kept]]
    frequent = _membership(compact[pair_a] * width + compact[pair_b], int(width) ** 2, dense_cells)
    after = _after(line_order)
    firsts, thirds = [], []
    first, step_b = np.flatnonzero(after >= 2), 1
    while first.size:
        head = position[first] * width + position[first + step_b]
        passing = frequent(head)
        chosen, head, step_c = first[passing], head[passing], step_b + 1
        while chosen.size:
            third = position[chosen + step_c]
            both = frequent(position[chosen] * width + third) & frequent(position[chosen + step_b] * width + third)
            firsts.append(head[both])
            thirds.append(third[both])
            step_c += 1
            more = after[chosen] >= step_c
            chosen, head = chosen[more], head[more]
        step_b += 1
        first = first[after[first] >= step_b + 1]
    if not firsts:
        return _NO_SETS, 0
    heads, tails = np.concatenate(firsts), np.concatenate(thirds)
    if heads.size == 0:
        return _NO_SETS, 0
    if width < key_width:
        found, together = _run_lengths(heads * width + tails)
        keep = together >= floor
        found, together = found[keep], together[keep]
        heads, tails = found // width, found % width
    else:
        ordered = np.lexsort((tails, heads))
        heads, tails = heads[ordered], tails[ordered]
        starts = np.flatnonzero(np.r_[True, (heads[1:] != heads[:-1]) | (tails[1:] != tails[:-1])])
        together = np.diff(np.r_[starts, heads.size])
        first_of_set = starts[together >= floor]
        heads, tails, together = heads[first_of_set], tails[first_of_set], together[together >= floor]
    best = np.lexsort((tails, heads, -together))[:limit]  # heads ascend as (a, b) do
    triples = np.stack([heads[best] // width, heads[best] % width, tails[best]], axis=1)
    chosen_ids = lines.product_ids[in_pair][triples]
    items = lines.items[in_pair][triples]
    sets = TripleCounts(products=chosen_ids, together=together[best].astype(np.int64), orders_each=items)
    return sets, int(together.size)


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
