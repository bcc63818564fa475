"""The scope's (order, product) rows leave the database whole, whichever way they are read."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from tests.factories import OrderFactory, OrderLineFactory, ProductFactory
from tokui.analytics import basket_counts
from tokui.analytics.basket import _scope_sql
from tokui.commerce.enums import OrderStatus

pytestmark = pytest.mark.django_db

START = timezone.now() - dt.timedelta(days=30)
END = timezone.now() + dt.timedelta(days=1)


def _shop() -> set[tuple[int, int]]:
    """A few orders (one cancelled, one product twice in an order); returns the (order, product) rows counted."""
    products = [ProductFactory() for _ in range(4)]
    rows = set()
    for number, chosen in enumerate([(0, 1), (1, 2, 3), (0, 0, 2), (3,)]):
        order = OrderFactory(placed_at=timezone.now() - dt.timedelta(days=number + 1))
        for line_no, index in enumerate(chosen, start=1):
            OrderLineFactory(order=order, product=products[index], line_no=line_no)
            rows.add((order.pk, products[index].pk))
    cancelled = OrderFactory(status=OrderStatus.CANCELLED, placed_at=timezone.now() - dt.timedelta(days=2))
    OrderLineFactory(order=cancelled, product=products[0], line_no=1)
    return rows


def _as_set(found: tuple[np.ndarray, np.ndarray]) -> set[tuple[int, int]]:
    orders, products = found
    assert orders.dtype == np.int64 and products.dtype == np.int64
    return {(int(order), int(product)) for order, product in zip(orders, products, strict=True)}


def test_the_rows_read_are_the_counted_orders_lines() -> None:
    expected = _shop()
    assert _as_set(basket_counts.scope_rows(*_scope_sql(start=START, end=END, category_ids=None))) == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the aggregated read and COPY are PostgreSQL's")
def test_one_aggregated_value_and_a_copy_row_by_row_read_the_same_rows() -> None:
    expected = _shop()
    sql, params = _scope_sql(start=START, end=END, category_ids=None, distinct=False)
    aggregated, copied = basket_counts._rows_aggregated(sql, params), basket_counts._rows_copied(sql, params)
    assert _as_set(aggregated) == _as_set(copied) == expected
    assert aggregated[0].size == copied[0].size == 9  # every line, the repeated product too


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the aggregated read and COPY are PostgreSQL's")
def test_a_scope_too_large_for_one_value_is_read_row_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _shop()

    def too_large(sql: str, params: list[object]) -> tuple[np.ndarray, np.ndarray]:
        raise OperationalError("out of memory: Cannot enlarge string buffer")

    monkeypatch.setattr(basket_counts, "_rows_aggregated", too_large)
    assert _as_set(basket_counts.scope_rows(*_scope_sql(start=START, end=END, category_ids=None))) == expected


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the aggregated read and COPY are PostgreSQL's")
def test_an_empty_scope_reads_no_rows_either_way() -> None:
    sql, params = _scope_sql(start=START, end=END, category_ids=None)
    for read in (basket_counts._rows_aggregated, basket_counts._rows_copied):
        orders, products = read(sql, params)
        assert orders.size == products.size == 0


def _values_sql(rows: list[tuple[int, int]]) -> str:
    listed = ", ".join(f"({order}::int8, {product}::int8)" for order, product in rows)
    return f"SELECT order_id, product_id FROM (VALUES {listed}) v (order_id, product_id)"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the aggregated read is PostgreSQL's")
def test_a_product_id_above_the_catalogues_largest_is_read_whole() -> None:
    # A line fact keeps the id of a product deleted since: it does not fit the width packed beside the order id.
    top = ProductFactory().pk
    rows = [(7, top), (7, 1), (8, top * 4 + 3), (2**40, top)]
    assert _as_set(basket_counts._rows_aggregated(_values_sql(rows), [])) == set(rows)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the aggregated read is PostgreSQL's")
def test_an_order_id_too_large_to_pack_is_read_whole() -> None:
    top = ProductFactory().pk
    rows = [(2**62, top), (3, top)]  # 2**62 shifted by the product bits is past int64
    assert _as_set(basket_counts._rows_aggregated(_values_sql(rows), [])) == set(rows)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the second connection is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_two_halves_read_at_once_give_the_rows_of_the_whole_period() -> None:
    # Outside a transaction the second half is read by a second connection at the first one's snapshot.
    expected = _shop()
    middle = timezone.now() - dt.timedelta(days=2, hours=12)
    first = _scope_sql(start=START, end=middle, category_ids=None, distinct=False)
    second = _scope_sql(start=middle, end=END, category_ids=None, distinct=False)
    assert not connection.in_atomic_block
    orders, products = basket_counts.scope_rows_in_halves(first, second)
    assert _as_set((orders, products)) == expected
    assert orders.size == 9
    assert _as_set(basket_counts.scope_rows(*first)) and _as_set(basket_counts.scope_rows(*second))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the second connection is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_an_error_reading_the_second_half_reaches_the_caller() -> None:
    _shop()
    first = _scope_sql(start=START, end=END, category_ids=None, distinct=False)
    with pytest.raises(Exception, match="syntax error"):
        basket_counts.scope_rows_in_halves(first, ("SELECT order_id, product_id FROM nowhere WHERE", []))
    assert _as_set(basket_counts.scope_rows(*first))  # this connection is usable after
