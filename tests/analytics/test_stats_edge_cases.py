"""Per-customer stats on hand-made cases: each rule of the figures, proved on the smallest data that shows it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from tests.analytics.conftest import jst
from tests.factories import CategoryFactory, CompanyFactory, ContactFactory, OrderFactory, OrderLineFactory
from tokui.analytics.models import CustomerStats
from tokui.analytics.selectors import customer_stats_of_company, customer_stats_of_contact
from tokui.analytics.services import stats_recompute_all, stats_refresh
from tokui.commerce.enums import OrderStatus
from tokui.commerce.models import Order

pytestmark = pytest.mark.django_db

D = dt.date(2026, 4, 1)


def _stats(company_id: int) -> CustomerStats:
    stats = customer_stats_of_company(company_id=company_id)
    assert stats is not None
    return stats


def test_one_order_has_no_interval_and_no_prediction(order_on: Callable[..., Order]) -> None:
    company = CompanyFactory()
    order_on(D, company=company, total=12345)
    stats_recompute_all()
    stats = _stats(company.pk)
    assert (stats.first_order_on, stats.last_order_on) == (D, D)
    assert (stats.order_count, stats.order_days) == (1, 1)
    assert stats.total_spend == stats.average_spend == Decimal(12345)
    assert stats.average_interval_days is None
    assert stats.median_interval_days is None
    assert stats.predicted_next_order_on is None


def test_same_day_orders_count_as_orders_but_one_order_day(order_on: Callable[..., Order]) -> None:
    company = CompanyFactory()
    order_on(D, company=company, total=1000, hour=9)
    order_on(D, company=company, total=2000, hour=17)
    order_on(D + dt.timedelta(days=10), company=company, total=3001)
    stats_recompute_all()
    stats = _stats(company.pk)
    assert (stats.order_count, stats.order_days) == (3, 2)
    assert stats.total_spend == Decimal(6001)
    assert stats.average_spend == Decimal(2000)  # 6001 / 3 = 2000.33, rounded to whole yen
    assert stats.average_interval_days == stats.median_interval_days == 10.0
    assert stats.predicted_next_order_on == D + dt.timedelta(days=20)


def test_median_of_an_even_count_is_the_mean_of_the_middle_two_and_prediction_rounds_half_up(
    order_on: Callable[..., Order],
) -> None:
    company = CompanyFactory()
    # Intervals 2, 5, 10, 20: median 7.5 (rounded up to 8 days), mean 37 / 4 = 9.25.
    for offset in (0, 2, 7, 17, 37):
        order_on(D + dt.timedelta(days=offset), company=company)
    stats_recompute_all()
    stats = _stats(company.pk)
    assert stats.median_interval_days == 7.5
    assert stats.average_interval_days == 9.25
    assert stats.predicted_next_order_on == D + dt.timedelta(days=37 + 8)


def test_cancelled_and_refunded_orders_are_left_out(order_on: Callable[..., Order]) -> None:
    company = CompanyFactory()
    order_on(D, company=company, total=5000)
    order_on(D + dt.timedelta(days=3), company=company, total=7000, status=OrderStatus.CANCELLED)
    order_on(D + dt.timedelta(days=6), company=company, total=9000, status=OrderStatus.REFUNDED)
    only_cancelled = CompanyFactory()
    order_on(D, company=only_cancelled, status=OrderStatus.CANCELLED)
    stats_recompute_all()
    stats = _stats(company.pk)
    assert (stats.order_count, stats.total_spend, stats.last_order_on) == (1, Decimal(5000), D)
    assert customer_stats_of_company(company_id=only_cancelled.pk) is None


def test_orders_in_another_currency_are_left_out(order_on: Callable[..., Order]) -> None:
    company = CompanyFactory()
    order_on(D, company=company, total=5000)
    order_on(D + dt.timedelta(days=1), company=company, total=120, currency="USD")
    stats_recompute_all()
    stats = _stats(company.pk)
    assert (stats.order_count, stats.total_spend, stats.last_order_on) == (1, Decimal(5000), D)


def test_an_order_at_2330_jst_belongs_to_that_jst_day(order_on: Callable[..., Order]) -> None:
    company = CompanyFactory()
    late = order_on(D, company=company, hour=23, minute=30)  # 14:30 UTC the same day
    early = order_on(D + dt.timedelta(days=1), company=company, hour=0, minute=30)  # 15:30 UTC the day before
    assert late.placed_at.astimezone(dt.UTC).date() == D
    assert early.placed_at.astimezone(dt.UTC).date() == D
    stats_recompute_all()
    stats = _stats(company.pk)
    assert (stats.first_order_on, stats.last_order_on) == (D, D + dt.timedelta(days=1))
    assert (stats.order_days, stats.median_interval_days) == (2, 1.0)


def test_b2c_orders_are_counted_per_contact_and_b2b_orders_per_company(order_on: Callable[..., Order]) -> None:
    company = CompanyFactory()
    buyer = ContactFactory(company=company)
    individual = ContactFactory(company=None)
    order_on(D, company=company, contact=buyer, total=4000)
    order_on(D, company=None, contact=individual, total=2500)
    stats_recompute_all()
    assert _stats(company.pk).total_spend == Decimal(4000)
    assert customer_stats_of_contact(contact_id=buyer.pk) is None
    b2c = customer_stats_of_contact(contact_id=individual.pk)
    assert b2c is not None and b2c.company_id is None and b2c.total_spend == Decimal(2500)


def test_favourite_categories_are_the_three_of_largest_spend_ties_by_id() -> None:
    company = CompanyFactory()
    shirts, pants, hats, bags = (CategoryFactory() for _ in range(4))
    order = OrderFactory(company=company, placed_at=jst(D), total=Decimal(100))
    for number, (category, amount) in enumerate(
        [(shirts, 300), (pants, 500), (hats, 300), (bags, 100), (shirts, 100)], start=1
    ):
        OrderLineFactory(order=order, line_no=number, product__category=category, amount=Decimal(amount))
    stats_recompute_all()
    stats = _stats(company.pk)
    # pants 500, shirts 400, hats 300, bags 100.
    assert [stats.favourite_category_1_id, stats.favourite_category_2_id, stats.favourite_category_3_id] == [
        pants.pk,
        shirts.pk,
        hats.pk,
    ]


def test_refresh_of_some_customers_leaves_the_others_and_drops_customers_without_orders(
    order_on: Callable[..., Order],
) -> None:
    first, second = CompanyFactory(), CompanyFactory()
    cancelled_later = order_on(D, company=first)
    order_on(D, company=second)
    stats_recompute_all()
    Order.objects.filter(pk=cancelled_later.pk).update(status=OrderStatus.CANCELLED)
    order_on(D + dt.timedelta(days=5), company=second, total=1)
    assert stats_refresh(company_ids=[first.pk]) == 0
    assert customer_stats_of_company(company_id=first.pk) is None
    assert _stats(second.pk).order_count == 1  # not refreshed yet
    stats_refresh(company_ids=[second.pk])
    assert _stats(second.pk).order_count == 2
