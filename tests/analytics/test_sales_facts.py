"""The sales facts follow the orders (order facts, the watermark, the nightly rebuild) and always agree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.analytics.conftest import jst
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
from tokui.analytics.models import SalesFactsState, SalesLineFact, SalesOrderFact
from tokui.analytics.rankings import product_ranking
from tokui.analytics.report_types import Breakdown, SalesFilters
from tokui.analytics.sales import sales_report
from tokui.analytics.sales_facts import sales_facts_catch_up, sales_facts_rebuild, sales_facts_refresh
from tokui.commerce.enums import OrderStatus
from tokui.commerce.models import Order
from tokui.commerce.services import order_upsert
from tokui.commerce.types import OrderIn, OrderLineIn
from tokui.core.time import add_months

pytestmark = pytest.mark.django_db

MAR = dt.date(2026, 3, 10)


@pytest.fixture
def admin() -> User:
    return UserFactory(username="boss", role=Role.ADMIN)


def _rows() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    orders = sorted(
        SalesOrderFact.objects.values_list(
            "order_id",
            "day",
            "channel",
            "currency",
            "company_id",
            "contact_id",
            "buyer",
            "total",
            "units",
            "prev_day",
            "prev_channel_day",
        )
    )
    lines = sorted(
        SalesLineFact.objects.values_list(
            "line_id",
            "order_id",
            "day",
            "channel",
            "currency",
            "company_id",
            "contact_id",
            "buyer",
            "product_id",
            "sku",
            "product_name",
            "quantity",
            "amount",
            "product_first",
            "prev_product_day",
            "prev_product_channel_day",
            "order_first",
            "prev_order_day",
            "prev_order_channel_day",
        )
    )
    return orders, lines


def _figures(report: Any) -> tuple[Decimal, int, int, int]:
    now = report.totals.current
    return (now.revenue, now.orders, now.units, now.buyers)


def test_orders_loaded_without_facts_reach_the_next_report_and_the_nightly_rebuild_writes_the_same_rows(
    order_on: Callable[..., Order], admin: User
) -> None:
    person = ContactFactory(company=None)
    order_on(MAR, total=1000, hour=23, minute=30)  # 23:30 JST is still the 10th
    order_on(MAR, total=2000, company=None, contact=person, currency="USD")
    order_on(MAR, total=4000, status=OrderStatus.CANCELLED)
    assert _figures(sales_report(user=admin, start=MAR, end=MAR)) == (Decimal(1000), 1, 2, 1)
    late = order_on(MAR, total=8000)  # after the first report: above the watermark
    OrderLineFactory(order=late, amount=Decimal(0), quantity=3, line_no=2)
    assert _figures(sales_report(user=admin, start=MAR, end=MAR)) == (Decimal(9000), 2, 7, 2)
    assert _figures(sales_report(user=admin, start=MAR, end=MAR)) == Reference().figures(MAR, MAR)[None]
    assert SalesFactsState.objects.get().last_order_id == late.pk
    incremental = _rows()
    assert {row[1] for row in incremental[0]} == {MAR}
    assert len(incremental[0]) == 3 and len(incremental[1]) == 4  # the cancelled order left out, USD kept
    sales_facts_rebuild()
    assert _rows() == incremental
    assert sales_facts_catch_up() == 0  # nothing new: one look at the watermark


def test_order_facts_refresh_the_sales_facts_of_a_placed_and_then_cancelled_order(
    django_capture_on_commit_callbacks: Any, admin: User
) -> None:
    company = CompanyFactory()
    product = ProductFactory()
    sales_facts_catch_up()
    data = OrderIn(
        placed_at=jst(MAR),
        company_id=company.pk,
        lines=[OrderLineIn(sku=product.sku, quantity=2, unit_price=Decimal(1500), product_id=product.pk)],
    )
    with django_capture_on_commit_callbacks(execute=True):
        order = order_upsert(source="shop", external_id="A-1", data=data).instance
    assert SalesOrderFact.objects.filter(order_id=order.pk, units=2, total=Decimal(3000)).exists()
    assert SalesLineFact.objects.filter(order_id=order.pk).count() == 1
    assert sales_facts_catch_up() == 0  # the fact wrote it: the watermark only moves on
    assert SalesFactsState.objects.get().last_order_id == order.pk
    cancelled = replace(data, status="cancelled")
    with django_capture_on_commit_callbacks(execute=True):
        order_upsert(source="shop", external_id="A-1", data=cancelled)
    assert not SalesOrderFact.objects.filter(order_id=order.pk).exists()
    assert not SalesLineFact.objects.filter(order_id=order.pk).exists()
    assert _figures(sales_report(user=admin, start=MAR, end=MAR)) == (Decimal(0), 0, 0, 0)


def test_a_cancellation_inside_a_buyers_history_relinks_their_previous_order_days_as_the_rebuild_does(
    django_capture_on_commit_callbacks: Any, admin: User
) -> None:
    company = CompanyFactory()
    product = ProductFactory()
    sales_facts_catch_up()
    days = [MAR, MAR, MAR + dt.timedelta(days=3), MAR + dt.timedelta(days=9)]
    orders = []
    with django_capture_on_commit_callbacks(execute=True):
        for n, day in enumerate(days):
            data = OrderIn(
                placed_at=jst(day, 10 + n),
                company_id=company.pk,
                channel=("web", "fax")[n % 2],
                lines=[OrderLineIn(sku=product.sku, quantity=1, unit_price=Decimal(1000), product_id=product.pk)],
            )
            orders.append((order_upsert(source="shop", external_id=f"A-{n}", data=data).instance, data))
    chain = list(SalesOrderFact.objects.order_by("day", "order_id").values_list("prev_day", "prev_channel_day"))
    assert chain == [(None, None), (MAR, None), (MAR, MAR), (days[2], MAR)]
    with django_capture_on_commit_callbacks(execute=True):
        order_upsert(source="shop", external_id="A-2", data=replace(orders[2][1], status="cancelled"))
    incremental = _rows()
    assert [row[-2:] for row in incremental[0]] == [(None, None), (MAR, None), (MAR, MAR)]
    sales_facts_rebuild()
    assert _rows() == incremental
    later = MAR + dt.timedelta(days=9)
    assert _figures(sales_report(user=admin, start=later, end=later, granularity="day")) == (Decimal(1000), 1, 1, 1)


def test_a_reassigned_rep_and_a_moved_company_show_at_once_through_the_customer_check(
    order_on: Callable[..., Order], admin: User
) -> None:
    first = UserFactory(username="rep-1", role=Role.SALES_REP)
    second = UserFactory(username="rep-2", role=Role.SALES_REP)
    shop = CompanyFactory(assigned_rep=first, prefecture="13")
    order_on(MAR, company=shop, total=5000)
    by_rep = sales_report(user=admin, start=MAR, end=MAR, breakdown=Breakdown.SALES_REP).breakdown_rows
    assert [row.key for row in by_rep] == [str(first.pk)]
    # Saved as every service saves a company (its updated_at set): the next report moves its sums (ADR 45).
    shop.assigned_rep, shop.prefecture = second, "27"
    shop.save()
    by_rep = sales_report(user=admin, start=MAR, end=MAR, breakdown=Breakdown.SALES_REP).breakdown_rows
    assert [row.key for row in by_rep] == [str(second.pk)]
    by_prefecture = sales_report(user=admin, start=MAR, end=MAR, breakdown=Breakdown.PREFECTURE).breakdown_rows
    assert [row.key for row in by_prefecture] == ["27"]
    assert sales_report(user=first, start=MAR, end=MAR).totals.current.orders == 0
    assert sales_report(user=second, start=MAR, end=MAR).totals.current.orders == 1


def test_an_order_edited_in_place_is_right_after_its_refresh(order_on: Callable[..., Order], admin: User) -> None:
    order = order_on(MAR, total=5000)
    assert sales_report(user=admin, start=MAR, end=MAR).totals.current.revenue == Decimal(5000)
    Order.objects.filter(pk=order.pk).update(total=Decimal(7000), placed_at=jst(MAR + dt.timedelta(days=1)))
    sales_facts_refresh(order_ids=[order.pk])
    assert sales_report(user=admin, start=MAR, end=MAR).totals.current.revenue == Decimal(0)
    next_day = MAR + dt.timedelta(days=1)
    assert sales_report(user=admin, start=next_day, end=next_day).totals.current.revenue == Decimal(7000)
    assert product_ranking(start=next_day, end=next_day)[0].revenue == Decimal(5000)  # its line's amount


def test_a_report_page_reads_a_handful_of_statements(order_on: Callable[..., Order], admin: User) -> None:
    for n in range(5):
        order_on(MAR - dt.timedelta(days=n * 40), total=1000 + n)
    sales_facts_catch_up()
    year_start = add_months(MAR.replace(day=1), -11)  # twelve months, compared with the twelve before
    for breakdown in ("", Breakdown.CHANNEL, Breakdown.CATEGORY):
        with CaptureQueriesContext(connection) as context:
            sales_report(user=admin, start=year_start, end=MAR, breakdown=breakdown)
        # Transaction control and PostgreSQL's SET LOCAL read nothing.
        statements = [
            q["sql"] for q in context.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "SET "))
        ]
        # watermark (2) + moved products (1) + customers saved lately (1) + periods, totals and breakdown in one
        # + other currencies (+ labels; the category breakdown: its figures and totals over every line in one)
        assert len(statements) <= (6 if not breakdown else 7 if breakdown == Breakdown.CHANNEL else 8), statements


def test_a_bulk_load_is_added_by_a_rebuild_in_the_worker_while_the_page_says_so(
    order_on: Callable[..., Order],
    admin: User,
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    order_on(MAR, total=1000)
    sales_facts_catch_up()
    monkeypatch.setattr("tokui.analytics.sales_facts.CATCH_UP_LIMIT", 2)
    for n in range(3):  # more orders without facts than a report catches up itself
        order_on(MAR, total=100 + n)
    client.force_login(admin)
    with django_capture_on_commit_callbacks() as queued:
        page = client.get("/analysis/sales/", {"start": MAR.isoformat(), "end": MAR.isoformat()})
    assert page.status_code == 200
    assert (
        "まとめて取り込まれた注文、またはカテゴリが変更された多数の商品を集計に反映しています" in page.content.decode()
    )
    assert len(queued) == 1 and SalesOrderFact.objects.count() == 1  # answered from the facts as they were
    with django_capture_on_commit_callbacks() as again:
        client.get("/analysis/rankings/")
    assert again == []  # queued once
    queued[0]()  # the worker runs the rebuild
    assert SalesOrderFact.objects.count() == 4 and not SalesFactsState.objects.get().rebuild_queued_at
    page = client.get("/analysis/sales/", {"start": MAR.isoformat(), "end": MAR.isoformat()})
    assert "まとめて取り込まれた注文" not in page.content.decode()


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


def test_buyers_counted_from_previous_order_days_match_distinct_buyers_in_every_combination(
    order_on: Callable[..., Order], admin: User
) -> None:
    """Repeat buyers across days, channels, currencies and period edges: every figure against the reference."""
    rep = UserFactory(username="rep-x", role=Role.SALES_REP)
    companies = [
        CompanyFactory(prefecture=pref, size=size, assigned_rep=rep if n % 2 else None)
        for n, (pref, size) in enumerate([("13", "small"), ("27", "medium"), ("13", "large")])
    ]
    people = [ContactFactory(company=None, prefecture=pref) for pref in ("13", "01")]
    tops = CategoryFactory(name="トップス")
    categories = [tops, CategoryFactory(name="シャツ", parent=tops), CategoryFactory(name="小物")]
    end = dt.date(2026, 3, 15)
    for n in range(90):
        day = end - dt.timedelta(days=(n * 37) % 420)
        customer: dict[str, Any] = (
            {"company": companies[n % 3]} if n % 4 else {"company": None, "contact": people[n % 2]}
        )
        order = order_on(
            day,
            total=1000 + n * 10,
            hour=(0, 12, 23)[n % 3],
            minute=30,
            channel=("web", "fax", "sales_rep")[n % 3 if n % 5 else 0],
            category=categories[n % 3],
            status=OrderStatus.CANCELLED if n % 17 == 0 else OrderStatus.DELIVERED,
            currency="USD" if n % 23 == 0 else "JPY",
            **customer,
        )
        if n % 6 == 0:
            OrderLineFactory(order=order, amount=Decimal(300), quantity=5, line_no=2, product__category=categories[0])
    reference = Reference()
    ranges = (
        ("day", end - dt.timedelta(days=20)),
        ("week", end - dt.timedelta(days=70)),
        ("month", dt.date(2025, 3, 1)),
    )
    for granularity, start in ranges:
        for comparison in ("previous", "year"):
            for filters in ({}, {"channel": "fax"}, {"prefecture": "13"}, {"company_size": "small"}):
                for breakdown in ("", *Breakdown.values):
                    report = sales_report(
                        user=admin,
                        start=start,
                        end=end,
                        granularity=granularity,
                        comparison=comparison,
                        filters=SalesFilters(**filters),
                        breakdown=breakdown,
                    )
                    label = (granularity, comparison, filters, breakdown)
                    for side, first, last in ((0, report.previous_start, report.previous_end), (1, start, end)):
                        expected = reference.figures(
                            first, last, key=lambda o: bucket(o["day"], granularity), filters=filters
                        )
                        for row in report.periods:
                            day = row.start if side else row.previous_start
                            got = row.current if side else row.previous
                            if day is not None:
                                assert _tuple(got) == expected.get(day, ZERO), (label, side, day)
                        total = report.totals.current if side else report.totals.previous
                        assert _tuple(total) == reference.figures(first, last, filters=filters).get(None, ZERO), label
                        if breakdown:
                            by_key = reference.figures(
                                first,
                                last,
                                key=ORDER_KEYS.get(breakdown),
                                line_key=LINE_KEYS.get(breakdown),
                                filters=filters,
                            )
                            rows = {row.key: row.current if side else row.previous for row in report.breakdown_rows}
                            for k, figures in by_key.items():
                                assert _tuple(rows["none" if k is None else str(k)]) == figures, (label, side, k)
                            assert sum(row.orders for row in rows.values()) >= len(by_key), label
                        if breakdown in LINE_KEYS and report.breakdown_totals is not None:
                            # The breakdown's totals: every line, each order and buyer once.
                            every = reference.figures(first, last, line_key=lambda o, line: None, filters=filters)
                            both = report.breakdown_totals
                            got = both.current if side else both.previous
                            assert _tuple(got) == every.get(None, ZERO), (label, side)


ZERO = (Decimal(0), 0, 0, 0)


def _tuple(figures: Any) -> tuple[Decimal, int, int, int]:
    return (figures.revenue, figures.orders, figures.units, figures.buyers)
