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


@pytest.mark.parametrize("dense", [True, False], ids=["dense table", "sorted keys"])
@settings(max_examples=150, deadline=None)
@given(
    rows=lines,
    floor=st.integers(1, 3),
    product_offset=st.sampled_from([0, 10**9]),
    order_scale=st.sampled_from([1, 2**57]),  # order ids too far apart for one sort key: numbered first
)
def test_pair_counts_match_a_plain_count(
    dense: bool, rows: list[tuple[int, int]], floor: int, product_offset: int, order_scale: int
) -> None:
    rows = [(order * order_scale, product) for order, product in rows]
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


def test_no_lines_and_single_product_orders_give_no_pairs() -> None:
    empty = np.empty(0, np.int64)
    assert pair_counts(basket_lines(empty, empty), floor=1).orders_total == 0
    single = pair_counts(basket_lines(np.array([1, 2, 2]), np.array([5, 6, 6])), floor=1)
    assert single.orders_total == 2 and single.together.size == 0


@pytest.mark.parametrize(
    ("dense_cells", "key_width"), [(_DENSE_CELLS, 2**21), (0, 0)], ids=["table and one key", "search and two keys"]
)
@settings(max_examples=150, deadline=None)
@given(rows=lines, floor=st.integers(1, 3), limit=st.integers(1, 8))
def test_sets_of_three_match_a_plain_count(
    dense_cells: int, key_width: int, rows: list[tuple[int, int]], floor: int, limit: int
) -> None:
    orders = np.array([order for order, _ in rows], dtype=np.int64)
    products = np.array([product for _, product in rows], dtype=np.int64)
    found_lines = basket_lines(orders, products)
    pairs = pair_counts(found_lines, floor=floor)
    found = triple_counts(found_lines, pairs, floor=floor, limit=limit, dense_cells=dense_cells, key_width=key_width)
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
