"""Stats follow the orders through the facts outbox, and the nightly job recomputes them once a day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.analytics.conftest import jst
from tests.factories import CompanyFactory, ContactFactory, ProductFactory
from tokui.analytics.enums import CustomerLevel
from tokui.analytics.models import CustomerStats, RfmSnapshot, StatsRecompute
from tokui.analytics.selectors import customer_stats_of_company, customer_stats_of_contact
from tokui.analytics.services import analytics_nightly_run, stats_recompute_all
from tokui.commerce.services import order_upsert, orders_upsert_batch
from tokui.commerce.types import OrderIn, OrderLineIn, OrderLineRecordIn, OrderRecordIn
from tokui.tracking.services import events_dispatch_pending

pytestmark = pytest.mark.django_db

D = dt.date(2026, 5, 10)


def _order(
    company_id: int | None, day: dt.date, *, status: str = "confirmed", contact_id: int | None = None
) -> OrderIn:
    product = ProductFactory()
    return OrderIn(
        placed_at=jst(day),
        company_id=company_id,
        contact_id=contact_id,
        status=status,
        lines=[OrderLineIn(sku=product.sku, quantity=2, unit_price=Decimal(1500), product_id=product.pk)],
    )


def _figures() -> list[tuple[Any, ...]]:
    return sorted(
        CustomerStats.objects.values_list(
            "company_id",
            "contact_id",
            "first_order_on",
            "last_order_on",
            "order_count",
            "order_days",
            "total_spend",
            "average_spend",
            "average_interval_days",
            "median_interval_days",
            "predicted_next_order_on",
            "favourite_category_1_id",
            "favourite_category_2_id",
            "favourite_category_3_id",
        ),
        key=str,
    )


def test_an_order_placed_refreshes_its_customers_stats_after_commit(
    django_capture_on_commit_callbacks: Any,
) -> None:
    company = CompanyFactory()
    individual = ContactFactory(company=None)
    with django_capture_on_commit_callbacks(execute=True):
        order_upsert(source="shop", external_id="A-1", data=_order(company.pk, D))
        order_upsert(source="shop", external_id="B-1", data=_order(None, D, contact_id=individual.pk))
    stats = customer_stats_of_company(company_id=company.pk)
    assert stats is not None and (stats.order_count, stats.total_spend) == (1, Decimal(3000))
    assert customer_stats_of_contact(contact_id=individual.pk) is not None

    with django_capture_on_commit_callbacks(execute=True):
        order_upsert(source="shop", external_id="A-1", data=_order(company.pk, D, status="cancelled"))
    assert customer_stats_of_company(company_id=company.pk) is None


def test_batches_through_the_api_path_keep_stats_equal_to_the_full_recompute(
    django_capture_on_commit_callbacks: Any,
) -> None:
    companies = [CompanyFactory(source="shop", external_id=f"C{n}") for n in range(4)]
    product = ProductFactory(source="shop", external_id="P1")
    records = [
        OrderRecordIn(
            external_id=f"O{n}",
            placed_at=jst(D + dt.timedelta(days=n * 3 % 11), hour=n % 24),
            company_external_id=f"C{n % 4}",
            status="cancelled" if n == 5 else "confirmed",
            lines=[OrderLineRecordIn(product_external_id="P1", quantity=1 + n % 3, unit_price=Decimal(1000 + n))],
        )
        for n in range(12)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = orders_upsert_batch(source="shop", records=records)
    assert {outcome.outcome for outcome in outcomes} == {"created"}
    # Bulk-inserted facts may reach consumers through the sweeper rather than right after commit.
    events_dispatch_pending()
    incremental = _figures()
    assert len(incremental) == len(companies)
    stats_recompute_all()
    assert _figures() == incremental
    assert product.pk


def test_nightly_job_runs_once_a_day_from_three_oclock_site_time(time_machine: Any) -> None:
    company = CompanyFactory()
    with_orders = ContactFactory(company=company)
    order_upsert(source="shop", external_id="A-1", data=_order(company.pk, D, contact_id=with_orders.pk))
    time_machine.move_to(jst(D + dt.timedelta(days=40), hour=2))
    assert analytics_nightly_run() is True  # never ran: runs at once
    assert analytics_nightly_run() is False
    time_machine.move_to(jst(D + dt.timedelta(days=40), hour=3, minute=5))
    assert analytics_nightly_run() is True
    time_machine.move_to(jst(D + dt.timedelta(days=40), hour=23))
    assert analytics_nightly_run() is False
    assert StatsRecompute.objects.count() == 2
    assert CustomerStats.objects.count() == 1
    # This month and last month, for both levels (the B2C month is empty but recorded).
    months = set(RfmSnapshot.objects.filter(level=CustomerLevel.COMPANY).values_list("month", flat=True))
    assert months == {dt.date(2026, 6, 1), dt.date(2026, 5, 1)}
