from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from tests.factories import OrderFactory, OrderLineFactory
from tokui.commerce.models import Order
from tokui.core.time import site_zone


class MigrationEditor:
    """What a migration's data function uses of a schema editor (SQLite's cannot open inside a test's
    transaction): its connection and ``execute``."""

    connection = connection

    def execute(self, sql: str, params: Any = None) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def jst(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    """An aware instant at ``hour:minute`` JST on ``day`` (stored as UTC)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=site_zone())


@pytest.fixture
def order_on() -> Callable[..., Order]:
    """``order_on(day, company=..., total=..., status=..., currency=..., hour=..., category=...)``, with one line."""

    def make(day: dt.date, *, total: int = 11000, hour: int = 12, minute: int = 0, **fields: object) -> Order:
        category = fields.pop("category", None)
        order = OrderFactory(placed_at=jst(day, hour, minute), total=Decimal(total), subtotal=Decimal(total), **fields)
        line_fields: dict[str, object] = {"order": order, "amount": Decimal(total), "line_no": 1}
        if category is not None:
            line_fields["product__category"] = category
        OrderLineFactory(**line_fields)
        return order

    return make
