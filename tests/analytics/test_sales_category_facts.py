"""Category figures from the sales category facts: sums instead of distinct counts, always the current category."""

from __future__ import annotations

import datetime as dt
import importlib
import random
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.analytics.conftest import MigrationEditor, jst
from tests.analytics.sales_reference import Reference, check_line_totals, check_report, check_rows
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
from tokui.analytics import sales_facts
from tokui.analytics.models import SalesCategoryDay, SalesCategoryFact, SalesOrderDay, SalesOrderFact
from tokui.analytics.report_types import Breakdown, Comparison, SalesFilters
from tokui.analytics.sales import sales_report
from tokui.analytics.sales_facts import (
    sales_facts_catch_up,
    sales_facts_pending,
    sales_facts_rebuild,
    sales_facts_refresh,
)
from tokui.analytics.tasks import sales_facts_catch_up_task
from tokui.catalog.models import Category, Product
from tokui.commerce.enums import OrderChannel, OrderStatus
from tokui.commerce.models import Order, OrderLine
from tokui.core.schedule import periodic_jobs

pytestmark = pytest.mark.django_db

START, END = dt.date(2026, 2, 1), dt.date(2026, 3, 31)  # compared with December and January


@pytest.fixture
def admin() -> User:
    return UserFactory(username="boss", role=Role.ADMIN)


def _shop() -> dict[str, Any]:
    """Two top categories with two subcategories each, ~120 orders over four months by 12 buyers (B2C too), with
    lines without a product or category, an order without lines, cancelled and USD orders, and 23:30 JST orders."""
    rng = random.Random(24)
    tops = [CategoryFactory() for _ in range(2)]
    leaves = [CategoryFactory(parent=top) for top in tops for _ in range(2)]
    products = [ProductFactory(category=rng.choice([*leaves, tops[0]])) for _ in range(8)]
    products.append(ProductFactory(category=None))
    companies = [CompanyFactory() for _ in range(8)]
    contacts = [ContactFactory(company=None) for _ in range(4)]
    for n in range(120):
        buyer = rng.choice([*companies, *contacts])
        day = dt.date(2025, 12, 1) + dt.timedelta(days=rng.randrange(121))
        hour, minute = (23, 30) if n % 7 == 0 else (rng.randrange(9, 20), 0)
        order = OrderFactory(
            placed_at=jst(day, hour, minute),
            company=buyer if buyer in companies else None,
            contact=buyer if buyer in contacts else None,
            channel=rng.choice([OrderChannel.WEB, OrderChannel.FAX]),
            status=OrderStatus.CANCELLED if n % 17 == 0 else OrderStatus.DELIVERED,
            currency="USD" if n % 29 == 0 else "JPY",
        )
        for line_no in range(1, 1 + (0 if n == 5 else rng.randrange(1, 4))):
            product = rng.choice(products) if line_no != 3 else None
            OrderLineFactory(
                order=order,
                line_no=line_no,
                product=product,
                sku=product.sku if product else f"GONE-{n}",
                product_name=product.name if product else "旧商品",
                quantity=rng.randrange(1, 4),
                amount=Decimal(rng.randrange(1, 50) * 100),
            )
    sales_facts_catch_up()
    return {"tops": tops, "leaves": leaves, "products": products}


def _line_key(o: dict[str, Any], line: dict[str, Any]) -> Any:
    return line["product__category_id"]


def test_every_category_figure_matches_the_reference(admin: User) -> None:
    shop = _shop()
    reference = Reference()
    year = {"user": admin, "start": START, "end": END, "comparison": Comparison.PREVIOUS_PERIOD}
    # Without a channel or customer filter the day sums answer every period (also overlapping periods); from
    # mid-month with the facts whose previous order lies before the start in its first month (ADR 42).
    periods = (
        (START, END, Comparison.PREVIOUS_PERIOD),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31), Comparison.PREVIOUS_PERIOD),
        (dt.date(2025, 12, 1), dt.date(2027, 1, 15), Comparison.PREVIOUS_YEAR),
        (dt.date(2026, 1, 12), dt.date(2026, 1, 25), Comparison.PREVIOUS_PERIOD),
        (dt.date(2025, 12, 15), dt.date(2027, 1, 15), Comparison.PREVIOUS_YEAR),
    )
    for start, end, comparison in periods:
        for filters in (SalesFilters(), SalesFilters(channel=OrderChannel.FAX), SalesFilters(prefecture="13")):
            options = {k: v for k, v in vars_of(filters).items() if v}
            with CaptureQueriesContext(connection) as context:
                report = sales_report(
                    user=admin, start=start, end=end, comparison=comparison, filters=filters, breakdown="category"
                )
            read_days = any("salescategoryday" in q["sql"] for q in context.captured_queries)
            assert read_days == (filters == SalesFilters())
            check_rows(report, reference, line_key=_line_key, filters=options)
            # The breakdown's totals are every line's: each order and buyer once however many categories they span.
            check_line_totals(report, reference, filters=options)
    # One subcategory (sums over its rows) and a top category (its subcategories too), every figure from lines.
    for category in (shop["leaves"][0], shop["leaves"][3], shop["tops"][0]):
        for filters, breakdown in (
            (SalesFilters(category_id=category.pk), Breakdown.CHANNEL),
            (SalesFilters(category_id=category.pk, channel=OrderChannel.WEB), Breakdown.COMPANY_SIZE),
            (SalesFilters(category_id=category.pk), Breakdown.CATEGORY),
        ):
            options = {k: v for k, v in vars_of(filters).items() if v and k != "category_id"}
            for granularity in ("month", "week"):
                report = sales_report(**year, granularity=granularity, filters=filters, breakdown=breakdown)
                check_report(report, reference, category_id=category.pk, filters=options)
            if breakdown == Breakdown.CHANNEL:
                key = {"key": lambda o: o["channel"]}
            elif breakdown == Breakdown.COMPANY_SIZE:
                key = {"key": lambda o: o["company__size"]}
            else:
                key = {"line_key": _line_key}
            check_rows(report, reference, category_id=category.pk, filters=options, **key)


def vars_of(filters: SalesFilters) -> dict[str, Any]:
    return {name: getattr(filters, name) for name in filters.__slots__}


def _fact_rows() -> list[tuple[Any, ...]]:
    return sorted(
        SalesCategoryFact.objects.values_list(
            "line_id",
            "order_id",
            "category_id",
            "day",
            "channel",
            "currency",
            "buyer",
            "amount",
            "units",
            "prev_day",
            "prev_channel_day",
            "first",
            "prev_order_day",
            "prev_order_channel_day",
            "root_id",
            "root_first",
            "prev_root_day",
            "prev_root_channel_day",
        )
    )


def _day_rows() -> list[tuple[Any, ...]]:
    """The day sums that count anything (a sum taken back to zero may stay until the next rebuild)."""
    return sorted(
        SalesCategoryDay.objects.exclude(orders=0).values_list(
            "currency", "category_key", "day", "prev_month", "amount", "units", "orders"
        )
    ) + sorted(
        SalesOrderDay.objects.exclude(orders=0).values_list(
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


def test_a_moved_product_counts_in_its_new_category_at_the_next_report_as_a_rebuild_would(admin: User) -> None:
    shop = _shop()
    moved = Product.objects.filter(category=shop["leaves"][0]).order_by("pk").first()
    assert moved is not None
    target = shop["leaves"][2]
    before = sales_report(user=admin, start=START, end=END, breakdown=Breakdown.CATEGORY)
    # Not through a service: an admin edit or a plain UPDATE is caught all the same.
    Product.objects.filter(pk=moved.pk).update(category=target)
    after = sales_report(user=admin, start=START, end=END, breakdown=Breakdown.CATEGORY)
    check_rows(after, Reference(), line_key=_line_key)
    revenue = {row.key: row.current.revenue for row in before.breakdown_rows}
    assert {row.key: row.current.revenue for row in after.breakdown_rows} != revenue
    leaf = sales_report(user=admin, start=START, end=END, filters=SalesFilters(category_id=target.pk))
    check_report(leaf, Reference(), category_id=target.pk)
    # A subcategory moved under the other top-level category takes its products' lines along.
    Category.objects.filter(pk=shop["leaves"][1].pk).update(parent=shop["tops"][1])
    for top in shop["tops"]:
        report = sales_report(user=admin, start=START, end=END, filters=SalesFilters(category_id=top.pk))
        check_report(report, Reference(), category_id=top.pk)
    # Deleted products' lines fall to "no category", as the catalogue now says.
    Product.objects.filter(pk=shop["products"][1].pk).delete()
    check_rows(sales_report(user=admin, start=START, end=END, breakdown="category"), Reference(), line_key=_line_key)
    incremental = (_fact_rows(), _day_rows())
    sales_facts_rebuild()
    assert (_fact_rows(), _day_rows()) == incremental


def test_the_worker_s_minute_job_moves_a_product_before_the_next_report(admin: User) -> None:
    shop = _shop()
    sales_report(user=admin, start=START, end=END, breakdown=Breakdown.CATEGORY)
    job = next(job for job in periodic_jobs.jobs() if job.name == "analytics.sales_facts_catch_up")
    assert job.every == dt.timedelta(minutes=1) and job.task is sales_facts_catch_up_task
    moved = Product.objects.filter(category=shop["leaves"][0]).order_by("pk").first()
    assert moved is not None
    target = shop["leaves"][2]
    Product.objects.filter(pk=moved.pk).update(category=target)
    assert SalesCategoryFact.objects.filter(line_id__in=moved_lines(moved), category_id=target.pk).count() == 0

    sales_facts_catch_up_task.enqueue()  # the test task backend runs it inline
    lines = moved_lines(moved)
    assert lines and SalesCategoryFact.objects.filter(line_id__in=lines).exclude(category_id=target.pk).count() == 0
    with CaptureQueriesContext(connection) as queries:
        report = sales_report(user=admin, start=START, end=END, breakdown=Breakdown.CATEGORY)
    assert not any("INSERT" in query["sql"] for query in queries.captured_queries)  # nothing left to re-derive
    check_rows(report, Reference(), line_key=_line_key)


def moved_lines(product: Product) -> list[int]:
    return list(OrderLine.objects.filter(product=product).values_list("pk", flat=True))


def test_cancelled_orders_and_moved_buyers_leave_the_category_facts_as_a_rebuild_would(admin: User) -> None:
    _shop()
    orders = list(Order.objects.filter(status=OrderStatus.DELIVERED, company__isnull=False).order_by("pk")[:6])
    Order.objects.filter(pk__in=[o.pk for o in orders[:3]]).update(status=OrderStatus.CANCELLED)
    Order.objects.filter(pk=orders[3].pk).update(company=orders[4].company)
    Order.objects.filter(pk=orders[5].pk).update(company=None, contact=ContactFactory(company=None))
    sales_facts_refresh(order_ids=[o.pk for o in orders])
    assert not SalesCategoryFact.objects.filter(order_id__in=[o.pk for o in orders[:3]]).exists()
    incremental = (_fact_rows(), _day_rows())
    sales_facts_rebuild()
    assert (_fact_rows(), _day_rows()) == incremental
    report = sales_report(user=admin, start=START, end=END, breakdown=Breakdown.CATEGORY)
    check_rows(report, Reference(), line_key=_line_key)


def test_an_order_at_23_30_jst_is_in_that_day_s_category_row(admin: User) -> None:
    category = CategoryFactory()
    order = OrderFactory(placed_at=jst(dt.date(2026, 3, 31), 23, 30))
    OrderLineFactory(order=order, product=ProductFactory(category=category), amount=Decimal(700))
    sales_facts_catch_up()
    assert list(SalesCategoryFact.objects.values_list("day", "category_id")) == [(dt.date(2026, 3, 31), category.pk)]
    april = sales_report(user=admin, start=dt.date(2026, 4, 1), end=dt.date(2026, 4, 30), breakdown="category")
    assert april.breakdown_rows == []


def test_a_catalogue_reorganised_at_once_waits_for_the_rebuild_and_says_so(
    admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = _shop()
    sales_report(user=admin, start=START, end=END, breakdown=Breakdown.CATEGORY)
    monkeypatch.setattr(sales_facts, "CATCH_UP_LIMIT", 5)
    Product.objects.filter(category__in=shop["leaves"][:2]).update(category=shop["leaves"][3])
    sales_report(user=admin, start=START, end=END, breakdown=Breakdown.CATEGORY)
    assert sales_facts_pending()
    sales_facts_rebuild()
    assert not sales_facts_pending()
    report = sales_report(user=admin, start=START, end=END, breakdown=Breakdown.CATEGORY)
    check_rows(report, Reference(), line_key=_line_key)
    assert not Category.objects.filter(pk__in=[c.pk for c in shop["leaves"][:2]], products__isnull=False).exists()


def test_a_range_starting_mid_month_counts_the_first_month_s_buyers_from_its_own_start(admin: User) -> None:
    # The 9th is before the range: the buyer of the 10th is still a buyer of the range's (partial) March.
    company, category = CompanyFactory(), CategoryFactory()
    for day in (dt.date(2026, 3, 9), dt.date(2026, 3, 10)):
        OrderLineFactory(order=OrderFactory(company=company, placed_at=jst(day)), product__category=category)
    for filters in (SalesFilters(), SalesFilters(category_id=category.pk)):
        report = sales_report(user=admin, start=dt.date(2026, 3, 10), end=dt.date(2026, 3, 31), filters=filters)
        assert [(row.start, row.current.orders, row.current.buyers) for row in report.periods] == [
            (dt.date(2026, 3, 1), 1, 1)
        ]


def test_month_pages_read_the_order_day_sums_and_match_the_reference(admin: User) -> None:
    _shop()
    reference = Reference()
    periods = (
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31), Comparison.PREVIOUS_PERIOD),
        (dt.date(2026, 1, 1), dt.date(2026, 3, 20), Comparison.PREVIOUS_YEAR),
        (dt.date(2025, 12, 1), dt.date(2027, 1, 15), Comparison.PREVIOUS_YEAR),  # overlapping periods
        # From mid-month: the orders whose previous one lies in the first month before the start (ADR 42).
        (dt.date(2026, 1, 12), dt.date(2026, 3, 20), Comparison.PREVIOUS_PERIOD),
        (dt.date(2026, 2, 10), dt.date(2026, 2, 20), Comparison.PREVIOUS_YEAR),
        (dt.date(2025, 12, 15), dt.date(2027, 1, 15), Comparison.PREVIOUS_YEAR),
    )
    for start, end, comparison in periods:
        for filters, breakdown in (
            (SalesFilters(), ""),
            (SalesFilters(), Breakdown.CHANNEL),
            (SalesFilters(channel=OrderChannel.FAX), Breakdown.CHANNEL),
        ):
            options = {k: v for k, v in vars_of(filters).items() if v}
            with CaptureQueriesContext(connection) as context:
                report = sales_report(
                    user=admin, start=start, end=end, comparison=comparison, filters=filters, breakdown=breakdown
                )
            assert any("salesorderday" in q["sql"] for q in context.captured_queries)
            check_report(report, reference, filters=options)
            if breakdown:
                check_rows(report, reference, key=lambda o: o["channel"], filters=options)


def test_day_and_week_pages_read_the_order_day_sums_and_match_the_reference(admin: User) -> None:
    _shop()
    # Repeats the day and week sums must tell apart (ADR 43): two orders of one buyer on one day in two channels,
    # on a Monday and the Sunday after, on a Sunday and the Monday after; a B2C customer's two orders of one day.
    company, product = CompanyFactory(), ProductFactory()
    for day, hour, channel in (
        (dt.date(2026, 1, 14), 10, OrderChannel.WEB),
        (dt.date(2026, 1, 14), 23, OrderChannel.FAX),
        (dt.date(2026, 1, 19), 9, OrderChannel.WEB),  # a Monday
        (dt.date(2026, 1, 25), 23, OrderChannel.WEB),  # its Sunday, 23:30 JST
        (dt.date(2026, 2, 1), 12, OrderChannel.FAX),  # a Sunday
        (dt.date(2026, 2, 2), 0, OrderChannel.FAX),  # the Monday after, 00:30 JST
    ):
        order = OrderFactory(company=company, contact=None, placed_at=jst(day, hour, 30), channel=channel)
        OrderLineFactory(order=order, product=product)
    person = ContactFactory(company=None)
    for day, hour in ((dt.date(2026, 1, 14), 9), (dt.date(2026, 1, 14), 18), (dt.date(2026, 1, 16), 12)):
        OrderLineFactory(order=OrderFactory(company=None, contact=person, placed_at=jst(day, hour)), product=product)
    sales_facts_catch_up()
    reference = Reference()
    periods = (
        ("day", dt.date(2026, 1, 10), dt.date(2026, 2, 8), Comparison.PREVIOUS_PERIOD),
        ("day", dt.date(2026, 2, 1), dt.date(2026, 2, 20), Comparison.PREVIOUS_YEAR),
        ("week", dt.date(2026, 1, 14), dt.date(2026, 3, 20), Comparison.PREVIOUS_PERIOD),  # from a Wednesday
        ("week", dt.date(2026, 1, 1), dt.date(2026, 3, 31), Comparison.PREVIOUS_PERIOD),  # a 1st, a Thursday
        ("week", dt.date(2026, 1, 19), dt.date(2026, 2, 15), Comparison.PREVIOUS_YEAR),  # from a Monday
        ("week", dt.date(2025, 12, 10), dt.date(2027, 1, 5), Comparison.PREVIOUS_YEAR),  # overlapping periods
    )
    for granularity, start, end, comparison in periods:
        for filters, breakdown in (
            (SalesFilters(), ""),
            (SalesFilters(), Breakdown.CHANNEL),
            (SalesFilters(channel=OrderChannel.FAX), ""),
            (SalesFilters(channel=OrderChannel.WEB), Breakdown.CHANNEL),
        ):
            options = {k: v for k, v in vars_of(filters).items() if v}
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
            assert any("salesorderday" in q["sql"] for q in context.captured_queries), label
            check_report(report, reference, filters=options)
            if breakdown:
                check_rows(report, reference, key=lambda o: o["channel"], filters=options)


def test_the_migration_counts_the_stored_order_facts_repeats_as_the_day_sums_do() -> None:
    _shop()
    written = _day_rows()
    SalesOrderDay.objects.update(repeat_day=0, repeat_week=0, repeat_channel_day=0, repeat_channel_week=0)
    migration = importlib.import_module("tokui.analytics.migrations.0019_sales_order_day_repeats")
    migration._fill(None, MigrationEditor())
    assert _day_rows() == written
    assert SalesOrderDay.objects.filter(repeat_week__gt=0).exists()


def _all_rows() -> tuple[list[tuple[Any, ...]], ...]:
    orders = sorted(
        SalesOrderFact.objects.values_list(
            "order_id", "day", "channel", "currency", "buyer", "total", "units", "prev_day", "prev_channel_day"
        )
    )
    return (_fact_rows(), _day_rows(), orders)


def _as_rebuilt() -> None:
    """The facts and day sums as they are equal those a full rebuild writes."""
    incremental = _all_rows()
    sales_facts_rebuild()
    assert _all_rows() == incremental


def test_orders_applied_inside_a_buyer_s_history_leave_exactly_the_rows_of_a_full_rebuild() -> None:
    shop = _shop()
    company = CompanyFactory()
    leaves, products = shop["leaves"], [p for p in shop["products"] if p.category_id is not None]

    def order(day: dt.date, *picks: int, channel: str = OrderChannel.WEB) -> Order:
        placed = OrderFactory(placed_at=jst(day), company=company, contact=None, channel=channel)
        for line_no, pick in enumerate(picks, start=1):
            product = products[pick % len(products)]
            OrderLineFactory(
                order=placed,
                line_no=line_no,
                product=product,
                sku=product.sku,
                product_name=product.name,
                quantity=1 + pick % 3,
                amount=Decimal(100 * (1 + pick)),
            )
        return placed

    history = [order(dt.date(2026, 1, 1) + dt.timedelta(days=7 * n), n, n + 1, n + 2) for n in range(6)]
    sales_facts_refresh(order_ids=[o.pk for o in history])
    _as_rebuilt()
    assert SalesCategoryFact.objects.filter(buyer=company.pk, category_id__in=[c.pk for c in leaves]).count() > 6
    # A new order in the middle of the history: the chains after it take it as their previous order.
    middle = order(dt.date(2026, 1, 18), 2, 4, channel=OrderChannel.FAX)
    sales_facts_refresh(order_ids=[middle.pk])
    _as_rebuilt()
    # A cancellation inside the history relinks the chains over it.
    Order.objects.filter(pk=history[2].pk).update(status=OrderStatus.CANCELLED)
    sales_facts_refresh(order_ids=[history[2].pk])
    _as_rebuilt()
    # Two new orders of the buyer in one batch (one before the whole history, one on a day it already has), an
    # order moved later in its own history and another buyer's order moved to this one.
    first, same_day = order(dt.date(2025, 12, 24), 1, 5), order(dt.date(2026, 1, 15), 3)
    Order.objects.filter(pk=history[1].pk).update(placed_at=jst(dt.date(2026, 2, 20)))
    other = Order.objects.filter(status=OrderStatus.DELIVERED).exclude(company=company).order_by("pk").first()
    assert other is not None
    old_buyer = other.company_id
    Order.objects.filter(pk=other.pk).update(company=company, contact=None)
    sales_facts_refresh(order_ids=[first.pk, same_day.pk, history[1].pk, other.pk])
    assert SalesCategoryFact.objects.filter(order_id=other.pk, buyer=company.pk).exists()
    assert old_buyer is None or not SalesCategoryFact.objects.filter(order_id=other.pk, buyer=old_buyer).exists()
    _as_rebuilt()


def test_random_batches_inside_the_histories_of_every_kind_of_buyer_leave_the_rows_of_a_full_rebuild() -> None:
    """Each batch is written from its buyers' days on, going on from the rows before it (ADR 38): USD beside JPY,
    B2C buyers, lines without a category, both channels, several orders of one buyer in a batch."""
    _shop()
    rng = random.Random(38)
    orders = list(Order.objects.order_by("pk"))
    products = list(Product.objects.order_by("pk"))
    for _batch in range(4):
        picked = rng.sample(orders, 6)
        for order in picked[:2]:  # moved to another day, earlier or later in the buyer's history
            Order.objects.filter(pk=order.pk).update(
                placed_at=jst(dt.date(2025, 12, 1) + dt.timedelta(days=rng.randrange(121)), 10)
            )
        Order.objects.filter(pk=picked[2].pk).update(status=OrderStatus.CANCELLED)
        Order.objects.filter(pk=picked[3].pk).update(status=OrderStatus.DELIVERED, channel=OrderChannel.FAX)
        new = []
        for source in picked[4:]:  # new orders of existing buyers inside their histories, in either currency
            placed = OrderFactory(
                placed_at=jst(dt.date(2025, 12, 1) + dt.timedelta(days=rng.randrange(121)), 12),
                company=source.company,
                contact=source.contact,
                channel=rng.choice([OrderChannel.WEB, OrderChannel.FAX]),
                currency=rng.choice(["JPY", "USD"]),
            )
            for line_no in range(1, 3):
                product = rng.choice(products)
                OrderLineFactory(
                    order=placed, line_no=line_no, product=product, sku=product.sku, product_name=product.name,
                    quantity=1, amount=Decimal(300 * line_no),
                )  # fmt: skip
            new.append(placed)
        sales_facts_refresh(order_ids=[o.pk for o in [*picked, *new]])
        _as_rebuilt()
        orders += new
