"""The full recompute in arrays (PostgreSQL) gives exactly the figures of the SQL that the incremental refresh runs.

Hand-made customers cover each rule where the two could part: one order, same-day orders, cancelled, refunded and
other-currency orders, the 23:30 JST day boundary, B2C contacts (negative keys), category ties, a category bought
for nothing, lines without a product or category, an even number of intervals and a half-yen average.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from tests.analytics.conftest import jst
from tests.factories import (
    CategoryFactory,
    CompanyFactory,
    ContactFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
)
from tokui.analytics import stats_arrays, stats_full
from tokui.analytics.models import CustomerStats
from tokui.analytics.services import stats_recompute_all, stats_refresh
from tokui.analytics.stats_arrays import LineRows, Products, local_days, lookup
from tokui.analytics.stats_full import stats_compute
from tokui.analytics.stats_sql import STATS_COLUMNS, stats_select_sql
from tokui.commerce.enums import OrderStatus
from tokui.commerce.models import Order
from tokui.core.money import default_currency

D = dt.date(2026, 4, 1)
FIGURES = [column for column in STATS_COLUMNS if column != "refreshed_at"]
postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the array path is PostgreSQL's; SQLite runs the SQL"
)


def _sql_rows() -> list[tuple[Any, ...]]:
    sql, params = stats_select_sql(currency=default_currency(), refreshed_at=timezone.now(), scope=None)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted((tuple(row[:-1]) for row in cursor.fetchall()), key=repr)


def _stored_rows() -> list[tuple[Any, ...]]:
    return sorted(CustomerStats.objects.values_list(*FIGURES), key=repr)


def _edge_cases(order_on: Callable[..., Order]) -> tuple[Any, ...]:
    """Make the customers; returns the categories of the ties (shirts, pants, hats, bags, free)."""
    day = dt.timedelta(days=1)
    order_on(D, company=CompanyFactory(), total=12345)  # one order
    same_day = CompanyFactory()
    order_on(D, company=same_day, total=1000, hour=9)
    order_on(D, company=same_day, total=2001, hour=17)  # 3001 / 2 = 1500.5: rounded half away from zero
    order_on(D + 10 * day, company=same_day, total=3000)
    late = CompanyFactory()
    order_on(D, company=late, hour=23, minute=30)
    order_on(D + day, company=late, hour=0, minute=30)
    left_out = CompanyFactory()
    order_on(D, company=left_out, total=5000)
    order_on(D + 3 * day, company=left_out, status=OrderStatus.CANCELLED)
    order_on(D + 6 * day, company=left_out, status=OrderStatus.REFUNDED)
    order_on(D + 9 * day, company=left_out, currency="USD", total=120)
    order_on(D, company=CompanyFactory(), status=OrderStatus.CANCELLED)  # no counted order: no row
    even = CompanyFactory()
    for offset in (0, 2, 7, 17, 37):  # intervals 2, 5, 10, 20: median 7.5
        order_on(D + offset * day, company=even)
    buyer_company = CompanyFactory()
    order_on(D, company=buyer_company, contact=ContactFactory(company=buyer_company), total=4000)
    for index in range(2):
        individual = ContactFactory(company=None)
        order_on(D + index * day, company=None, contact=individual, total=2500 + index)
        order_on(D + (index + 5) * day, company=None, contact=individual, total=700)
    ties = CompanyFactory()
    shirts, pants, hats, bags, free = (CategoryFactory() for _ in range(5))
    order = OrderFactory(company=ties, placed_at=jst(D), total=Decimal(1300))
    lines = [(shirts, "300"), (pants, "500.50"), (hats, "300"), (bags, "100"), (shirts, "100"), (hats, "100")]
    lines += [(free, "0"), (bags, "-100")]
    for number, (category, amount) in enumerate(lines, start=1):
        OrderLineFactory(order=order, line_no=number, product__category=category, amount=Decimal(amount))
    OrderLineFactory(order=order, line_no=20, product=None, sku="GONE", product_name="gone", amount=Decimal(900))
    OrderLineFactory(order=order, line_no=21, product=ProductFactory(category=None), amount=Decimal(800))
    only_free = CompanyFactory()
    free_order = OrderFactory(company=only_free, placed_at=jst(D), total=Decimal(0))
    OrderLineFactory(order=free_order, line_no=1, product__category=free, amount=Decimal(0))
    return shirts, pants, hats, bags, free


@postgresql_only
@pytest.mark.django_db
def test_full_recompute_in_arrays_gives_the_figures_of_the_sql(order_on: Callable[..., Order]) -> None:
    shirts, pants, hats, _bags, free = _edge_cases(order_on)
    expected = _sql_rows()
    now = timezone.now()
    assert stats_recompute_all(now=now) == len(expected) == 10
    assert _stored_rows() == expected
    assert set(CustomerStats.objects.values_list("refreshed_at", flat=True)) == {now}
    ties = CustomerStats.objects.get(total_spend=Decimal(1300))
    favourites = [ties.favourite_category_1_id, ties.favourite_category_2_id, ties.favourite_category_3_id]
    assert favourites == [pants.pk, shirts.pk, hats.pk]  # 500.50, 400, 400 (tie: the smaller id first)
    assert CustomerStats.objects.get(total_spend=0).favourite_category_1_id == free.pk  # bought for nothing
    # The incremental refresh (the SQL, per customer) writes the same rows again.
    stats_refresh(
        company_ids=CustomerStats.objects.filter(company__isnull=False).values_list("company_id", flat=True),
        contact_ids=CustomerStats.objects.filter(contact__isnull=False).values_list("contact_id", flat=True),
    )
    assert _stored_rows() == expected


@postgresql_only
@pytest.mark.django_db
def test_favourites_by_sorting_equal_the_dense_table(
    order_on: Callable[..., Order], monkeypatch: pytest.MonkeyPatch
) -> None:
    _edge_cases(order_on)
    dense = stats_compute(currency=default_currency())
    monkeypatch.setattr(stats_arrays, "_DENSE_CELLS", 0)
    sorted_ = stats_compute(currency=default_currency())
    assert dense is not None and sorted_ is not None
    assert (dense.favourites >= 0).sum() > 10
    assert np.array_equal(dense.favourites, sorted_.favourites)


def test_lookup_finds_equal_keys_by_table_and_by_search_alike() -> None:
    keys = np.array([7, 3, 10_000_000_000, 5], dtype=np.int64)
    values = np.array([70, 30, 99, 50], dtype=np.int64)
    targets = np.array([3, 4, 5, 7, 10_000_000_000, -1, 2, 10_000_000_001], dtype=np.int64)
    expected = np.array([30, -1, 50, 70, 99, -1, -1, -1], dtype=np.int64)
    assert np.array_equal(lookup(keys, values, targets), expected)  # sparse: binary search
    compact = keys != 10_000_000_000
    in_range = np.where(targets == 10_000_000_000, -1, expected)
    assert np.array_equal(lookup(keys[compact], values[compact], targets), in_range)  # compact: a table


def test_favourites_rank_by_spend_then_category_id_with_zero_spend_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = LineRows(
        order_id=np.array([1, 1, 1, 1, 2, 2, 3, 9], dtype=np.int64),  # order 9 is not counted
        product_id=np.array([10, 20, 30, 40, 10, 50, 60, 40], dtype=np.int64),
        amount=np.array([300, 300, 0, 500, 100, 0, 100, 900], dtype=np.int64),
    )
    products = Products(
        product_id=np.array([10, 20, 30, 40, 50], dtype=np.int64),  # 60 has no category
        category_id=np.array([103, 102, 104, 101, 105], dtype=np.int64),
    )
    for cells in (1 << 26, 0):  # the dense table, then sorting
        monkeypatch.setattr(stats_arrays, "_DENSE_CELLS", cells)
        chosen = stats_arrays.favourites(
            order_id=np.array([1, 2, 3], dtype=np.int64),
            order_customer=np.array([0, 1, 2], dtype=np.int64),
            lines=lines,
            products=products,
            customers=3,
        )
        assert chosen.tolist() == [[101, 102, 103], [103, 105, -1], [-1, -1, -1]]
        positive = LineRows(order_id=lines.order_id[:2], product_id=lines.product_id[:2], amount=lines.amount[:2])
        chosen = stats_arrays.favourites(
            order_id=np.array([1], dtype=np.int64),
            order_customer=np.array([0], dtype=np.int64),
            lines=positive,
            products=products,
            customers=1,
        )
        assert chosen.tolist() == [[102, 103, -1]]  # 300 each: the smaller id first


def _schema() -> list[tuple[str, ...]]:
    table = CustomerStats._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [table])
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass ORDER BY 1",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute("SELECT attidentity FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'id'", [table])
        return [*indexes, *constraints, *cursor.fetchall()]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_full_recompute_outside_a_transaction_swaps_in_a_table_with_the_same_rows_and_schema(
    order_on: Callable[..., Order],
) -> None:
    _edge_cases(order_on)
    stale = CompanyFactory()
    order_on(D, company=stale)
    stats_refresh(company_ids=[stale.pk])
    Order.objects.filter(company=stale).update(status=OrderStatus.CANCELLED)
    schema = _schema()
    expected = _sql_rows()
    # Read on two connections, written beside and swapped in (nearly every row is new: ``stats_changes`` leaves
    # it to the rebuild).
    assert stats_recompute_all() == len(expected)
    assert _stored_rows() == expected
    assert _schema() == schema
    newcomer = CompanyFactory()
    order_on(D, company=newcomer)
    # The swapped-in table numbers new rows after its own (its id column is an identity again).
    assert stats_refresh(company_ids=[newcomer.pk]) == 1
    assert CustomerStats.objects.get(company=newcomer).pk > len(expected)


@postgresql_only
@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York", "Australia/Lord_Howe"])
def test_local_days_in_arrays_are_the_days_postgresql_gives(zone: str) -> None:
    # Every 7 min 13 s across two years: both daylight-saving changes of each year, at whatever minute they fall.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (EXTRACT(EPOCH FROM moment - TIMESTAMPTZ '2000-01-01 00:00:00+00') * 1000000)::int8, "
            "(moment AT TIME ZONE %s)::date - DATE '2000-01-01' "
            "FROM generate_series(TIMESTAMPTZ '2024-12-31 00:00:00+00', TIMESTAMPTZ '2026-12-31 23:59:00+00', "
            "INTERVAL '7 minutes 13 seconds') moment",
            [zone],
        )
        rows = np.array(cursor.fetchall(), dtype=np.int64)
    assert np.array_equal(local_days(rows[:, 0], ZoneInfo(zone)), rows[:, 1])


@postgresql_only
@pytest.mark.django_db
def test_an_incremental_refresh_waits_while_a_full_recompute_holds_the_stats_lock(
    order_on: Callable[..., Order],
) -> None:
    company = CompanyFactory()
    order_on(D, company=company)
    with psycopg.connect(**connection.get_connection_params()) as recompute:
        recompute.execute(f"SELECT pg_advisory_lock(hashtext('{stats_full.STATS_LOCK}'))")
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        with pytest.raises(OperationalError, match="lock timeout"):
            stats_refresh(company_ids=[company.pk])
        recompute.execute(f"SELECT pg_advisory_unlock(hashtext('{stats_full.STATS_LOCK}'))")
        assert stats_refresh(company_ids=[company.pk]) == 1
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = 0")
