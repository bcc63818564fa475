"""Pairs counted in arrays equal a plain count order by order, thresholds and ranking included."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokui.analytics.basket_counts import (
    _DENSE_CELLS,
    basket_lines,
    pair_counts,
    ranked_pairs,
    triple_counts,
)

lines = st.lists(st.tuples(st.integers(1, 40), st.integers(1, 12)), max_size=120)


def plain_pairs(rows: list[tuple[int, int]], floor: int) -> dict[tuple[int, int], tuple[int, int, int]]:
    baskets: dict[int, set[int]] = {}
    for order, product in rows:
        baskets.setdefault(order, set()).add(product)
    items = Counter(product for products in baskets.values() for product in products)
    together = Counter(pair for products in baskets.values() for pair in itertools.combinations(sorted(products), 2))
    return {pair: (n, items[pair[0]], items[pair[1]]) for pair, n in together.items() if n >= floor}


def arranged(rows: list[tuple[int, int]], arrangement: str) -> list[tuple[int, int]]:
    """The rows as drawn (orders interleaved), or grouped by order with the products ascending as the database
    reads them from the basket index (grouping then needs no sort), in ascending order or not."""
    if arrangement == "grouped":
        return sorted(rows)
    if arrangement == "grouped, orders shuffled":
        return sorted(rows, key=lambda row: (row[0] * 7919 % 101, row[0], row[1]))
    return rows


@pytest.mark.parametrize("dense", [True, False], ids=["dense table", "sorted keys"])
@settings(max_examples=150, deadline=None)
@given(
    rows=lines,
    floor=st.integers(1, 3),
    product_offset=st.sampled_from([0, 10**9]),
    order_scale=st.sampled_from([1, 2**57]),  # order ids too far apart for one sort key: numbered first
    arrangement=st.sampled_from(["as drawn", "grouped", "grouped, orders shuffled"]),
)
def test_pair_counts_match_a_plain_count(
    dense: bool, rows: list[tuple[int, int]], floor: int, product_offset: int, order_scale: int, arrangement: str
) -> None:
    rows = [(order * order_scale, product) for order, product in rows]
    rows = arranged(rows, arrangement)
    orders = np.array([order for order, _ in rows], dtype=np.int64)
    products = np.array([product + product_offset for _, product in rows], dtype=np.int64)
    counts = pair_counts(basket_lines(orders, products), floor=floor, dense_cells=_DENSE_CELLS if dense else 0)
    found = {
        (int(a), int(b)): (int(n), int(na), int(nb))
        for a, b, n, na, nb in zip(
            counts.product_a, counts.product_b, counts.together, counts.orders_a, counts.orders_b, strict=True
        )
    }
    shifted = [(order, product + product_offset) for order, product in rows]
    assert found == plain_pairs(shifted, floor)
    assert counts.orders_total == len({order for order, _ in rows})


@settings(max_examples=150, deadline=None)
@given(
    rows=lines,
    min_confidence=st.sampled_from([0.0, 0.3, 0.5, 1.0]),
    min_lift=st.sampled_from([0.0, 1.0, 1.5]),
    order_by=st.sampled_from(["orders_together", "support", "confidence", "lift"]),
    limit=st.integers(1, 10),
)
def test_ranking_matches_sorting_the_plain_figures(
    rows: list[tuple[int, int]], min_confidence: float, min_lift: float, order_by: str, limit: int
) -> None:
    orders = np.array([order for order, _ in rows], dtype=np.int64)
    products = np.array([product for _, product in rows], dtype=np.int64)
    counts = pair_counts(basket_lines(orders, products), floor=1)
    total = counts.orders_total
    expected = []
    for (a, b), (n, na, nb) in plain_pairs(rows, 1).items():
        confidence, lift = max(n / na, n / nb), n * total / (na * nb)
        if confidence >= min_confidence and lift >= min_lift:
            key = {
                "support": (n / total, lift),
                "confidence": (confidence, n),
                "lift": (lift, n),
            }.get(order_by, (n, lift))
            expected.append((key, a, b))
    expected.sort(key=lambda item: (-item[0][0], -item[0][1], item[1], item[2]))
    best = ranked_pairs(counts, min_confidence=min_confidence, min_lift=min_lift, order_by=order_by, limit=limit)
    assert [(int(counts.product_a[i]), int(counts.product_b[i])) for i in best] == [
        (a, b) for _, a, b in expected[:limit]
    ]


def test_an_order_split_over_two_runs_is_still_counted_once() -> None:
    # Each run ascending, but order 1 comes back after order 2: the rows are not grouped and must be sorted.
    lines_read = basket_lines(np.array([1, 1, 2, 2, 1]), np.array([3, 4, 3, 4, 5]))
    counts = pair_counts(lines_read, floor=1)
    assert lines_read.orders_total == 2
    found = zip(counts.product_a, counts.product_b, counts.together, strict=True)
    assert {(int(a), int(b)): int(n) for a, b, n in found} == {(3, 4): 2, (3, 5): 1, (4, 5): 1}


def test_sets_below_the_first_floor_tried_are_found_when_too_few_reach_it() -> None:
    # One pair far ahead of the rest, then a set in 5 orders and a set in 4: the first floor tried (5, the 4th pair's
    # count) has one set, fewer than asked, so the count goes on down to the floor asked for.
    baskets = [(1, 2)] * 100 + [(3, 4, 5)] * 5 + [(6, 7, 8)] * 4 + [(1, 9, 10)] * 3
    rows = [(order, product) for order, basket in enumerate(baskets) for product in basket]
    found_lines = basket_lines(np.array([o for o, _ in rows]), np.array([p for _, p in rows]))
    pairs = pair_counts(found_lines, floor=3)
    found = triple_counts(found_lines, pairs, floor=3, limit=2, rank_step=2)
    assert [tuple(int(p) for p in ids) for ids in found.products] == [(3, 4, 5), (6, 7, 8)]
    assert [int(n) for n in found.together] == [5, 4]


def test_no_lines_and_single_product_orders_give_no_pairs() -> None:
    empty = np.empty(0, np.int64)
    assert pair_counts(basket_lines(empty, empty), floor=1).orders_total == 0
    single = pair_counts(basket_lines(np.array([1, 2, 2]), np.array([5, 6, 6])), floor=1)
    assert single.orders_total == 2 and single.together.size == 0


@pytest.mark.parametrize(
    ("dense_cells", "key_width"), [(_DENSE_CELLS, 2**21), (0, 0)], ids=["table and one key", "search and two keys"]
)
# The sets are counted from a high floor down; with a small step between the floors tried, these few rows try
# several (with the default step, a handful of rows has too few pairs to try any above the floor).
@pytest.mark.parametrize("rank_step", [8, 2], ids=["default trial floors", "many trial floors"])
@settings(max_examples=150, deadline=None)
@given(
    rows=lines,
    floor=st.integers(1, 3),
    limit=st.integers(1, 8),
    arrangement=st.sampled_from(["as drawn", "grouped", "grouped, orders shuffled"]),
)
def test_sets_of_three_match_a_plain_count(
    dense_cells: int,
    key_width: int,
    rank_step: int,
    rows: list[tuple[int, int]],
    floor: int,
    limit: int,
    arrangement: str,
) -> None:
    rows = arranged(rows, arrangement)
    orders = np.array([order for order, _ in rows], dtype=np.int64)
    products = np.array([product for _, product in rows], dtype=np.int64)
    found_lines = basket_lines(orders, products)
    pairs = pair_counts(found_lines, floor=floor)
    found = triple_counts(
        found_lines, pairs, floor=floor, limit=limit, dense_cells=dense_cells, key_width=key_width, rank_step=rank_step
    )
    baskets: dict[int, set[int]] = {}
    for order, product in rows:
        baskets.setdefault(order, set()).add(product)
    triples = Counter(t for products_ in baskets.values() for t in itertools.combinations(sorted(products_), 3))
    items = Counter(product for products_ in baskets.values() for product in products_)
    expected = sorted(((n, t) for t, n in triples.items() if n >= floor), key=lambda item: (-item[0], item[1]))
    assert [(int(n), tuple(int(p) for p in ids)) for ids, n in zip(found.products, found.together, strict=True)] == [
        (n, t) for n, t in expected[:limit]
    ]
    assert [tuple(int(x) for x in each) for each in found.orders_each] == [
        tuple(items[p] for p in t) for _, t in expected[:limit]
    ]
