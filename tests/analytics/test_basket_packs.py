"""The basket's day packs (PostgreSQL): the screen reads past days packed and gets the same figures as from the
line facts; a day whose lines change loses its pack at once, whoever changed them."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import CategoryFactory, OrderFactory, OrderLineFactory, ProductFactory
from tokui.analytics import basket, basket_packs
from tokui.analytics.basket import BasketScope, basket_pairs, basket_scope, basket_sets, products_bought_together
from tokui.analytics.basket_packs import basket_packs_fill
from tokui.analytics.models import BasketDayPack, SalesLineFact
from tokui.analytics.sales_facts import sales_facts_catch_up, sales_facts_refresh
from tokui.analytics.services import analytics_nightly_run
from tokui.catalog.models import Product
from tokui.commerce.enums import OrderStatus
from tokui.commerce.models import Order
from tokui.core.time import local_date, local_today, start_of_local_day

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the packs are PostgreSQL's"),
]


def _period() -> tuple[dt.datetime, dt.datetime]:
    today = local_today()
    return start_of_local_day(today - dt.timedelta(days=60)), start_of_local_day(today + dt.timedelta(days=1))


def _order(*products: Product, days_ago: int, status: str = OrderStatus.DELIVERED) -> Order:
    order = OrderFactory(status=status, placed_at=timezone.now() - dt.timedelta(days=days_ago))
    for number, product in enumerate(products, start=1):
        OrderLineFactory(order=order, product=product, line_no=number)
    return order


def _shop() -> list[Product]:
    """Orders over several days (today's too), a product twice in an order, a cancelled order, two categories."""
    shoes, bags = CategoryFactory(), CategoryFactory()
    a, b, c = (ProductFactory(category=shoes) for _ in range(3))
    d, e = (ProductFactory(category=bags) for _ in range(2))
    for days_ago in (1, 2, 2, 5, 9, 30):
        _order(a, b, c, days_ago=days_ago)
    _order(a, a, b, d, days_ago=3)
    _order(b, c, e, days_ago=4)
    _order(a, b, c, d, days_ago=0)  # today: never packed
    _order(d, e, days_ago=7)
    _order(a, d, e, days_ago=7)
    _order(a, b, days_ago=2, status=OrderStatus.CANCELLED)
    sales_facts_catch_up()
    return [a, b, c, d, e]


def _figures(scope: BasketScope, products: list[Product]) -> tuple[object, ...]:
    start, end = scope.start, scope.end
    pairs = basket_pairs(start=start, end=end, min_orders_together=1, category_id=scope.category_id, scope=scope)
    sets = basket_sets(start=start, end=end, min_orders_together=1, category_id=scope.category_id, scope=scope)
    partners = [
        products_bought_together(
            product_id=p.pk, start=start, end=end, min_orders_together=1, category_id=scope.category_id, scope=scope
        )
        for p in products
    ]
    return pairs, sets, partners


def _read(products: list[Product], *, category_id: int | None = None, packed: bool) -> tuple[object, ...]:
    start, end = _period()
    days = basket._site_days(start, end)
    assert days is not None
    assert (basket._packed_scope_rows(days[0], days[1], None) is not None) == packed
    return _figures(basket_scope(start=start, end=end, category_id=category_id), products)


def _packed_days() -> set[dt.date]:
    return set(BasketDayPack.objects.values_list("day", flat=True))


def test_packed_days_give_the_figures_the_line_facts_give() -> None:
    products = _shop()
    shoes = products[0].category_id
    unpacked = _read(products, packed=False), _read(products, category_id=shoes, packed=False)

    assert basket_packs_fill() == basket_packs.PACKED_DAYS
    assert local_today() not in _packed_days()  # today's lines are read from the facts

    assert (_read(products, packed=True), _read(products, category_id=shoes, packed=True)) == unpacked
    pairs, _, _ = unpacked[0]
    assert pairs.orders_total == 11  # the cancelled order left out, today's in


def test_a_day_whose_lines_change_loses_its_pack_and_is_read_from_the_facts() -> None:
    products = _shop()
    basket_packs_fill()
    cancelled = Order.objects.filter(placed_at__lt=timezone.now() - dt.timedelta(days=6, hours=12)).earliest("id")
    day = local_date(cancelled.placed_at)
    Order.objects.filter(pk=cancelled.pk).update(status=OrderStatus.CANCELLED)
    sales_facts_refresh(order_ids=[cancelled.pk])

    assert day not in _packed_days() and len(_packed_days()) == basket_packs.PACKED_DAYS - 1
    after_change = _read(products, packed=True)
    BasketDayPack.objects.all().delete()
    assert after_change == _read(products, packed=False)
    assert basket_packs_fill() == basket_packs.PACKED_DAYS  # the worker packs every day again


def test_only_a_change_of_day_order_or_product_unpacks_a_day() -> None:
    _shop()
    basket_packs_fill()
    table = connection.ops.quote_name(SalesLineFact._meta.db_table)
    line = SalesLineFact.objects.filter(day__lt=local_today()).earliest("line_id")
    with connection.cursor() as cursor:
        # The buyer's chains are not the basket's: the packs stay.
        cursor.execute(f"UPDATE {table} SET prev_product_day = day WHERE line_id = %s", [line.line_id])
        assert len(_packed_days()) == basket_packs.PACKED_DAYS
        cursor.execute(f"UPDATE {table} SET product_id = product_id WHERE line_id = %s", [line.line_id])  # as it was
        assert len(_packed_days()) == basket_packs.PACKED_DAYS
        other = Product.objects.exclude(pk=line.product_id).first()
        assert other is not None
        cursor.execute(f"UPDATE {table} SET product_id = %s WHERE line_id = %s", [other.pk, line.line_id])
        assert _packed_days() == set(_all_days()) - {line.day}
        cursor.execute(f"TRUNCATE {table}")
        assert not _packed_days()


def _all_days() -> list[dt.date]:
    today = local_today()
    return [today - dt.timedelta(days=n) for n in range(1, basket_packs.PACKED_DAYS + 1)]


def test_a_day_with_an_order_id_too_large_to_pack_is_read_from_the_facts() -> None:
    products = _shop()
    big = OrderFactory(pk=2**31 + 5, placed_at=timezone.now() - dt.timedelta(days=6))
    OrderLineFactory(order=big, product=products[0], line_no=1)
    OrderLineFactory(order=big, product=products[4], line_no=2)
    sales_facts_catch_up()
    unpacked = _read(products, packed=False)

    assert basket_packs_fill() == basket_packs.PACKED_DAYS - 1
    assert local_date(big.placed_at) not in _packed_days()
    assert _read(products, packed=True) == unpacked


@pytest.mark.django_db(transaction=True)
def test_the_fill_waits_for_a_writer_of_the_line_facts_and_gives_up_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # A writer holds its lock until it commits: a pack made meanwhile could miss its lines, so none is made.
    _shop()
    monkeypatch.setattr(basket_packs, "_LOCK_TIMEOUT", "200ms")
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"], dbname=settings["NAME"]
    ) as writer:
        writer.execute(f"LOCK TABLE {SalesLineFact._meta.db_table} IN ROW EXCLUSIVE MODE")
        assert basket_packs_fill() == 0
    assert not _packed_days()
    assert basket_packs_fill() == basket_packs.PACKED_DAYS


def test_packs_further_back_than_the_days_kept_are_dropped() -> None:
    _shop()
    basket_packs_fill()
    assert basket_packs_fill(days=10) == 0
    assert _packed_days() == set(_all_days()[:10])


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_packs_and_the_other_days_are_read_at_one_snapshot() -> None:
    # The screen's own transaction: repeatable read, its first statement (no caller's transaction around it here).
    products = _shop()
    unpacked = _read(products, packed=False)
    basket_packs_fill()
    assert not connection.in_atomic_block
    assert _read(products, packed=True) == unpacked


def test_the_nightly_run_leaves_every_day_packed_again() -> None:
    products = _shop()
    basket_packs_fill()
    assert analytics_nightly_run(force=True)  # its rebuild of the line facts unpacks every day
    assert len(_packed_days()) == basket_packs.PACKED_DAYS
    unpacked_after = _read(products, packed=True)
    BasketDayPack.objects.all().delete()
    assert _read(products, packed=False) == unpacked_after
