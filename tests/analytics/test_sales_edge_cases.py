"""Sales analysis on hand-made edge cases, each figure against the plain reference in sales_reference.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from tests.analytics.sales_reference import Reference, bucket
from tests.factories import (
    CategoryFactory,
    CompanyFactory,
    ContactFactory,
    OrderLineFactory,
    ProductFactory,
    UserFactory,
)
from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.analytics.report_types import Breakdown, Comparison, Granularity, SalesFigures, SalesFilters
from tokui.analytics.sales import comparison_range, period_starts, sales_report
from tokui.commerce.enums import OrderChannel, OrderStatus
from tokui.commerce.models import Order
from tokui.customers.enums import CompanySize

pytestmark = pytest.mark.django_db

MAR = dt.date(2026, 3, 1)


@pytest.fixture
def admin() -> User:
    return UserFactory(username="boss", role=Role.ADMIN)


def figures(f: SalesFigures) -> tuple[Decimal, int, int, int]:
    return (f.revenue, f.orders, f.units, f.buyers)


def test_an_order_at_23_30_jst_belongs_to_that_day_and_one_at_00_30_to_the_next(
    order_on: Callable[..., Order], admin: User
) -> None:
    # Both are on 2026-03-10 in UTC (14:30 and 15:30): only the JST day separates them.
    order_on(dt.date(2026, 3, 10), hour=23, minute=30, total=1000)
    order_on(dt.date(2026, 3, 11), hour=0, minute=30, total=2000)
    report = sales_report(user=admin, start=dt.date(2026, 3, 10), end=dt.date(2026, 3, 11), granularity=Granularity.DAY)
    assert [(row.start, row.current.revenue, row.current.orders) for row in report.periods] == [
        (dt.date(2026, 3, 10), Decimal(1000), 1),
        (dt.date(2026, 3, 11), Decimal(2000), 1),
    ]
    # The day before the range ends at 24:00 JST: a range of only the 11th excludes the 23:30 order.
    only_11th = sales_report(user=admin, start=dt.date(2026, 3, 11), end=dt.date(2026, 3, 11), granularity="day")
    assert only_11th.totals.current.revenue == Decimal(2000)


def test_a_month_boundary_is_cut_in_japan_time(order_on: Callable[..., Order], admin: User) -> None:
    order_on(dt.date(2026, 3, 31), hour=23, minute=30, total=1000)  # 14:30 UTC on 31 March
    order_on(dt.date(2026, 4, 1), hour=0, minute=30, total=3000)  # 15:30 UTC on 31 March
    report = sales_report(user=admin, start=dt.date(2026, 3, 1), end=dt.date(2026, 4, 30), granularity="month")
    assert [(row.start, row.current.revenue) for row in report.periods] == [
        (dt.date(2026, 3, 1), Decimal(1000)),
        (dt.date(2026, 4, 1), Decimal(3000)),
    ]


def test_a_week_crossing_months_is_one_monday_week(order_on: Callable[..., Order], admin: User) -> None:
    # 2026-03-30 is a Monday; its week runs to Sunday 5 April.
    for day, total in ((dt.date(2026, 3, 29), 500), (dt.date(2026, 3, 30), 1000), (dt.date(2026, 4, 5), 2000)):
        order_on(day, total=total, hour=23, minute=59)
    order_on(dt.date(2026, 4, 6), total=4000, hour=0, minute=1)
    report = sales_report(user=admin, start=dt.date(2026, 3, 29), end=dt.date(2026, 4, 6), granularity="week")
    assert [(row.start, row.current.revenue) for row in report.periods] == [
        (dt.date(2026, 3, 23), Decimal(500)),
        (dt.date(2026, 3, 30), Decimal(3000)),
        (dt.date(2026, 4, 6), Decimal(4000)),
    ]
    assert period_starts(start=dt.date(2026, 3, 29), end=dt.date(2026, 4, 6), granularity="week") == [
        dt.date(2026, 3, 23),
        dt.date(2026, 3, 30),
        dt.date(2026, 4, 6),
    ]


def test_cancelled_refunded_and_other_currency_orders_are_left_out_and_the_others_counted(
    order_on: Callable[..., Order], admin: User
) -> None:
    order_on(MAR, total=10000)
    order_on(MAR, total=20000, status=OrderStatus.CANCELLED)
    order_on(MAR, total=30000, status=OrderStatus.REFUNDED)
    order_on(MAR, total=400, currency="USD")
    order_on(MAR, total=500, currency="USD", status=OrderStatus.CANCELLED)  # not a sale in any currency
    report = sales_report(user=admin, start=MAR, end=MAR)
    assert figures(report.totals.current) == (Decimal(10000), 1, 2, 1)
    assert report.other_currency_orders == 1
    assert figures(report.totals.current) == Reference().figures(MAR, MAR)[None]


def test_same_day_orders_of_one_company_are_two_orders_and_one_buyer_and_b2c_counts_the_contact(
    order_on: Callable[..., Order], admin: User
) -> None:
    shop = CompanyFactory()
    person = ContactFactory(company=None)
    order_on(MAR, company=shop, total=1000, hour=9)
    order_on(MAR, company=shop, total=3000, hour=17)
    order_on(MAR, company=None, contact=person, total=600)
    order_on(MAR, company=None, contact=person, total=400)
    total = sales_report(user=admin, start=MAR, end=MAR).totals.current
    assert figures(total) == (Decimal(5000), 4, 8, 2)
    assert total.aov == Decimal(1250)


def test_a_sales_rep_sees_only_the_orders_of_their_companies(order_on: Callable[..., Order], admin: User) -> None:
    rep = UserFactory(username="rep", role=Role.SALES_REP)
    mine = CompanyFactory(assigned_rep=rep)
    order_on(MAR, company=mine, total=1000)
    order_on(MAR, company=CompanyFactory(), total=2000)
    order_on(MAR, company=None, contact=ContactFactory(company=None), total=4000)
    assert sales_report(user=rep, start=MAR, end=MAR).totals.current.revenue == Decimal(1000)
    by_category = sales_report(user=rep, start=MAR, end=MAR, breakdown=Breakdown.CATEGORY)
    assert [row.current.revenue for row in by_category.breakdown_rows] == [Decimal(1000)]  # its one line
    assert sales_report(user=admin, start=MAR, end=MAR).totals.current.revenue == Decimal(7000)
    rep.sees_all_accounts = True
    assert sales_report(user=rep, start=MAR, end=MAR).totals.current.revenue == Decimal(7000)


def test_comparison_is_the_previous_period_of_equal_length_or_the_same_days_last_year(
    order_on: Callable[..., Order], admin: User
) -> None:
    start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 10)
    assert comparison_range(start=start, end=end, comparison=Comparison.PREVIOUS_PERIOD) == (
        dt.date(2026, 2, 19),
        dt.date(2026, 2, 28),
    )
    assert comparison_range(start=start, end=end, comparison=Comparison.PREVIOUS_YEAR) == (
        dt.date(2025, 3, 1),
        dt.date(2025, 3, 10),
    )
    assert comparison_range(start=dt.date(2028, 2, 29), end=dt.date(2028, 2, 29), comparison="year") == (
        dt.date(2027, 2, 28),
        dt.date(2027, 2, 28),
    )
    order_on(dt.date(2026, 3, 5), total=15000)
    order_on(dt.date(2026, 2, 19), total=10000)
    order_on(dt.date(2026, 2, 18), total=99999)  # a day before the comparison period
    order_on(dt.date(2025, 3, 10), total=30000)
    previous = sales_report(user=admin, start=start, end=end, granularity="day", comparison="previous")
    assert previous.totals.previous.revenue == Decimal(10000)
    assert previous.totals.revenue_change.absolute == Decimal(5000)
    assert previous.totals.revenue_change.percent == pytest.approx(50.0)
    assert previous.periods[0].previous_start == dt.date(2026, 2, 19)
    assert previous.periods[0].previous.revenue == Decimal(10000)
    yearly = sales_report(user=admin, start=start, end=end, granularity="day", comparison="year")
    assert yearly.totals.previous.revenue == Decimal(30000)
    assert yearly.totals.revenue_change.percent == pytest.approx(-50.0)
    assert yearly.periods[9].previous.revenue == Decimal(30000)


def test_a_category_filter_takes_its_subcategories_and_counts_line_amounts(
    order_on: Callable[..., Order], admin: User
) -> None:
    tops = CategoryFactory(name="トップス")
    shirts = CategoryFactory(name="シャツ", parent=tops)
    bottoms = CategoryFactory(name="ボトムス")
    order = order_on(MAR, total=30000, category=shirts)  # a 30,000 shirt line
    OrderLineFactory(order=order, product=ProductFactory(category=bottoms), amount=Decimal(20000), quantity=1)
    order_on(MAR, total=5000, category=bottoms)
    report = sales_report(user=admin, start=MAR, end=MAR, filters=SalesFilters(category_id=tops.pk))
    assert report.line_based
    assert figures(report.totals.current) == (Decimal(30000), 1, 2, 1)  # the shirt line only, not the 20,000 bottoms
    assert figures(report.totals.current) == Reference().figures(MAR, MAR, category_id=tops.pk)[None]


def test_every_breakdown_and_filter_matches_the_reference(order_on: Callable[..., Order], admin: User) -> None:
    rep = UserFactory(username="rep2", role=Role.SALES_REP, first_name="次郎")
    tops = CategoryFactory(name="トップス")
    shirts = CategoryFactory(name="シャツ", parent=tops)
    big = CompanyFactory(size="large", prefecture="27", assigned_rep=rep)
    small = CompanyFactory(size="small", prefecture="13")
    person = ContactFactory(company=None, prefecture="01")
    order_on(dt.date(2026, 3, 2), company=big, total=12000, channel=OrderChannel.SALES_REP, category=shirts)
    order_on(dt.date(2026, 3, 3), company=small, total=8000, channel=OrderChannel.FAX, category=tops)
    order_on(dt.date(2026, 3, 3), company=None, contact=person, total=3000)
    order_on(dt.date(2025, 3, 3), company=small, total=9000, channel=OrderChannel.FAX)
    reference = Reference()
    start, end = dt.date(2026, 3, 1), dt.date(2026, 3, 31)
    keys = {
        Breakdown.CHANNEL: (lambda o: o["channel"], None),
        Breakdown.PREFECTURE: (
            lambda o: o["company__prefecture"] if o["company_id"] else o["contact__prefecture"],
            None,
        ),
        Breakdown.SALES_REP: (lambda o: o["company__assigned_rep_id"], None),
        Breakdown.COMPANY_SIZE: (lambda o: o["company__size"], None),
        Breakdown.CATEGORY: (None, lambda o, line: line["product__category_id"]),
        Breakdown.PRODUCT: (None, lambda o, line: line["product_id"]),
    }
    for breakdown, (key, line_key) in keys.items():
        report = sales_report(user=admin, start=start, end=end, breakdown=breakdown)
        expected = reference.figures(start, end, key=key, line_key=line_key)
        got = {row.key: figures(row.current) for row in report.breakdown_rows if row.current.orders}
        assert got == {("none" if k is None else str(k)): v for k, v in expected.items()}, breakdown
        before = reference.figures(report.previous_start, report.previous_end, key=key, line_key=line_key)
        got_before = {row.key: figures(row.previous) for row in report.breakdown_rows if row.previous.orders}
        assert got_before == {("none" if k is None else str(k)): v for k, v in before.items()}, breakdown
        assert sum(row.share or 0 for row in report.breakdown_rows) == pytest.approx(1.0)
    for filters in (
        {"channel": "fax"},
        {"prefecture": "01"},
        {"prefecture": "27"},
        {"sales_rep_id": rep.pk},
        {"company_size": "small"},
    ):
        report = sales_report(user=admin, start=start, end=end, filters=SalesFilters(**filters))  # type: ignore[arg-type]
        assert figures(report.totals.current) == reference.figures(start, end, filters=filters).get(
            None, (Decimal(0), 0, 0, 0)
        ), filters
    sizes = sales_report(user=admin, start=start, end=end, breakdown="company_size").breakdown_rows
    assert {row.key: row.label for row in sizes} == {
        "large": str(CompanySize.LARGE.label),
        "small": str(CompanySize.SMALL.label),
        "none": "個人のお客様（B2C）",
    }


def test_periods_cover_every_bucket_even_without_orders(order_on: Callable[..., Order], admin: User) -> None:
    order_on(dt.date(2026, 1, 15), total=1000)
    report = sales_report(user=admin, start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 5), granularity="month")
    assert [row.start for row in report.periods] == [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    assert [row.current.revenue for row in report.periods] == [Decimal(1000), Decimal(0), Decimal(0)]
    assert bucket(dt.date(2026, 3, 5), "week") == dt.date(2026, 3, 2)


def test_a_year_on_year_comparison_of_more_than_a_year_counts_the_shared_months_in_both(
    order_on: Callable[..., Order], admin: User
) -> None:
    order_on(dt.date(2025, 2, 10), total=1000)  # in the report and in its comparison
    order_on(dt.date(2024, 6, 10), total=300)  # in the comparison only
    order_on(dt.date(2026, 2, 10), total=500)  # in the report only
    report = sales_report(user=admin, start=dt.date(2025, 1, 1), end=dt.date(2026, 3, 31), comparison="year")
    assert (report.previous_start, report.previous_end) == (dt.date(2024, 1, 1), dt.date(2025, 3, 31))
    assert report.totals.current.revenue == Decimal(1500)
    assert report.totals.previous.revenue == Decimal(1300)
    months = {row.start: (row.current.revenue, row.previous.revenue) for row in report.periods}
    assert months[dt.date(2025, 2, 1)] == (Decimal(1000), Decimal(0))
    assert months[dt.date(2025, 6, 1)] == (Decimal(0), Decimal(300))
    assert months[dt.date(2026, 2, 1)] == (Decimal(500), Decimal(1000))
