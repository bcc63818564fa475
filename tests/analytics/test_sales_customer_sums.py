"""The order day sums per customer attribute (ADR 0045): filters and breakdowns by prefecture, company size and
sales rep read them, match the reference, follow a customer's changes, and are the rows a rebuild writes."""

from __future__ import annotations

import datetime as dt
import importlib
import random
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.analytics.conftest import MigrationEditor, jst
from tests.analytics.sales_reference import Reference, check_line_totals, check_report, check_rows, figures_of
from tests.factories import (
    CategoryFactory,
    CompanyFactory,
    ContactFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    UserFactory,
)
from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.analytics import customer_sums
from tokui.analytics.models import (
    SalesCustomerCategoryMonth,
    SalesCustomerDay,
    SalesCustomerProductMonth,
    SalesCustomerRecord,
    SalesFactsState,
)
from tokui.analytics.report_types import Breakdown, Comparison, SalesFilters, SalesReport
from tokui.analytics.sales import sales_report
from tokui.analytics.sales_facts import sales_facts_catch_up, sales_facts_rebuild, sales_facts_refresh
from tokui.commerce.enums import OrderChannel, OrderStatus
from tokui.commerce.models import Order
from tokui.customers.enums import CompanySize
from tokui.customers.models import Company

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin() -> User:
    return UserFactory(username="boss", role=Role.ADMIN)


def _shop() -> dict[str, Any]:
    """Ten companies over three prefectures, sizes (one without) and two reps (one company without), four
    individual customers (one without a prefecture); ~150 orders over five
    months, with cancelled and USD orders, two channels and 23:30 JST orders."""
    rng = random.Random(45)
    reps = [UserFactory(role=Role.SALES_REP) for _ in range(2)]
    companies = [
        CompanyFactory(
            prefecture=("13", "27", "01")[n % 3],
            size=(CompanySize.SMALL, CompanySize.LARGE, "")[n % 3],
            assigned_rep=reps[n % 2] if n != 9 else None,
        )
        for n in range(10)
    ]
    people = [ContactFactory(company=None, prefecture=("13", "27", "", "13")[n]) for n in range(4)]
    top = CategoryFactory()
    categories = [top, CategoryFactory(parent=top), CategoryFactory(parent=top), CategoryFactory()]
    products = [ProductFactory(category=categories[n % 4]) for n in range(6)] + [ProductFactory(category=None)]
    for n in range(150):
        buyer = rng.choice([*companies, *people])
        day = dt.date(2025, 12, 1) + dt.timedelta(days=rng.randrange(150))
        hour, minute = (23, 30) if n % 7 == 0 else (rng.randrange(9, 20), 0)
        order = OrderFactory(
            placed_at=jst(day, hour, minute),
            company=buyer if buyer in companies else None,
            contact=buyer if buyer in people else None,
            channel=rng.choice([OrderChannel.WEB, OrderChannel.FAX]),
            status=OrderStatus.CANCELLED if n % 17 == 0 else OrderStatus.DELIVERED,
            currency="USD" if n % 29 == 0 else "JPY",
            total=Decimal(rng.randrange(1, 90) * 100),
        )
        for line_no in range(1, 1 + rng.randrange(1, 4)):
            OrderLineFactory(
                order=order,
                line_no=line_no,
                product=rng.choice(products),
                quantity=rng.randrange(1, 4),
                amount=Decimal(rng.randrange(1, 50) * 100),
            )
    sales_facts_catch_up()
    return {"reps": reps, "companies": companies, "people": people, "categories": categories}


def _prefecture(order: dict[str, Any]) -> Any:
    return order["company__prefecture"] if order["company_id"] else order["contact__prefecture"]


_KEYS = {
    Breakdown.PREFECTURE: _prefecture,
    Breakdown.SALES_REP: lambda o: o["company__assigned_rep_id"],
    Breakdown.COMPANY_SIZE: lambda o: o["company__size"],
}


def _check(report: SalesReport, reference: Reference, breakdown: str = "", **options: Any) -> None:
    check_report(report, reference, **options)
    if breakdown:
        check_rows(report, reference, key=_KEYS[breakdown], **options)


_PERIODS = (
    ("month", dt.date(2026, 1, 1), dt.date(2026, 3, 31), Comparison.PREVIOUS_PERIOD),
    ("month", dt.date(2026, 1, 12), dt.date(2026, 4, 20), Comparison.PREVIOUS_PERIOD),  # from mid-month
    ("month", dt.date(2025, 12, 15), dt.date(2027, 1, 15), Comparison.PREVIOUS_YEAR),  # overlapping periods
    ("week", dt.date(2026, 1, 14), dt.date(2026, 3, 20), Comparison.PREVIOUS_PERIOD),
    ("day", dt.date(2026, 2, 1), dt.date(2026, 2, 28), Comparison.PREVIOUS_PERIOD),
)


def _read_customer_sums(context: CaptureQueriesContext) -> bool:
    return any("salescustomerday" in q["sql"] for q in context.captured_queries)


def test_one_customer_filter_reads_its_value_s_sums_and_matches_the_reference(admin: User) -> None:
    shop = _shop()
    reference = Reference()
    rep = shop["reps"][0]
    for granularity, start, end, comparison in _PERIODS:
        for filters in (
            SalesFilters(prefecture="13"),
            SalesFilters(prefecture="27", channel=OrderChannel.FAX),
            SalesFilters(company_size=CompanySize.SMALL),
            SalesFilters(sales_rep_id=rep.pk),
        ):
            options = {name: getattr(filters, name) for name in filters.__slots__ if getattr(filters, name)}
            for breakdown in ("", Breakdown.CHANNEL):
                with CaptureQueriesContext(connection) as context:
                    report = sales_report(
                        user=admin,
                        start=start,
                        end=end,
                        granularity=granularity,
                        comparison=comparison,
                        filters=filters,
                        breakdown=breakdown,
                    )
                label = (granularity, start, filters, breakdown)
                assert _read_customer_sums(context), label
                _check(report, reference, filters=options)
    # A sales rep's own page: their companies' value of the rep sums.
    mine = {company.pk for company in shop["companies"] if company.assigned_rep_id == rep.pk}
    with CaptureQueriesContext(connection) as context:
        report = sales_report(user=rep, start=dt.date(2026, 1, 12), end=dt.date(2026, 4, 20))
    assert _read_customer_sums(context)
    _check(report, reference, companies=mine)


def test_a_breakdown_by_a_customer_attribute_reads_its_sums_and_matches_the_reference(admin: User) -> None:
    _shop()
    reference = Reference()
    for granularity, start, end, comparison in _PERIODS:
        for breakdown in _KEYS:
            for filters in (SalesFilters(), SalesFilters(channel=OrderChannel.WEB)):
                options = {name: getattr(filters, name) for name in filters.__slots__ if getattr(filters, name)}
                with CaptureQueriesContext(connection) as context:
                    report = sales_report(
                        user=admin,
                        start=start,
                        end=end,
                        granularity=granularity,
                        comparison=comparison,
                        filters=filters,
                        breakdown=breakdown,
                    )
                assert _read_customer_sums(context), (granularity, start, breakdown)
                _check(report, reference, breakdown, filters=options)


# Periods for the month sums: whole months, both ends inside a month, inside one month, overlapping periods.
_MONTH_PERIODS = (
    (dt.date(2026, 1, 1), dt.date(2026, 3, 31), Comparison.PREVIOUS_PERIOD),
    (dt.date(2026, 1, 12), dt.date(2026, 4, 20), Comparison.PREVIOUS_PERIOD),
    (dt.date(2026, 2, 3), dt.date(2026, 2, 17), Comparison.PREVIOUS_PERIOD),
    (dt.date(2025, 12, 15), dt.date(2027, 1, 15), Comparison.PREVIOUS_YEAR),
)


def _report_reading(table: str, *, user: User, breakdown: str, **options: Any) -> tuple[SalesReport, bool]:
    """The report, and whether it read ``table``."""
    with CaptureQueriesContext(connection) as context:
        report = sales_report(user=user, breakdown=breakdown, **options)
    return report, any(table in q["sql"] for q in context.captured_queries)


def _check_categories(report: SalesReport, reference: Reference, **options: Any) -> None:
    check_rows(report, reference, line_key=lambda o, line: line["product__category_id"], **options)


def test_a_category_breakdown_for_one_customer_value_reads_its_months_and_matches_the_reference(admin: User) -> None:
    shop = _shop()
    reference = Reference()
    top = shop["categories"][0]
    for start, end, comparison in _MONTH_PERIODS:
        for filters in (
            SalesFilters(prefecture="13"),
            SalesFilters(company_size=CompanySize.LARGE),
            SalesFilters(sales_rep_id=shop["reps"][1].pk),
            SalesFilters(prefecture="27", category_id=top.pk),
        ):
            options = {name: getattr(filters, name) for name in filters.__slots__ if getattr(filters, name)}
            category = options.pop("category_id", None)
            report, months = _report_reading(
                "salescustomercategorymonth",
                user=admin,
                start=start,
                end=end,
                comparison=comparison,
                filters=filters,
                breakdown=Breakdown.CATEGORY,
            )
            label = (start, filters)
            assert months == ((start.year, start.month) != (end.year, end.month)), label  # else only its days
            if category is None:
                _check_categories(report, reference, filters=options)
            else:
                _check_categories(report, reference, filters=options, category_id=category)


def _product(order: dict[str, Any], line: dict[str, Any]) -> Any:
    return line["product_id"]


def test_a_product_breakdown_for_one_size_or_rep_reads_its_months_and_matches_the_reference(admin: User) -> None:
    shop = _shop()
    reference = Reference()
    rep, top = shop["reps"][1], shop["categories"][0]
    for start, end, comparison in _MONTH_PERIODS:
        for filters, months in (
            (SalesFilters(company_size=CompanySize.LARGE), True),
            (SalesFilters(sales_rep_id=rep.pk), True),
            (SalesFilters(company_size=CompanySize.SMALL, category_id=top.pk), True),
            # A prefecture keeps few buyers: their lines are read (ADR 0046); so is a channel within a size.
            (SalesFilters(prefecture="13"), False),
            (SalesFilters(company_size=CompanySize.SMALL, channel=OrderChannel.WEB), False),
        ):
            options = {name: getattr(filters, name) for name in filters.__slots__ if getattr(filters, name)}
            category = {"category_id": options.pop("category_id")} if "category_id" in options else {}
            report, read = _report_reading(
                "salescustomerproductmonth",
                user=admin,
                start=start,
                end=end,
                comparison=comparison,
                filters=filters,
                breakdown=Breakdown.PRODUCT,
            )
            label = (start, filters)
            assert read == (months and (start.year, start.month) != (end.year, end.month)), label
            check_rows(report, reference, line_key=_product, filters=options, **category)
            if not category:
                check_line_totals(report, reference, filters=options)
    # A sales rep's own page by product: their value of the rep sums.
    mine = {company.pk for company in shop["companies"] if company.assigned_rep_id == rep.pk}
    report, read = _report_reading(
        "salescustomerproductmonth", user=rep, start=dt.date(2026, 1, 12), end=dt.date(2026, 4, 20), breakdown="product"
    )
    assert read
    check_rows(report, reference, line_key=_product, companies=mine)
    check_line_totals(report, reference, companies=mine)


def test_two_customer_filters_at_once_read_the_facts_and_match_the_reference(admin: User) -> None:
    shop = _shop()
    reference = Reference()
    filters = SalesFilters(prefecture="13", sales_rep_id=shop["reps"][1].pk)
    with CaptureQueriesContext(connection) as context:
        report = sales_report(user=admin, start=dt.date(2026, 1, 1), end=dt.date(2026, 4, 30), filters=filters)
    assert not _read_customer_sums(context)
    _check(report, reference, filters={"prefecture": "13", "sales_rep_id": shop["reps"][1].pk})


def _customer_rows() -> list[tuple[Any, ...]]:
    """The customer day sums that count anything (a sum taken back to zero stays until the next rebuild)."""
    return sorted(
        SalesCustomerDay.objects.exclude(orders=0).values_list(
            "dimension",
            "value",
            "currency",
            "day",
            "channel",
            "prev_month",
            "prev_channel_month",
            "total",
            "units",
            "orders",
            "repeat_day",
            "repeat_week",
            "repeat_channel_day",
            "repeat_channel_week",
        )
    )


def _category_rows() -> list[tuple[Any, ...]]:
    return sorted(
        SalesCustomerCategoryMonth.objects.exclude(orders=0).values_list(
            "dimension", "value", "currency", "category_key", "month", "prev_month", "amount", "units", "orders"
        )
    )


def _product_rows() -> list[tuple[Any, ...]]:
    return sorted(
        SalesCustomerProductMonth.objects.exclude(orders=0, units=0, amount=0).values_list(
            "dimension", "value", "currency", "month", "prev_month", "product_key", "amount", "units", "orders"
        )
    )


def _records() -> list[tuple[Any, ...]]:
    return sorted(SalesCustomerRecord.objects.values_list("customer", "prefecture", "size", "rep"))


def test_the_consumer_the_customer_check_the_rebuild_and_the_migration_write_the_same_rows(admin: User) -> None:
    shop = _shop()
    company, person = shop["companies"][0], shop["people"][0]
    orders = list(Order.objects.filter(company=company).order_by("placed_at"))
    # An order cancelled, one moved to an individual customer, a new buyer's first order.
    Order.objects.filter(pk=orders[0].pk).update(status=OrderStatus.CANCELLED)
    Order.objects.filter(pk=orders[1].pk).update(company=None, contact=person)
    newcomer = CompanyFactory(prefecture="47", size=CompanySize.MICRO)
    new = OrderFactory(company=newcomer, placed_at=jst(dt.date(2026, 2, 3)))
    sales_facts_refresh(order_ids=[orders[0].pk, orders[1].pk, new.pk])
    # A company moved to another prefecture and rep, saved as the services save it.
    company.prefecture, company.assigned_rep = "27", shop["reps"][1]
    company.save()
    sales_facts_catch_up()
    incremental, records, categories, products = _customer_rows(), _records(), _category_rows(), _product_rows()
    assert ("prefecture", "47", "JPY") in {row[:3] for row in incremental}
    assert (company.pk, "27", company.size or "-", str(shop["reps"][1].pk)) in records
    assert ("prefecture", "27") in {row[:2] for row in categories}
    assert ("rep", str(shop["reps"][1].pk)) in {row[:2] for row in products}
    assert {row[0] for row in products} == {"size", "rep"}
    sales_facts_rebuild()
    assert _customer_rows() == incremental
    assert _records() == records
    assert _category_rows() == categories
    assert _product_rows() == products
    SalesCustomerDay.objects.all().delete()
    SalesCustomerRecord.objects.all().delete()
    SalesCustomerCategoryMonth.objects.all().delete()
    SalesCustomerProductMonth.objects.all().delete()
    for name in (
        "0022_sales_customer_days",
        "0024_sales_customer_category_months",
        "0025_sales_customer_product_months",
    ):
        importlib.import_module(f"tokui.analytics.migrations.{name}")._fill(None, MigrationEditor())
    assert _customer_rows() == incremental
    assert _records() == records
    assert _category_rows() == categories
    assert _product_rows() == products


def test_a_change_saved_without_updated_at_is_caught_by_the_nightly_rebuild(admin: User) -> None:
    shop = _shop()
    company = shop["companies"][1]
    # A bulk update (as the database sets a deleted rep's companies to none) leaves updated_at as it was: here a
    # day old, before the last check and its margin.
    sales_facts_catch_up()
    day_ago = timezone.now() - dt.timedelta(days=1)
    Company.objects.filter(pk=company.pk).update(prefecture="40", updated_at=day_ago)
    filters = SalesFilters(prefecture="40")
    report = sales_report(user=admin, start=dt.date(2025, 12, 1), end=dt.date(2026, 4, 30), filters=filters)
    assert report.totals.current.orders == 0
    sales_facts_rebuild()
    report = sales_report(user=admin, start=dt.date(2025, 12, 1), end=dt.date(2026, 4, 30), filters=filters)
    expected = Reference().figures(dt.date(2025, 12, 1), dt.date(2026, 4, 30), filters={"prefecture": "40"})
    assert figures_of(report.totals.current) == expected[None]
    assert expected[None][1] > 0


def test_many_customers_changed_at_once_wait_for_the_rebuild_and_the_pages_read_the_facts_meanwhile(
    admin: User, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    shop = _shop()
    monkeypatch.setattr(customer_sums, "MOVE_LIMIT", 2)
    first, second = shop["reps"]
    for company in shop["companies"]:
        if company.assigned_rep_id == first.pk:
            company.assigned_rep = second
            company.save()
    reference = Reference()
    filters = SalesFilters(sales_rep_id=second.pk)
    with django_capture_on_commit_callbacks() as queued, CaptureQueriesContext(connection) as context:
        report = sales_report(user=admin, start=dt.date(2025, 12, 1), end=dt.date(2026, 4, 30), filters=filters)
    assert len(queued) == 1  # the rebuild, in the worker
    assert not _read_customer_sums(context)
    _check(report, reference, filters={"sales_rep_id": second.pk})
    sales_facts_rebuild()
    assert SalesFactsState.objects.get().rebuild_queued_at is None
    with CaptureQueriesContext(connection) as context:
        report = sales_report(user=admin, start=dt.date(2025, 12, 1), end=dt.date(2026, 4, 30), filters=filters)
    assert _read_customer_sums(context)
    _check(report, reference, filters={"sales_rep_id": second.pk})
