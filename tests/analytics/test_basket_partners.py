"""「よく一緒に購入されている商品」 built nightly: every product's partners equal a count from the orders."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import OrderFactory, OrderLineFactory, ProductFactory
from tokui.analytics.basket import products_bought_together
from tokui.analytics.models import BasketPartner
from tokui.analytics.selectors import basket_partners_built, product_partners
from tokui.analytics.services import analytics_nightly_run, basket_partners_rebuild
from tokui.catalog.models import Product
from tokui.commerce.enums import OrderStatus
from tokui.core.time import local_today, site_zone, start_of_local_day
from tokui.demo.generator import load_demo_data

pytestmark = pytest.mark.django_db

TODAY = local_today()


def basket(*products: Product, days_ago: int = 3, hour: int = 12, status: str = OrderStatus.DELIVERED) -> None:
    day = TODAY - dt.timedelta(days=days_ago)
    order = OrderFactory(status=status, placed_at=dt.datetime.combine(day, dt.time(hour), tzinfo=site_zone()))
    for number, product in enumerate(products, start=1):
        OrderLineFactory(order=order, product=product, line_no=number)


def as_tuples(rows: list) -> list[tuple[int, int, float, float]]:  # type: ignore[type-arg]
    return [(row.product_id, row.orders_together, round(row.confidence, 9), round(row.lift, 9)) for row in rows]


def test_partners_of_a_hand_made_shop_in_both_directions() -> None:
    shirt, pants, socks, hat = (ProductFactory() for _ in range(4))
    basket(shirt, pants)
    basket(shirt, pants, socks)
    basket(shirt, socks)
    basket(shirt, pants)
    basket(hat, socks)
    basket(hat, shirt, status=OrderStatus.CANCELLED)  # not a sale
    basket(hat, pants, days_ago=400)  # before the year

    written = basket_partners_rebuild(today=TODAY, min_orders_together=1)

    partners = product_partners(product_ids=[shirt.pk, pants.pk, hat.pk], limit=5)
    assert [(row.product_id, row.orders_together) for row in partners[shirt.pk]] == [(pants.pk, 3), (socks.pk, 2)]
    assert partners[shirt.pk][0].confidence == 3 / 4
    assert partners[shirt.pk][1].lift == pytest.approx(2 * 5 / (4 * 3))
    assert [(row.product_id, row.orders_together) for row in partners[pants.pk]] == [(shirt.pk, 3), (socks.pk, 1)]
    assert partners[pants.pk][0].confidence == 1.0
    assert [(row.product_id, row.orders_together) for row in partners[hat.pk]] == [(socks.pk, 1)]
    assert written == BasketPartner.objects.count() == 8
    build = basket_partners_built()
    assert build is not None
    assert build.orders_total == 5
    assert build.window_end == start_of_local_day(TODAY)


def test_the_limit_keeps_the_most_frequent_partners_and_ties_by_product() -> None:
    main, *others = (ProductFactory() for _ in range(5))
    for times, other in zip((1, 3, 2, 3), others, strict=True):
        for _ in range(times):
            basket(main, other)

    basket_partners_rebuild(today=TODAY, min_orders_together=1)

    tied = sorted([others[1].pk, others[3].pk])
    assert [row.product_id for row in product_partners(product_ids=[main.pk], limit=3)[main.pk]] == [
        *tied,
        others[2].pk,
    ]


def test_orders_of_today_wait_for_the_next_build_and_a_rebuild_replaces_the_old() -> None:
    shirt, pants, socks = (ProductFactory() for _ in range(3))
    basket(shirt, pants, days_ago=1)
    basket(shirt, socks, days_ago=0)  # today: after the window
    basket_partners_rebuild(today=TODAY, min_orders_together=1)
    assert [row.product_id for row in product_partners(product_ids=[shirt.pk])[shirt.pk]] == [pants.pk]

    basket_partners_rebuild(today=TODAY + dt.timedelta(days=1), min_orders_together=1)

    assert [row.product_id for row in product_partners(product_ids=[shirt.pk])[shirt.pk]] == [pants.pk, socks.pk]
    assert product_partners(product_ids=[ProductFactory().pk]) == {}


def test_partners_on_the_demo_data_equal_the_count_from_the_orders() -> None:
    load_demo_data(seed=11, scale=0.05)
    assert analytics_nightly_run(force=True)
    build = basket_partners_built()
    assert build is not None and build.partners > 0
    products = list(
        BasketPartner.objects.filter(rank=1)
        .order_by("-orders_together", "product_id")
        .values_list("product_id", flat=True)[:15]
    )

    partners = product_partners(product_ids=products, limit=20)

    for product_id in products:
        counted = products_bought_together(
            product_id=product_id, start=build.window_start, end=build.window_end, limit=20, min_orders_together=2
        )
        assert as_tuples(partners[product_id]) == as_tuples(counted), product_id
