"""Sales analysis and rankings on the demo data, every figure against the plain reference (sales_reference.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.analytics.sales_reference import Reference, bucket
from tests.factories import UserFactory
from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.analytics.report_types import Breakdown, SalesFilters
from tokui.analytics.sales import sales_report
from tokui.catalog.models import Category
from tokui.core.time import add_months
from tokui.customers.models import Company
from tokui.demo.generator import load_demo_data

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

TODAY = dt.date(2026, 3, 20)
ZERO = (Decimal(0), 0, 0, 0)
ORDER_KEYS: dict[str, Any] = {
    Breakdown.CHANNEL: lambda o: o["channel"],
    Breakdown.PREFECTURE: lambda o: o["company__prefecture"] if o["company_id"] else o["contact__prefecture"],
    Breakdown.SALES_REP: lambda o: o["company__assigned_rep_id"],
    Breakdown.COMPANY_SIZE: lambda o: o["company__size"],
}
LINE_KEYS: dict[str, Any] = {
    Breakdown.CATEGORY: lambda o, line: line["product__category_id"],
    Breakdown.PRODUCT: lambda o, line: line["product_id"],
}


@pytest.fixture
def demo() -> Reference:
    load_demo_data(seed=7, scale=0.05, today=TODAY)
    return Reference()


def _key(k: Any) -> str:
    return "none" if k is None else str(k)


def _check_periods(report: Any, reference: Reference, granularity: str, **options: Any) -> None:
    per_day = {}
    for start, end, attribute in (
        (report.start, report.end, "current"),
        (report.previous_start, report.previous_end, "previous"),
    ):
        expected = reference.figures(start, end, key=lambda o: bucket(o["day"], granularity), **options)
        per_day[attribute] = expected
    for row in report.periods:
        got = row.current
        assert (got.revenue, got.orders, got.units, got.buyers) == per_day["current"].get(row.start, ZERO), row.start
        got = row.previous
        assert (got.revenue, got.orders, got.units, got.buyers) == per_day["previous"].get(row.previous_start, ZERO)
    assert sum(len(v) for v in per_day.values()) > 0


def _figures(row: Any) -> tuple[Decimal, int, int, int]:
    return (row.revenue, row.orders, row.units, row.buyers)


def test_every_sales_figure_on_the_demo_data_matches_the_reference(demo: Reference) -> None:
    admin = UserFactory(username="boss", role=Role.ADMIN)
    year_start = add_months(TODAY.replace(day=1), -12)
    ranges = (
        ("month", year_start, TODAY, "year"),
        ("week", TODAY - dt.timedelta(days=180), TODAY, "previous"),
        ("day", TODAY - dt.timedelta(days=45), TODAY, "previous"),
    )
    for granularity, start, end, comparison in ranges:
        report = sales_report(user=admin, start=start, end=end, granularity=granularity, comparison=comparison)
        _check_periods(report, demo, granularity)
        assert _figures(report.totals.current) == demo.figures(start, end)[None]
        assert _figures(report.totals.previous) == demo.figures(report.previous_start, report.previous_end)[None]
    assert sum(row.current.orders for row in report.periods) > 10, "the demo has recent orders"

    for breakdown in Breakdown.values:
        report = sales_report(user=admin, start=year_start, end=TODAY, breakdown=breakdown)
        options = {"key": ORDER_KEYS.get(breakdown), "line_key": LINE_KEYS.get(breakdown)}
        expected = demo.figures(year_start, TODAY, **options)
        before = demo.figures(report.previous_start, report.previous_end, **options)
        rows = {row.key: row for row in report.breakdown_rows}
        assert {k for k, row in rows.items() if row.current.orders} == {_key(k) for k in expected}, breakdown
        for k, figures in expected.items():
            assert _figures(rows[_key(k)].current) == figures, (breakdown, k)
        for k, figures in before.items():
            assert _figures(rows[_key(k)].previous) == figures, (breakdown, k)
        assert len(rows) > 1, breakdown
        assert sum(row.share or 0 for row in rows.values()) == pytest.approx(1.0)

    # A top category (with its subcategories) filters every figure to its lines.
    top = Category.objects.filter(parent__isnull=True, children__isnull=False).order_by("pk").first()
    assert top is not None
    report = sales_report(
        user=admin, start=year_start, end=TODAY, filters=SalesFilters(category_id=top.pk), breakdown="channel"
    )
    _check_periods(report, demo, "month", category_id=top.pk)
    expected = demo.figures(year_start, TODAY, key=ORDER_KEYS["channel"], category_id=top.pk)
    assert {row.key: _figures(row.current) for row in report.breakdown_rows if row.current.orders} == {
        _key(k): v for k, v in expected.items()
    }
    for filters in ({"channel": "sales_rep"}, {"prefecture": "13"}, {"company_size": "medium"}):
        report = sales_report(user=admin, start=year_start, end=TODAY, filters=SalesFilters(**filters))
        assert _figures(report.totals.current) == demo.figures(year_start, TODAY, filters=filters).get(None, ZERO)


def test_a_sales_rep_on_the_demo_data_sees_exactly_their_companies(demo: Reference) -> None:
    rep = User.objects.filter(role=Role.SALES_REP, assigned_companies__isnull=False).distinct().order_by("pk").first()
    assert rep is not None
    mine = set(Company.objects.filter(assigned_rep=rep).values_list("pk", flat=True))
    start = add_months(TODAY.replace(day=1), -12)
    report = sales_report(user=rep, start=start, end=TODAY, breakdown="channel")
    assert _figures(report.totals.current) == demo.figures(start, TODAY, companies=mine)[None]
    everyone = demo.figures(start, TODAY)[None]
    assert report.totals.current.revenue < everyone[0]
    _check_periods(report, demo, "month", companies=mine)
