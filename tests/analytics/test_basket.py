"""Basket analysis: pairs bought together, their support, confidence and lift, checked against a count by hand."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

import pytest
from django.utils import timezone

from tests.factories import CategoryFactory, OrderFactory, OrderLineFactory, ProductFactory
from tokui.analytics.basket import (
    BasketAnalysis,
    basket_pairs,
    basket_scope,
    basket_sets,
    products_bought_together,
)
from tokui.catalog.models import Product
from tokui.commerce.enums import NON_REVENUE_STATUSES, OrderStatus
from tokui.commerce.models import OrderLine
from tokui.core.time import start_of_local_day
from tokui.demo.generator import load_demo_data

pytestmark = pytest.mark.django_db

START = timezone.now() - dt.timedelta(days=365)
END = timezone.now() + dt.timedelta(days=1)


def basket(*products: Product, status: str = OrderStatus.DELIVERED, days_ago: int = 3) -> None:
    order = OrderFactory(status=status, placed_at=timezone.now() - dt.timedelta(days=days_ago))
    for number, product in enumerate(products, start=1):
        OrderLineFactory(order=order, product=product, line_no=number)


def reference(start: dt.datetime, end: dt.datetime) -> tuple[int, Counter[int], Counter[tuple[int, int]]]:
    """The orders' distinct products counted one order at a time, in Python."""
    products_of: dict[int, set[int]] = {}
    lines = OrderLine.objects.filter(
        product__isnull=False, order__placed_at__gte=start, order__placed_at__lt=end
    ).exclude(order__status__in=NON_REVENUE_STATUSES)
    for order_id, product_id in lines.values_list("order_id", "product_id"):
        products_of.setdefault(order_id, set()).add(product_id)
    items: Counter[int] = Counter()
    pairs: Counter[tuple[int, int]] = Counter()
    for products in products_of.values():
        items.update(products)
        pairs.update(itertools.combinations(sorted(products), 2))
    return len(products_of), items, pairs


def test_support_confidence_and_lift_of_a_hand_made_shop() -> None:
    shirt, pants, socks, hat = (ProductFactory(sku=sku) for sku in ("SHIRT", "PANTS", "SOCKS", "HAT"))
    basket(shirt, pants)
    basket(shirt, pants, socks)
    basket(shirt, socks)
    basket(shirt, shirt, pants)  # the same product twice in one order counts once
    basket(hat)
    basket(shirt, hat, status=OrderStatus.CANCELLED)  # left out
    basket(pants, hat, days_ago=400)  # before the period

    result = basket_pairs(start=START, end=END, min_orders_together=1)

    assert result.orders_total == 5
    pair = next(p for p in result.pairs if {p.product_a_id, p.product_b_id} == {shirt.pk, pants.pk})
    assert (pair.orders_together, pair.support) == (3, 3 / 5)
    shirt_first = pair.product_a_id == shirt.pk
    assert (pair.confidence_ab if shirt_first else pair.confidence_ba) == 3 / 4  # shirt → pants
    assert (pair.confidence_ba if shirt_first else pair.confidence_ab) == 3 / 3  # pants → shirt
    assert pair.lift == pytest.approx((3 / 5) / ((4 / 5) * (3 / 5)))
    assert not any(hat.pk in (p.product_a_id, p.product_b_id) for p in result.pairs)
    assert result.pairs[0] == pair  # most orders together first


def test_thresholds_leave_out_weak_pairs() -> None:
    a, b, c = (ProductFactory() for _ in range(3))
    for _ in range(3):
        basket(a, b)
    basket(a, c)
    basket(c)

    assert [(p.orders_together) for p in basket_pairs(start=START, end=END, min_orders_together=2).pairs] == [3]
    assert basket_pairs(start=START, end=END, min_support=0.5, min_orders_together=1).min_orders_together == 3
    by_confidence = basket_pairs(start=START, end=END, min_orders_together=1, min_confidence=0.9)
    assert {(p.product_a_id, p.product_b_id) for p in by_confidence.pairs} == {tuple(sorted((a.pk, b.pk)))}
    assert basket_pairs(start=START, end=END, min_orders_together=1, min_lift=10).pairs == []


def test_a_category_limits_the_products_and_the_orders_counted() -> None:
    tops = CategoryFactory(name="トップス")
    shirts = CategoryFactory(name="シャツ", parent=tops)
    bottoms = CategoryFactory(name="ボトムス")
    shirt, tee, pants = ProductFactory(category=shirts), ProductFactory(category=tops), ProductFactory(category=bottoms)
    basket(shirt, tee, pants)
    basket(shirt, tee)
    basket(pants)

    result = basket_pairs(start=START, end=END, min_orders_together=1, category_id=tops.pk)
    assert result.orders_total == 2
    assert [(p.orders_together, p.orders_a, p.orders_b) for p in result.pairs] == [(2, 2, 2)]


def test_bought_together_for_one_product() -> None:
    shirt, pants, socks, hat = (ProductFactory() for _ in range(4))
    basket(shirt, pants)
    basket(shirt, pants, socks)
    basket(shirt, socks)
    basket(shirt, pants)
    basket(hat, socks)

    together = products_bought_together(product_id=shirt.pk, start=START, end=END, min_orders_together=1)
    assert [(row.product_id, row.orders_together) for row in together] == [(pants.pk, 3), (socks.pk, 2)]
    assert together[0].confidence == 3 / 4
    assert together[1].lift == pytest.approx(2 * 5 / (4 * 3))


def test_one_read_serves_pairs_and_sets_at_different_floors_as_separate_counts_would() -> None:
    shirt, pants, belt, hat = (ProductFactory() for _ in range(4))
    for _ in range(2):
        basket(shirt, pants, belt)
    basket(shirt, pants, hat)
    basket(belt, hat)

    def as_rows(pairs: BasketAnalysis) -> list[tuple[int, int, int]]:
        return [(p.product_a_id, p.product_b_id, p.orders_together) for p in pairs.pairs]

    fresh_pairs = as_rows(basket_pairs(start=START, end=END, min_orders_together=3))
    fresh_sets = basket_sets(start=START, end=END, min_orders_together=1)
    for first in ("pairs", "sets"):
        scope = basket_scope(start=START, end=END)
        if first == "sets":
            assert basket_sets(start=START, end=END, min_orders_together=1, scope=scope) == fresh_sets
        assert as_rows(basket_pairs(start=START, end=END, min_orders_together=3, scope=scope)) == fresh_pairs
        assert basket_sets(start=START, end=END, min_orders_together=1, scope=scope) == fresh_sets
    assert fresh_pairs == [(shirt.pk, pants.pk, 3)] and len(fresh_sets) == 2


def test_bought_together_ties_go_to_the_lower_product_id_and_an_unsold_product_has_none() -> None:
    shirt, first, second, third = (ProductFactory() for _ in range(4))
    basket(shirt, second)
    basket(shirt, first, third)
    basket(shirt, first, second)

    together = products_bought_together(product_id=shirt.pk, start=START, end=END, limit=2, min_orders_together=1)

    assert [(row.product_id, row.orders_together) for row in together] == [(first.pk, 2), (second.pk, 2)]
    assert products_bought_together(product_id=ProductFactory().pk, start=START, end=END) == []


def test_bought_together_within_a_category_counts_only_its_products_and_orders() -> None:
    tops, bottoms = CategoryFactory(name="トップス"), CategoryFactory(name="ボトムス")
    shirt, tee = ProductFactory(category=tops), ProductFactory(category=tops)
    pants = ProductFactory(category=bottoms)
    basket(shirt, tee, pants)
    basket(shirt, pants)
    basket(shirt, pants)
    basket(tee)

    whole = products_bought_together(product_id=shirt.pk, start=START, end=END, min_orders_together=1)
    within = products_bought_together(
        product_id=shirt.pk, start=START, end=END, min_orders_together=1, category_id=tops.pk
    )

    assert [row.product_id for row in whole] == [pants.pk, tee.pk]
    assert [(row.product_id, row.orders_together, row.confidence) for row in within] == [(tee.pk, 1, 1 / 3)]
    assert within[0].lift == pytest.approx(1 * 4 / (3 * 2))  # 4 orders hold a top; 3 the shirt, 2 the tee


@pytest.mark.parametrize("whole_days", [False, True], ids=["any instants: order lines", "site days: sales facts"])
def test_pairs_on_the_demo_data_match_a_count_order_by_order(whole_days: bool) -> None:
    load_demo_data(seed=7, scale=0.05)
    start, end = timezone.now() - dt.timedelta(days=730), timezone.now() + dt.timedelta(days=1)
    if whole_days:  # as the screen asks: read from the sales facts
        start, end = start_of_local_day(timezone.localdate(start)), start_of_local_day(timezone.localdate(end))
    total, items, pairs = reference(start, end)

    result = basket_pairs(start=start, end=end, min_orders_together=3, limit=10_000)

    expected = {pair: n for pair, n in pairs.items() if n >= 3}
    assert result.orders_total == total
    assert {(p.product_a_id, p.product_b_id): p.orders_together for p in result.pairs} == expected
    assert expected, "the demo data should have products bought together"
    for pair in result.pairs[:20]:
        assert (pair.orders_a, pair.orders_b) == (items[pair.product_a_id], items[pair.product_b_id])
    top = max(items, key=lambda pid: (items[pid], -pid))
    together = products_bought_together(product_id=top, start=start, end=end, limit=3, min_orders_together=1)
    partners = Counter({(b if a == top else a): n for (a, b), n in pairs.items() if top in (a, b)})
    assert [row.orders_together for row in together] == [n for _pid, n in partners.most_common(3)]


def test_sets_of_three_bought_together() -> None:
    shirt, pants, belt, hat = (ProductFactory() for _ in range(4))
    for _ in range(3):
        basket(shirt, pants, belt)
    basket(shirt, pants, hat)
    basket(shirt, belt)

    sets = basket_sets(start=START, end=END, min_orders_together=2)
    assert [(s.product_ids, s.orders_together) for s in sets] == [(tuple(sorted((shirt.pk, pants.pk, belt.pk))), 3)]
    found = sets[0]
    assert found.support == 3 / 5
    counts = {shirt.pk: 5, pants.pk: 4, belt.pk: 4}
    assert found.lift == pytest.approx(
        3 * 25 / (counts[found.product_ids[0]] * counts[found.product_ids[1]] * counts[found.product_ids[2]])
    )


def test_sets_on_the_demo_data_match_a_count_order_by_order() -> None:
    load_demo_data(seed=7, scale=0.05)
    start, end = timezone.now() - dt.timedelta(days=730), timezone.now() + dt.timedelta(days=1)
    products_of: dict[int, set[int]] = {}
    lines = OrderLine.objects.filter(
        product__isnull=False, order__placed_at__gte=start, order__placed_at__lt=end
    ).exclude(order__status__in=NON_REVENUE_STATUSES)
    for order_id, product_id in lines.values_list("order_id", "product_id"):
        products_of.setdefault(order_id, set()).add(product_id)
    triples: Counter[tuple[int, int, int]] = Counter()
    for products in products_of.values():
        triples.update(itertools.combinations(sorted(products), 3))
    expected = sorted(((n, key) for key, n in triples.items() if n >= 2), key=lambda item: (-item[0], item[1]))[:20]

    assert expected, "the demo data should have sets bought together"
    sets = basket_sets(start=start, end=end, min_orders_together=2, limit=20)
    assert [(s.orders_together, s.product_ids) for s in sets] == expected


def test_a_period_given_in_site_time_counts_the_orders_of_its_days() -> None:
    from tokui.core.time import site_zone

    shirt, pants = ProductFactory(), ProductFactory()
    order = OrderFactory(placed_at=dt.datetime(2026, 11, 30, 8, 0, tzinfo=site_zone()))  # 23:00 UTC the day before
    OrderLineFactory(order=order, product=shirt, line_no=1)
    OrderLineFactory(order=order, product=pants, line_no=2)
    start = dt.datetime(2026, 11, 30, tzinfo=site_zone())

    result = basket_pairs(start=start, end=start + dt.timedelta(days=1), min_orders_together=1)

    assert result.orders_total == 1
    assert [(p.product_a_id, p.product_b_id) for p in result.pairs] == [tuple(sorted((shirt.pk, pants.pk)))]
