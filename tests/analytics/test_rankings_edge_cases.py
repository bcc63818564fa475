"""Rankings on hand-made cases: movement (↑ ↓ → NEW), ties, exclusions, week edges in JST, categories, limits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.analytics.conftest import jst
from tests.analytics.sales_reference import Reference
from tests.factories import CategoryFactory, OrderFactory, OrderLineFactory, ProductFactory
from tokui.analytics.rankings import product_ranking, ranking_window
from tokui.analytics.report_types import Movement, RankingBy
from tokui.catalog.models import Product
from tokui.commerce.enums import OrderStatus

pytestmark = pytest.mark.django_db

WEEK = dt.date(2026, 3, 9)  # a Monday
LAST_WEEK = dt.date(2026, 3, 2)


def sell(product: Product | None, quantity: int, price: int, when: dt.datetime, **order: object) -> None:
    placed = OrderFactory(placed_at=when, **order)
    fields: dict[str, object] = (
        {"product": product} if product else {"product": None, "sku": "OLD-1", "product_name": "廃番シャツ"}
    )
    OrderLineFactory(
        order=placed, quantity=quantity, unit_price=Decimal(price), amount=Decimal(price * quantity), **fields
    )


@pytest.fixture
def products() -> dict[str, Product]:
    return {name: ProductFactory(sku=f"SKU-{name}", name=f"商品{name}") for name in "ABCDE"}


def test_movement_shows_up_down_unchanged_and_new(products: dict[str, Product]) -> None:
    p = products
    for name, units in (("A", 5), ("B", 3), ("C", 1)):
        sell(p[name], units, 1000, jst(LAST_WEEK, 10))
    for name, units in (("B", 6), ("A", 4), ("C", 2), ("D", 1)):
        sell(p[name], units, 1000, jst(WEEK, 10))
    rows = product_ranking(start=WEEK, end=WEEK + dt.timedelta(days=6))
    assert [(r.sku, r.rank, r.previous_rank, r.movement, r.movement_label) for r in rows] == [
        ("SKU-B", 1, 2, Movement.UP, "↑1"),
        ("SKU-A", 2, 1, Movement.DOWN, "↓1"),
        ("SKU-C", 3, 3, Movement.SAME, "→"),
        ("SKU-D", 4, None, Movement.NEW, "NEW"),
    ]
    assert [(r.units, r.revenue) for r in rows] == [(6, 6000), (4, 4000), (2, 2000), (1, 1000)]


def test_a_product_climbing_from_outside_the_top_shows_how_far(products: dict[str, Product]) -> None:
    p = products
    for units, name in enumerate("ABCDE", start=1):
        sell(p[name], 10 - units, 100, jst(LAST_WEEK, 10))  # E was 5th
    sell(p["E"], 50, 100, jst(WEEK, 10))
    sell(p["A"], 1, 100, jst(WEEK, 10))
    rows = product_ranking(start=WEEK, end=WEEK + dt.timedelta(days=6), limit=1)
    assert [(r.sku, r.movement_label) for r in rows] == [("SKU-E", "↑4")]


def test_cancelled_refunded_and_other_currency_sales_do_not_rank(products: dict[str, Product]) -> None:
    sell(products["A"], 100, 1000, jst(WEEK, 10), status=OrderStatus.CANCELLED)
    sell(products["B"], 100, 1000, jst(WEEK, 10), status=OrderStatus.REFUNDED)
    sell(products["C"], 100, 1000, jst(WEEK, 10), currency="USD")
    sell(products["D"], 1, 1000, jst(WEEK, 10))
    assert [r.sku for r in product_ranking(start=WEEK, end=WEEK + dt.timedelta(days=6))] == ["SKU-D"]


def test_the_week_is_cut_at_midnight_japan_time(products: dict[str, Product]) -> None:
    sunday = WEEK + dt.timedelta(days=6)
    sell(products["A"], 1, 1000, jst(sunday, 23, 30))  # still this week
    sell(products["B"], 9, 1000, jst(sunday + dt.timedelta(days=1), 0, 30))  # next Monday
    sell(products["C"], 9, 1000, jst(WEEK - dt.timedelta(days=1), 23, 59))  # the Sunday before
    assert [r.sku for r in product_ranking(start=WEEK, end=sunday)] == ["SKU-A"]


def test_ties_are_broken_by_the_other_measure_then_sku_and_revenue_ranks_by_line_amounts(
    products: dict[str, Product],
) -> None:
    sell(products["C"], 2, 500, jst(WEEK, 10))
    sell(products["B"], 2, 900, jst(WEEK, 10))
    sell(products["A"], 2, 500, jst(WEEK, 11))
    sell(products["D"], 1, 5000, jst(WEEK, 12))
    by_units = product_ranking(start=WEEK, end=WEEK)
    assert [r.sku for r in by_units] == ["SKU-B", "SKU-A", "SKU-C", "SKU-D"]
    by_revenue = product_ranking(start=WEEK, end=WEEK, by=RankingBy.REVENUE)
    assert [(r.sku, r.revenue) for r in by_revenue] == [
        ("SKU-D", Decimal(5000)),
        ("SKU-B", Decimal(1800)),
        ("SKU-A", Decimal(1000)),
        ("SKU-C", Decimal(1000)),
    ]
    reference = Reference().ranking(WEEK, WEEK, by="revenue")
    assert [(k, units, revenue) for k, units, revenue, _sku in reference] == [
        (r.product_id, r.units, r.revenue) for r in by_revenue
    ]


def test_a_category_ranking_takes_its_subcategories(products: dict[str, Product]) -> None:
    tops = CategoryFactory(name="トップス")
    shirts = CategoryFactory(name="シャツ", parent=tops)
    Product.objects.filter(pk=products["A"].pk).update(category=shirts)
    Product.objects.filter(pk=products["B"].pk).update(category=tops)
    for name in "ABC":
        sell(products[name], 1, 1000, jst(WEEK, 10))
    rows = product_ranking(start=WEEK, end=WEEK, category_id=tops.pk)
    assert {r.sku for r in rows} == {"SKU-A", "SKU-B"}
    assert {r.category_name for r in rows} == {"トップス > シャツ", "トップス"}
    assert [r.sku for r in product_ranking(start=WEEK, end=WEEK, category_id=shirts.pk)] == ["SKU-A"]


def test_lines_of_deleted_products_rank_under_their_sku(products: dict[str, Product]) -> None:
    sell(None, 3, 1000, jst(WEEK, 10))
    sell(products["A"], 1, 1000, jst(WEEK, 10))
    rows = product_ranking(start=WEEK, end=WEEK)
    assert [(r.sku, r.product_id, r.units) for r in rows] == [("OLD-1", None, 3), ("SKU-A", products["A"].pk, 1)]


def test_ranking_windows_are_the_day_the_monday_week_and_the_calendar_month() -> None:
    day = dt.date(2026, 3, 4)  # a Wednesday
    assert ranking_window(period="day", day=day) == (day, day, dt.date(2026, 3, 3))
    assert ranking_window(period="week", day=day) == (dt.date(2026, 3, 2), dt.date(2026, 3, 8), dt.date(2026, 2, 23))
    assert ranking_window(period="month", day=day) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31), dt.date(2026, 2, 1))
    # A week crossing months is still Monday to Sunday.
    assert ranking_window(period="week", day=dt.date(2026, 4, 1))[:2] == (dt.date(2026, 3, 30), dt.date(2026, 4, 5))


def test_a_monthly_ranking_compares_with_the_calendar_month_before(products: dict[str, Product]) -> None:
    sell(products["A"], 1, 1000, jst(dt.date(2026, 1, 30), 10))  # in January, inside 31 days before March
    sell(products["A"], 1, 1000, jst(dt.date(2026, 3, 15), 10))
    start, end, previous_start = ranking_window(period="month", day=dt.date(2026, 3, 15))
    assert product_ranking(start=start, end=end, previous_start=previous_start)[0].movement == Movement.NEW
    assert product_ranking(start=start, end=end)[0].movement == Movement.SAME  # 31 days back is 29 January
