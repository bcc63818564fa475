"""The line facts' chains per product and per order (ADR 41): written by the rebuild, kept by the consumer, and
given once by the migration to the lines already stored."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal
from typing import Any

import pytest

from tests.analytics.conftest import MigrationEditor, jst
from tests.factories import CompanyFactory, OrderFactory, OrderLineFactory, ProductFactory
from tokui.analytics.models import SalesLineFact
from tokui.analytics.sales_facts import sales_facts_rebuild, sales_facts_refresh
from tokui.commerce.enums import OrderStatus

pytestmark = pytest.mark.django_db

CHAINS = (
    "product_first",
    "prev_product_day",
    "prev_product_channel_day",
    "order_first",
    "prev_order_day",
    "prev_order_channel_day",
)


def _chains() -> dict[int, tuple[Any, ...]]:
    return {row[0]: row[1:] for row in SalesLineFact.objects.values_list("line_id", *CHAINS)}


def test_each_line_carries_its_buyers_previous_order_of_the_product_and_of_any_line() -> None:
    company = CompanyFactory()
    shirt, sock = ProductFactory(), ProductFactory()
    lines = {}
    for name, day, channel, products in (
        ("a", dt.date(2026, 1, 5), "web", [shirt, shirt, sock]),
        ("b", dt.date(2026, 2, 1), "fax", [sock]),
        ("c", dt.date(2026, 2, 1), "web", [shirt]),
        ("d", dt.date(2026, 3, 9), "web", [sock, shirt]),
    ):
        order = OrderFactory(company=company, placed_at=jst(day, 10), channel=channel, status=OrderStatus.DELIVERED)
        for n, product in enumerate(products, start=1):
            lines[(name, n)] = OrderLineFactory(order=order, line_no=n, product=product, amount=Decimal(100)).pk
    sales_facts_rebuild()
    chains = _chains()
    jan, feb, none = dt.date(2026, 1, 5), dt.date(2026, 2, 1), None
    # (product first, previous of the product, of the product in the channel, order first, previous order, in
    # the channel): a second line of a product in one order repeats the first's days but is not first.
    assert chains[lines[("a", 1)]] == (True, none, none, True, none, none)
    assert chains[lines[("a", 2)]] == (False, none, none, False, none, none)
    assert chains[lines[("a", 3)]] == (True, none, none, False, none, none)
    assert chains[lines[("b", 1)]] == (True, jan, none, True, jan, none)
    # Two orders on one day: the later id follows the earlier, in its own channel's chain from January's.
    assert chains[lines[("c", 1)]] == (True, jan, jan, True, feb, jan)
    assert chains[lines[("d", 1)]] == (True, feb, jan, True, feb, feb)
    assert chains[lines[("d", 2)]] == (True, feb, feb, False, none, none)


def test_an_order_inserted_and_cancelled_inside_a_history_sets_only_the_later_chains_again() -> None:
    company, shirt = CompanyFactory(), ProductFactory()
    for day in (dt.date(2026, 1, 5), dt.date(2026, 3, 9)):
        order = OrderFactory(company=company, placed_at=jst(day, 10), status=OrderStatus.DELIVERED)
        OrderLineFactory(order=order, product=shirt)
    sales_facts_rebuild()
    inside = OrderFactory(company=company, placed_at=jst(dt.date(2026, 2, 1), 23, 30), status=OrderStatus.DELIVERED)
    OrderLineFactory(order=inside, product=shirt)
    sales_facts_refresh(order_ids=[inside.pk])
    refreshed = _chains()
    assert sorted(days[1] or dt.date.min for days in refreshed.values()) == [
        dt.date.min,
        dt.date(2026, 1, 5),
        dt.date(2026, 2, 1),
    ]
    sales_facts_rebuild()
    assert _chains() == refreshed
    inside.status = OrderStatus.CANCELLED
    inside.save(update_fields=["status"])
    sales_facts_refresh(order_ids=[inside.pk])
    assert sorted(days[1] or dt.date.min for days in _chains().values()) == [dt.date.min, dt.date(2026, 1, 5)]


def test_the_migration_gives_the_lines_already_stored_the_chains_a_rebuild_writes() -> None:
    company, other = CompanyFactory(), CompanyFactory()
    products = [ProductFactory() for _ in range(3)]
    for n in range(12):
        order = OrderFactory(
            company=(company, other)[n % 2],
            placed_at=jst(dt.date(2026, 1, 1) + dt.timedelta(days=n * 5 % 40), 12),
            channel=("web", "fax")[n % 3 % 2],
            status=OrderStatus.DELIVERED,
        )
        for line_no in range(1, 2 + n % 3):
            OrderLineFactory(order=order, line_no=line_no, product=products[(n + line_no) % 3])
    sales_facts_rebuild()
    rebuilt = _chains()
    SalesLineFact.objects.update(
        product_first=False,
        order_first=False,
        prev_product_day=None,
        prev_product_channel_day=None,
        prev_order_day=None,
        prev_order_channel_day=None,
    )
    migration = importlib.import_module("tokui.analytics.migrations.0017_sales_line_fact_chains")
    migration.chain_existing_lines(None, MigrationEditor())
    assert _chains() == rebuilt
