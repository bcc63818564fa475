"""On PostgreSQL the nightly rebuild fills new fact tables beside the live ones and swaps them in.

Reports keep reading the old facts during the build; afterwards the tables have the same rows as the incremental
writes, the same indexes and constraints under the same names, and the order facts that arrived during the build
are not lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from tests.analytics.conftest import jst
from tests.factories import CompanyFactory, ProductFactory
from tokui.analytics import sales_facts
from tokui.analytics.basket_packs import basket_packs_fill
from tokui.analytics.models import (
    BasketDayPack,
    SalesCategoryFact,
    SalesCustomerRecord,
    SalesLineFact,
    SalesOrderDay,
    SalesOrderFact,
)
from tokui.analytics.sales_facts import sales_facts_rebuild
from tokui.commerce.services import order_upsert
from tokui.commerce.types import OrderIn, OrderLineIn
from tokui.core.time import local_today
from tokui.tracking.models import Event
from tokui.tracking.services import events_dispatch

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the swap is PostgreSQL's; SQLite refills in place"),
]

MAR = dt.date(2026, 3, 10)
TABLES = (SalesOrderFact._meta.db_table, SalesLineFact._meta.db_table)


def _schema() -> list[tuple[str, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1, 2",
            [list(TABLES)],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
            [list(TABLES)],
        )
        return [*indexes, *cursor.fetchall()]


def _rows() -> tuple[list[Any], list[Any]]:
    orders = sorted(SalesOrderFact.objects.values_list("order_id", "day", "buyer", "total", "units", "prev_day"))
    lines = sorted(SalesLineFact.objects.values_list("line_id", "order_id", "product_id", "quantity", "amount"))
    return orders, lines


def _place(external_id: str, day: dt.date, company_id: int, product: Any, status: str = "") -> OrderIn:
    data = OrderIn(
        placed_at=jst(day, 10),
        company_id=company_id,
        lines=[OrderLineIn(sku=product.sku, quantity=2, unit_price=Decimal(1500), product_id=product.pk)],
    )
    if status:
        data = replace(data, status=status)
    order_upsert(source="shop", external_id=external_id, data=data)
    events_dispatch(event_ids=list(Event.objects.filter(dispatched_at__isnull=True).values_list("pk", flat=True)))
    return data


def test_the_swap_keeps_rows_indexes_and_constraint_names(monkeypatch: pytest.MonkeyPatch) -> None:
    company, product = CompanyFactory(), ProductFactory()
    for n in range(4):
        _place(f"A-{n}", MAR + dt.timedelta(days=n), company.pk, product)
    incremental, schema = _rows(), _schema()
    assert len(incremental[0]) == 4
    seen: list[int] = []
    original = sales_facts.rebuild_beside

    def watched(tables: list[str], fill: Callable[[dict[str, str]], None], **options: Any) -> None:
        def fill_and_look(twins: dict[str, str]) -> None:
            fill(twins)
            seen.append(SalesOrderFact.objects.count())  # the live table is still whole while the twin fills

        original(tables, fill_and_look, **options)

    monkeypatch.setattr(sales_facts, "rebuild_beside", watched)
    assert sales_facts_rebuild() == 4
    assert seen == [4]
    assert _rows() == incremental
    assert _schema() == schema
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname LIKE %s", ["%\\_\\_rb"])
        assert cursor.fetchone()[0] == 0  # no twin left behind
        # The fact tables and the customer records come vacuumed (their pages all-visible: index-only reads skip
        # them, ADR 42, 46); the day sums only analysed.
        visible = {}
        for model in (SalesOrderFact, SalesLineFact, SalesCategoryFact, SalesCustomerRecord, SalesOrderDay):
            cursor.execute("SELECT relallvisible FROM pg_class WHERE relname = %s", [model._meta.db_table])
            visible[model] = cursor.fetchone()[0]
    assert visible == {
        SalesOrderFact: 1,
        SalesLineFact: 1,
        SalesCategoryFact: 1,
        SalesCustomerRecord: 1,
        SalesOrderDay: 0,
    }


def _triggers() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal ORDER BY 1",
            [SalesLineFact._meta.db_table],
        )
        return [row[0] for row in cursor.fetchall()]


def test_the_swap_empties_the_basket_packs_and_keeps_the_line_facts_triggers() -> None:
    company, product = CompanyFactory(), ProductFactory()
    days = [local_today() - dt.timedelta(days=n) for n in (3, 2)]
    for n, day in enumerate(days):
        _place(f"P-{n}", day, company.pk, product)
    triggers = _triggers()
    assert len(triggers) == 4
    assert basket_packs_fill(days=5) == 5
    sales_facts_rebuild()
    assert not BasketDayPack.objects.exists()  # made of the old tables' lines
    assert _triggers() == triggers
    basket_packs_fill(days=5)
    _place("P-0", days[0], company.pk, product, status="cancelled")  # the new table's trigger unpacks the day
    assert days[0] not in set(BasketDayPack.objects.values_list("day", flat=True))
    assert BasketDayPack.objects.count() == 4


def test_order_facts_arriving_during_the_build_are_applied_after_the_swap(monkeypatch: pytest.MonkeyPatch) -> None:
    company, product = CompanyFactory(), ProductFactory()
    _place("B-1", MAR, company.pk, product)
    _place("B-2", MAR + dt.timedelta(days=1), company.pk, product)
    original = sales_facts.rebuild_beside

    def busy(tables: list[str], fill: Callable[[dict[str, str]], None], **options: Any) -> None:
        def fill_while_orders_change(twins: dict[str, str]) -> None:
            fill(twins)
            # Meanwhile a shop cancels an order and places a new one; their facts go to the live tables.
            _place("B-1", MAR, company.pk, product, status="cancelled")
            _place("B-3", MAR + dt.timedelta(days=2), company.pk, product)

        original(tables, fill_while_orders_change, **options)

    monkeypatch.setattr(sales_facts, "rebuild_beside", busy)
    sales_facts_rebuild()
    days = sorted(SalesOrderFact.objects.values_list("day", "prev_day"))
    assert days == [(MAR + dt.timedelta(days=1), None), (MAR + dt.timedelta(days=2), MAR + dt.timedelta(days=1))]


def test_a_failed_build_leaves_the_live_tables_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    company, product = CompanyFactory(), ProductFactory()
    _place("C-1", MAR, company.pk, product)
    before, schema = _rows(), _schema()

    def broken(*args: Any, **kwargs: Any) -> tuple[str, list[Any]]:
        raise RuntimeError("the build broke")

    monkeypatch.setattr(sales_facts, "orders_insert", broken)
    with pytest.raises(RuntimeError):
        sales_facts_rebuild()
    assert _rows() == before and _schema() == schema
