"""The breakdown by product from the product sums (ADR 0028) against a plain pandas computation over the orders.

Every product's figures — revenue, distinct orders, units, distinct buyers, in the period and its comparison —
must be what grouping the counted lines by product gives, whether they come from the product sums (periods from
the 1st without a customer or channel filter) or from the line facts (every other page).
"""

from __future__ import annotations

import datetime as dt
import importlib
import random
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.analytics.conftest import MigrationEditor, jst
from tests.analytics.sales_reference import descendants
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
from tokui.analytics.report_types import Breakdown, Comparison, SalesFigures, SalesFilters, SalesReport
from tokui.analytics.sales import sales_report
from tokui.analytics.sales_facts import sales_facts_catch_up, sales_facts_rebuild, sales_facts_refresh
from tokui.analytics.sales_models import (
    SalesLineFact,
    SalesProductChannelMonth,
    SalesProductChannelTotal,
    SalesProductDay,
    SalesProductMonth,
    SalesProductTotal,
)
from tokui.catalog.models import Category, Product
from tokui.commerce.enums import OrderChannel, OrderStatus
from tokui.commerce.models import Order, OrderLine
from tokui.commerce.services import order_upsert
from tokui.commerce.types import OrderIn, OrderLineIn
from tokui.core.time import add_months

pytestmark = pytest.mark.django_db

MAR, APR = dt.date(2026, 3, 1), dt.date(2026, 4, 1)
Row = tuple[Decimal, int, int, int]


@pytest.fixture
def admin() -> User:
    return UserFactory(username="boss", role=Role.ADMIN)


def reference(
    start: dt.date,
    end: dt.date,
    *,
    category_id: int | None = None,
    companies: set[int] | None = None,
    **filters: Any,
) -> dict[str, Row]:
    """Every counted line of JST days [start, end] grouped by product: line amounts, distinct orders, quantities,
    distinct buyers (the company, or the contact of an order without one)."""
    orders = pd.DataFrame(
        list(
            Order.objects.values(
                "id",
                "placed_at",
                "status",
                "currency",
                "channel",
                "company_id",
                "contact_id",
                "company__prefecture",
                "contact__prefecture",
                "company__assigned_rep_id",
                "company__size",
            )
        )
    )
    lines = pd.DataFrame(
        list(OrderLine.objects.values("order_id", "product_id", "product__category_id", "quantity", "amount"))
    )
    if orders.empty or lines.empty:
        return {}
    df = lines.merge(orders, left_on="order_id", right_on="id")
    df["day"] = pd.to_datetime(df["placed_at"], utc=True).dt.tz_convert("Asia/Tokyo").dt.date
    keep = (
        ~df["status"].isin([OrderStatus.CANCELLED, OrderStatus.REFUNDED])
        & (df["currency"] == "JPY")
        & (df["day"] >= start)
        & (df["day"] <= end)
    )
    if filters.get("channel"):
        keep &= df["channel"] == filters["channel"]
    if filters.get("prefecture"):
        where = df["company__prefecture"].where(df["company_id"].notna(), df["contact__prefecture"])
        keep &= where == filters["prefecture"]
    if category_id is not None:
        keep &= df["product__category_id"].isin(descendants(category_id))
    if companies is not None:
        keep &= df["company_id"].isin(companies)
    df = df[keep].copy()
    if df.empty:
        return {}
    df["buyer"] = [
        f"company-{int(company)}" if pd.notna(company) else f"contact-{int(contact)}" if pd.notna(contact) else None
        for company, contact in zip(df["company_id"], df["contact_id"], strict=True)
    ]
    df["key"] = ["none" if pd.isna(product) else str(int(product)) for product in df["product_id"]]
    grouped = df.groupby("key").agg(
        revenue=("amount", lambda amounts: sum(amounts, Decimal(0))),
        orders=("order_id", "nunique"),
        units=("quantity", "sum"),
        buyers=("buyer", "nunique"),  # NaN / None not counted
    )
    return {
        str(key): (row.revenue, int(row.orders), int(row.units), int(row.buyers)) for key, row in grouped.iterrows()
    }


def _figures(f: SalesFigures) -> Row:
    return (f.revenue, f.orders, f.units, f.buyers)


def _rows(report: SalesReport, side: str) -> dict[str, Row]:
    return {row.key: _figures(getattr(row, side)) for row in report.breakdown_rows if getattr(row, side).orders}


def _report(admin: User, start: dt.date, end: dt.date, **options: Any) -> tuple[SalesReport, str]:
    """The breakdown by product, and what it read: "sums" (the product sums), "channel" (the channel sums) or
    "lines" (the line facts alone)."""
    with CaptureQueriesContext(connection) as context:
        report = sales_report(user=admin, start=start, end=end, breakdown=Breakdown.PRODUCT, **options)
    sql = " ".join(q["sql"] for q in context.captured_queries)
    if "salesproductmonth" in sql or "salesproductday" in sql:
        return report, "sums"
    return report, "channel" if "salesproductchannel" in sql else "lines"


def _check(report: SalesReport, **options: Any) -> None:
    assert _rows(report, "current") == reference(report.start, report.end, **options)
    assert _rows(report, "previous") == reference(report.previous_start, report.previous_end, **options)


def _sums() -> list[tuple[Any, ...]]:
    """The product sums that count anything (a sum taken back to zero may stay until the next rebuild)."""
    days = SalesProductDay.objects.exclude(orders=0).values_list(
        "currency", "day", "product_key", "prev_month", "amount", "units", "orders"
    )
    months = SalesProductMonth.objects.exclude(orders=0).values_list(
        "currency", "month", "prev_month", "product_key", "orders"
    )
    totals = SalesProductTotal.objects.exclude(orders=0).values_list(
        "currency", "month", "product_key", "amount", "units", "orders"
    )
    channel_months = SalesProductChannelMonth.objects.exclude(orders=0).values_list(
        "currency", "channel", "month", "prev_month", "product_key", "amount", "units", "orders"
    )
    channel_totals = SalesProductChannelTotal.objects.exclude(orders=0).values_list(
        "currency", "channel", "month", "product_key", "amount", "units", "orders"
    )
    # The line facts' chains per product, which the sums are summed from (ADR 41).
    chains = SalesLineFact.objects.values_list(
        "line_id", "product_first", "prev_product_day", "prev_product_channel_day"
    )
    return [
        *sorted(days),
        *sorted(months),
        *sorted(totals),
        *sorted(channel_months),
        *sorted(channel_totals),
        *sorted(chains),
    ]


def _as_rebuilt() -> None:
    incremental = _sums()
    sales_facts_rebuild()
    assert _sums() == incremental


def _line(order: Order, product: Product | None, *, line_no: int, quantity: int = 1, amount: int = 1000) -> None:
    OrderLineFactory(
        order=order,
        line_no=line_no,
        product=product,
        sku=product.sku if product else f"GONE-{order.pk}-{line_no}",
        product_name=product.name if product else "旧商品",
        quantity=quantity,
        amount=Decimal(amount),
    )


def test_edge_cases_by_hand(admin: User) -> None:
    shirts, socks = CategoryFactory(name="シャツ"), CategoryFactory(name="靴下")
    shirt, sock, other = ProductFactory(category=shirts), ProductFactory(category=socks), ProductFactory(category=socks)
    repeat, once = CompanyFactory(prefecture="13"), CompanyFactory(prefecture="27")
    person = ContactFactory(company=None, prefecture="01")

    def order(day: dt.date, buyer: Any, *, hour: int = 12, minute: int = 0, **fields: Any) -> Order:
        customer = (
            {"company": buyer, "contact": None} if buyer in (repeat, once) else {"company": None, "contact": buyer}
        )
        return OrderFactory(placed_at=jst(day, hour, minute), **customer, **fields)

    # The same buyer buys the shirt in two orders of March: two orders, one buyer.
    _line(order(dt.date(2026, 3, 3), repeat), shirt, line_no=1, quantity=2, amount=3000)
    _line(order(dt.date(2026, 3, 20), repeat), shirt, line_no=1, amount=1500)
    # An order with two lines of the sock: one order, both lines' units and amounts.
    two = order(dt.date(2026, 3, 5), once)
    _line(two, sock, line_no=1, quantity=1, amount=700)
    _line(two, sock, line_no=2, quantity=3, amount=2100)
    _line(two, None, line_no=3, amount=400)  # a line without a product: the "none" row
    # Left out: cancelled, in USD.
    _line(order(dt.date(2026, 3, 6), once, status=OrderStatus.CANCELLED), shirt, line_no=1, amount=99000)
    _line(order(dt.date(2026, 3, 7), once, currency="USD"), shirt, line_no=1, amount=88000)
    # 23:30 JST on the last day of February is February's; 00:30 JST on March 1st (still February in UTC) is
    # March's. The buyer of both bought the sock in February, so is March's buyer all the same.
    _line(order(dt.date(2026, 2, 28), person, hour=23, minute=30), sock, line_no=1, amount=500)
    _line(order(dt.date(2026, 3, 1), person, hour=0, minute=30), sock, line_no=1, amount=600)
    # The year before (the comparison) and the month before (the previous period).
    _line(order(dt.date(2025, 3, 10), repeat), shirt, line_no=1, amount=1200)
    _line(order(dt.date(2025, 3, 11), repeat, channel=OrderChannel.FAX), shirt, line_no=1, amount=1300)
    _line(order(dt.date(2026, 2, 10), repeat, channel=OrderChannel.FAX), other, line_no=1, amount=800)
    sales_facts_catch_up()
    march, path = _report(admin, MAR, dt.date(2026, 3, 31), comparison=Comparison.PREVIOUS_YEAR)
    assert path == "sums"
    assert _rows(march, "current") == {
        str(shirt.pk): (Decimal(4500), 2, 3, 1),
        str(sock.pk): (Decimal(3400), 2, 5, 2),
        "none": (Decimal(400), 1, 1, 1),
    }
    assert _rows(march, "previous") == {str(shirt.pk): (Decimal(2500), 2, 2, 1)}
    _check(march)
    # The period before February starts on January 4th: the sums answer it too (ADR 42).
    february, path = _report(admin, dt.date(2026, 2, 1), dt.date(2026, 2, 28), comparison=Comparison.PREVIOUS_PERIOD)
    assert path == "sums" and _rows(february, "current") == {
        str(sock.pk): (Decimal(500), 1, 1, 1),
        str(other.pk): (Decimal(800), 1, 1, 1),
    }
    _check(february)
    # A category filter keeps the sums; a channel filter reads the channel sums (ADR 44), a prefecture the lines.
    report, path = _report(admin, MAR, dt.date(2026, 3, 31), filters=SalesFilters(category_id=socks.pk))
    assert path == "sums" and set(_rows(report, "current")) == {str(sock.pk)}
    _check(report, category_id=socks.pk)
    for filters, options in (
        (SalesFilters(channel=OrderChannel.FAX), {"channel": OrderChannel.FAX}),
        (SalesFilters(prefecture="13"), {"prefecture": "13"}),
    ):
        report, path = _report(admin, MAR, dt.date(2026, 3, 31), filters=filters)
        assert path == ("channel" if filters.channel else "lines")
        _check(report, **options)
    report, path = _report(admin, dt.date(2026, 3, 2), dt.date(2026, 3, 31))
    assert path == "sums"
    _check(report)
    # From the 10th: the shirt's buyer last bought it on the 3rd, inside March but before the period, so the
    # order of the 20th makes them its buyer, though the month sums file that purchase under March (ADR 42).
    report, path = _report(admin, dt.date(2026, 3, 10), dt.date(2026, 3, 31), comparison=Comparison.PREVIOUS_PERIOD)
    assert path == "sums" and _rows(report, "current") == {str(shirt.pk): (Decimal(1500), 1, 1, 1)}
    _check(report)


def _shop() -> dict[str, Any]:
    """~150 orders over 16 months by 10 buyers (B2C too) of 6 products in two categories, with repeat purchases,
    repeated products within an order, lines without a product, cancelled and USD orders and 23:30 JST orders."""
    rng = random.Random(28)
    tops = [CategoryFactory() for _ in range(2)]
    leaves = [CategoryFactory(parent=top) for top in tops]
    products = [ProductFactory(category=rng.choice([*leaves, tops[0]])) for _ in range(6)]
    companies = [CompanyFactory(prefecture=rng.choice(["13", "27"])) for _ in range(7)]
    contacts = [ContactFactory(company=None, prefecture="01") for _ in range(3)]
    for n in range(150):
        buyer = rng.choice([*companies, *contacts])
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(490))
        hour, minute = (23, 30) if n % 6 == 0 else (rng.randrange(0, 24), 30)
        order = OrderFactory(
            placed_at=jst(day, hour, minute),
            company=buyer if buyer in companies else None,
            contact=buyer if buyer in contacts else None,
            channel=rng.choice([OrderChannel.WEB, OrderChannel.FAX]),
            status=OrderStatus.CANCELLED if n % 13 == 0 else OrderStatus.DELIVERED,
            currency="USD" if n % 23 == 0 else "JPY",
        )
        for line_no in range(1, 1 + rng.randrange(1, 4)):
            product = rng.choice(products) if line_no != 3 else None
            _line(order, product, line_no=line_no, quantity=rng.randrange(1, 4), amount=rng.randrange(1, 50) * 100)
    sales_facts_catch_up()
    return {"tops": tops, "leaves": leaves, "products": products, "companies": companies}


PERIODS = (
    (MAR, dt.date(2026, 3, 31), Comparison.PREVIOUS_YEAR),  # whole months only
    (dt.date(2025, 10, 1), dt.date(2026, 3, 17), Comparison.PREVIOUS_YEAR),  # the last month in part
    (dt.date(2026, 2, 1), dt.date(2026, 2, 9), Comparison.PREVIOUS_YEAR),  # one month in part
    (dt.date(2026, 1, 1), dt.date(2026, 1, 31), Comparison.PREVIOUS_PERIOD),  # against December
    (dt.date(2025, 2, 1), dt.date(2026, 4, 30), Comparison.PREVIOUS_YEAR),  # overlapping periods
)


MID_MONTH = (
    (dt.date(2025, 10, 2), dt.date(2026, 3, 17), Comparison.PREVIOUS_YEAR),
    (dt.date(2026, 2, 12), dt.date(2026, 2, 20), Comparison.PREVIOUS_PERIOD),  # inside one month, against January's
    (dt.date(2025, 11, 20), dt.date(2026, 1, 31), Comparison.PREVIOUS_PERIOD),  # to the end of a month
    (dt.date(2025, 6, 15), dt.date(2026, 4, 30), Comparison.PREVIOUS_YEAR),  # overlapping periods
)


def _whole_month_in(start: dt.date, end: dt.date) -> bool:
    """Whether [start, end] holds a whole month: within a channel the sums answer those, the lines the rest."""
    first = start if start.day == 1 else add_months(start.replace(day=1), 1)
    return add_months(first, 1) - dt.timedelta(days=1) <= end


def test_every_period_and_filter_matches_pandas(admin: User) -> None:
    shop = _shop()
    for start, end, comparison in PERIODS:
        for filters, options in (
            (SalesFilters(), {}),
            (SalesFilters(category_id=shop["tops"][0].pk), {"category_id": shop["tops"][0].pk}),
            (SalesFilters(category_id=shop["leaves"][1].pk), {"category_id": shop["leaves"][1].pk}),
            (SalesFilters(channel=OrderChannel.WEB), {"channel": OrderChannel.WEB}),
            (
                SalesFilters(channel=OrderChannel.FAX, category_id=shop["tops"][0].pk),
                {"channel": OrderChannel.FAX, "category_id": shop["tops"][0].pk},
            ),
            (SalesFilters(prefecture="27"), {"prefecture": "27"}),
        ):
            report, path = _report(admin, start, end, comparison=comparison, filters=filters)
            channel = "channel" if _whole_month_in(start, end) else "lines"
            expected = "lines" if filters.prefecture else channel if filters.channel else "sums"
            assert path == expected, (start, filters)
            _check(report, **options)
    # The same pages a day later in the month read the sums too, with the lines whose previous purchase lies in
    # the first month before the start (ADR 42).
    for start, end, comparison in MID_MONTH:
        for filters, options in (
            (SalesFilters(), {}),
            (SalesFilters(category_id=shop["tops"][0].pk), {"category_id": shop["tops"][0].pk}),
            (SalesFilters(channel=OrderChannel.FAX), {"channel": OrderChannel.FAX}),
            (
                SalesFilters(channel=OrderChannel.WEB, category_id=shop["leaves"][1].pk),
                {"channel": OrderChannel.WEB, "category_id": shop["leaves"][1].pk},
            ),
        ):
            report, path = _report(admin, start, end, comparison=comparison, filters=filters)
            channel = "channel" if _whole_month_in(start, end) else "lines"
            assert path == (channel if filters.channel else "sums"), (start, filters)
            _check(report, **options)


def test_a_sales_rep_sees_only_their_companies_products(admin: User) -> None:
    shop = _shop()
    rep = UserFactory(username="rep", role=Role.SALES_REP)
    mine = shop["companies"][:3]
    Order.objects.filter(company__in=mine).update(sales_rep=rep)
    for company in mine:
        company.assigned_rep = rep
        company.save(update_fields=["assigned_rep"])
    report, path = _report(rep, dt.date(2025, 10, 1), dt.date(2026, 3, 17))
    assert path == "lines"  # the sums hold everyone's buyers
    _check(report, companies={company.pk for company in mine})
    assert _rows(report, "current") != _rows(_report(admin, dt.date(2025, 10, 1), dt.date(2026, 3, 17))[0], "current")


def test_orders_through_the_consumer_keep_the_sums_as_a_rebuild_would(
    admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    shop = _shop()
    _as_rebuilt()
    company, product = shop["companies"][0], shop["products"][0]

    def placed(external_id: str, day: dt.date, quantity: int, *, status: str = "confirmed") -> None:
        lines = [OrderLineIn(sku=product.sku, quantity=quantity, unit_price=Decimal(1000), product_id=product.pk)] * 2
        data = OrderIn(placed_at=jst(day, 23, 30), company_id=company.pk, status=status, lines=lines)
        with django_capture_on_commit_callbacks(execute=True):
            order_upsert(source="shop", external_id=external_id, data=data)

    # The latest order of its buyer, one inside its history (it becomes the previous purchase of later ones), and
    # that one cancelled again: each through the order facts' consumer, checked before any report catches up.
    placed("N-1", dt.date(2026, 4, 28), 2)
    _as_rebuilt()
    placed("N-2", dt.date(2025, 6, 15), 1)
    _as_rebuilt()
    report, path = _report(admin, dt.date(2025, 6, 1), dt.date(2026, 4, 30))
    assert path == "sums"
    _check(report)
    placed("N-2", dt.date(2025, 6, 15), 1, status="cancelled")
    _as_rebuilt()
    _check(_report(admin, dt.date(2025, 6, 1), dt.date(2026, 4, 30))[0])


def test_buyers_moved_and_orders_edited_keep_the_sums_as_a_rebuild_would(admin: User) -> None:
    shop = _shop()
    orders = list(Order.objects.filter(status=OrderStatus.DELIVERED, company__isnull=False).order_by("pk")[:6])
    Order.objects.filter(pk=orders[0].pk).update(status=OrderStatus.CANCELLED)
    Order.objects.filter(pk=orders[1].pk).update(company=orders[2].company)
    Order.objects.filter(pk=orders[3].pk).update(company=None, contact=ContactFactory(company=None))
    Order.objects.filter(pk=orders[4].pk).update(currency="USD")
    Order.objects.filter(pk=orders[5].pk).update(placed_at=jst(dt.date(2025, 1, 2), 23, 30))
    OrderLine.objects.filter(order_id=orders[2].pk).update(product=shop["products"][1])
    sales_facts_refresh(order_ids=[o.pk for o in orders])
    _as_rebuilt()
    for start, end, comparison in PERIODS:
        _check(_report(admin, start, end, comparison=comparison)[0])


def test_a_product_moved_to_another_category_is_filtered_by_its_new_one(admin: User) -> None:
    shop = _shop()
    leaf = shop["leaves"][0]
    moved = Product.objects.exclude(category=leaf).order_by("pk").first()
    assert moved is not None
    before, _ = _report(admin, dt.date(2025, 10, 1), dt.date(2026, 3, 31), filters=SalesFilters(category_id=leaf.pk))
    assert str(moved.pk) not in _rows(before, "current")
    Product.objects.filter(pk=moved.pk).update(category=leaf)
    after, path = _report(admin, dt.date(2025, 10, 1), dt.date(2026, 3, 31), filters=SalesFilters(category_id=leaf.pk))
    assert path == "sums" and str(moved.pk) in _rows(after, "current")
    _check(after, category_id=leaf.pk)
    # A category moved under the other top-level one takes its products along.
    Category.objects.filter(pk=leaf.pk).update(parent=shop["tops"][1])
    for top in shop["tops"]:
        report, _ = _report(admin, dt.date(2025, 10, 1), dt.date(2026, 3, 31), filters=SalesFilters(category_id=top.pk))
        _check(report, category_id=top.pk)
    _as_rebuilt()  # the sums do not depend on the catalogue


def test_the_migration_sums_the_stored_line_facts_into_the_channel_sums_as_the_rebuild_does() -> None:
    _shop()
    sales_facts_rebuild()
    rebuilt = _sums()
    SalesProductChannelMonth.objects.all().delete()
    SalesProductChannelTotal.objects.all().delete()
    migration = importlib.import_module("tokui.analytics.migrations.0020_sales_product_channel_sums")
    migration._fill(None, MigrationEditor())
    assert _sums() == rebuilt
    assert SalesProductChannelMonth.objects.filter(product_key=SalesProductChannelMonth.EVERY_LINE).exists()
