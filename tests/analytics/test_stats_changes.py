"""The full recompute over current figures writes only the rows that differ (PostgreSQL, ADR 0036): the table then
holds exactly what the SQL gives, the unchanged rows untouched; many changes, or a stored value outside the packed
ranges, rebuild the table instead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection
from django.utils import timezone

from tests.analytics.test_stats_full import D, _edge_cases, _sql_rows, _stored_rows, postgresql_only
from tests.factories import CategoryFactory, CompanyFactory, OrderLineFactory
from tokui.analytics import stats_changes
from tokui.analytics.models import CustomerStats
from tokui.analytics.services import stats_recompute_all
from tokui.commerce.enums import OrderStatus
from tokui.commerce.models import Order

pytestmark = [postgresql_only, pytest.mark.django_db(transaction=True)]


def _table_oid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::regclass::oid", [CustomerStats._meta.db_table])
        return int(cursor.fetchone()[0])


def _many_customers(order_on: Callable[..., Order]) -> list[int]:
    _edge_cases(order_on)
    companies = [CompanyFactory() for _ in range(30)]
    for index, company in enumerate(companies):
        order_on(D + dt.timedelta(days=index % 7), company=company, total=1000 + index)
        order_on(D + dt.timedelta(days=20 + index % 5), company=company, total=2000)
    return [company.pk for company in companies]


def test_a_recompute_over_current_figures_writes_only_the_customers_whose_figures_differ(
    order_on: Callable[..., Order],
) -> None:
    companies = _many_customers(order_on)
    first = timezone.now() - dt.timedelta(hours=1)
    stats_recompute_all(now=first)
    table = _table_oid()
    more, cancelled, tampered, moved = companies[:4]
    order_on(D + dt.timedelta(days=40), company_id=more, total=5000)  # an order the refresh did not see
    Order.objects.filter(company_id=cancelled).update(status=OrderStatus.CANCELLED)  # no counted order left
    newcomer = CompanyFactory()
    order_on(D, company=newcomer)
    CustomerStats.objects.filter(company_id=tampered).update(order_count=99)  # a figure gone wrong
    # A product moved to another category: the buyer's favourite changes without any order.
    line = OrderLineFactory(order=Order.objects.filter(company_id=moved).first(), line_no=2)
    line.product.category = CategoryFactory()
    line.product.save()

    second = timezone.now()
    assert stats_recompute_all(now=second) == len(_sql_rows())

    assert _stored_rows() == _sql_rows()
    assert _table_oid() == table  # written in place, not rebuilt
    written = set(CustomerStats.objects.filter(refreshed_at=second).values_list("company_id", flat=True))
    assert written == {more, newcomer.pk, tampered, moved}
    assert not CustomerStats.objects.filter(company_id=cancelled).exists()
    assert CustomerStats.objects.filter(refreshed_at=first).count() == len(_sql_rows()) - 4


def test_a_recompute_that_finds_nothing_changed_writes_nothing(order_on: Callable[..., Order]) -> None:
    _many_customers(order_on)
    first = timezone.now() - dt.timedelta(hours=1)
    stats_recompute_all(now=first)
    stats_recompute_all()
    assert set(CustomerStats.objects.values_list("refreshed_at", flat=True)) == {first}
    assert _stored_rows() == _sql_rows()


def test_a_recompute_rebuilds_the_table_when_many_figures_changed(order_on: Callable[..., Order]) -> None:
    companies = _many_customers(order_on)
    stats_recompute_all()
    table = _table_oid()
    for company in companies[:12]:  # 12 of 41 customers: past REBUILD_SHARE
        order_on(D + dt.timedelta(days=60), company_id=company)
    stats_recompute_all()
    assert _stored_rows() == _sql_rows()
    assert _table_oid() != table


def test_a_stored_day_outside_the_packed_range_makes_the_recompute_rebuild(order_on: Callable[..., Order]) -> None:
    companies = _many_customers(order_on)
    stats_recompute_all()
    table = _table_oid()
    CustomerStats.objects.filter(company_id=companies[0]).update(first_order_on=dt.date(6000, 1, 1))
    stats_recompute_all()
    assert _stored_rows() == _sql_rows()
    assert _table_oid() != table


def test_computed_figures_outside_the_packed_ranges_are_not_compared(order_on: Callable[..., Order]) -> None:
    from tokui.analytics.stats_full import stats_compute
    from tokui.core.money import default_currency

    _many_customers(order_on)
    stats = stats_compute(currency=default_currency())
    assert stats is not None
    stats.favourites[0, 0] = 1 << 22  # a category id past 21 bits
    stored = stats_changes.stored_figures()
    assert stored is not None
    assert stats_changes.changes(stats, stored) is None


def test_a_stored_null_left_out_of_its_concatenated_column_is_caught(order_on: Callable[..., Order]) -> None:
    # string_agg leaves a null out: an out-of-range day must not shift the rest of its column onto other rows.
    companies = _many_customers(order_on)
    stats_recompute_all()
    CustomerStats.objects.filter(company_id=companies[3]).update(last_order_on=dt.date(6000, 1, 1))
    assert stats_changes.stored_figures() is None
