"""The full recompute's reads pack several fields in one integer; values too large for their share are read again
in a wider form, and the figures stay those of the SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from tests.analytics.conftest import jst
from tests.factories import CategoryFactory, CompanyFactory, OrderFactory, OrderLineFactory
from tokui.analytics import stats_reads
from tokui.analytics.models import CustomerStats
from tokui.analytics.services import stats_recompute_all
from tokui.analytics.stats_reads import runs
from tokui.analytics.stats_sql import STATS_COLUMNS, stats_select_sql
from tokui.commerce.models import Order
from tokui.core.money import default_currency

D = dt.date(2026, 4, 1)
FIGURES = [column for column in STATS_COLUMNS if column != "refreshed_at"]
postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the array path is PostgreSQL's; SQLite runs the SQL"
)


def _sql_rows() -> list[tuple[object, ...]]:
    sql, params = stats_select_sql(currency=default_currency(), refreshed_at=timezone.now(), scope=None)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted((tuple(row[:-1]) for row in cursor.fetchall()), key=repr)


def _stored_rows() -> list[tuple[object, ...]]:
    return sorted(CustomerStats.objects.values_list(*FIGURES), key=repr)


def _forms_used() -> tuple[int, int]:
    with connection.cursor() as cursor:
        order_runs, line_runs = runs(cursor, default_currency())
        for run in (*order_runs, *line_runs):
            run.read(cursor)
    return order_runs[0].source.form, line_runs[0].source.form


@postgresql_only
@pytest.mark.django_db
def test_amounts_and_totals_read_packed_with_the_ids_or_apart_give_the_figures_of_the_sql(
    order_on: Callable[..., Order], monkeypatch: pytest.MonkeyPatch
) -> None:
    category = CategoryFactory()
    for offset, total in enumerate((1200, -300, 0)):
        order_on(D + dt.timedelta(days=offset), company=CompanyFactory(), total=total, category=category)
    fractions = CompanyFactory()
    order = OrderFactory(company=fractions, placed_at=jst(D), total=Decimal("1234.56"))
    for number, amount in enumerate(("1000.05", "234.51", "-0.01", "0.01"), start=1):
        OrderLineFactory(order=order, line_no=number, product__category=category, amount=Decimal(amount))
    assert _forms_used() == (0, 0)  # small money: everything packed
    expected = _sql_rows()
    stats_recompute_all()
    assert _stored_rows() == expected

    # The column's largest amount with ids of 18 bits each (27 bits left): the lines go in the wider form.
    big = OrderFactory(company=CompanyFactory(), placed_at=jst(D), total=Decimal("99999999999.99"))
    OrderLineFactory(order=big, line_no=1, product__category=category, amount=Decimal("-99999999999.99"))
    real_line_forms = stats_reads.line_forms
    monkeypatch.setattr(stats_reads, "line_forms", lambda order_bits, product_bits: real_line_forms(18, 18))
    assert _forms_used()[1] == 1
    expected = _sql_rows()
    stats_recompute_all()
    assert _stored_rows() == expected


@postgresql_only
@pytest.mark.django_db
def test_a_total_too_large_to_pack_reads_the_orders_apart(
    order_on: Callable[..., Order], monkeypatch: pytest.MonkeyPatch
) -> None:
    order_on(D, company=CompanyFactory(), total=999_999_999_999)
    order_on(D, company=CompanyFactory(), total=-5)
    # Pretend the order ids take 38 bits: the total's share (25 bits) cannot hold 10**14 hundredths.
    real_order_forms = stats_reads.order_forms
    monkeypatch.setattr(stats_reads, "order_forms", lambda order_bits: real_order_forms(38))
    assert _forms_used()[0] == 1
    expected = _sql_rows()
    stats_recompute_all()
    assert _stored_rows() == expected
