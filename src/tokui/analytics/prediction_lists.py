"""The prediction screen's lists from the nightly predictions, picked by the database (ADR 0049): the customers
past their usual reorder interval as of today (発注遅延予備軍), most overdue first, and those of the highest
predicted value. Reading every stored prediction and its customer's stats into Python took 14-16 s at 540,000
customers; these read the rows shown, with the overdue ones' count."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection

from tokui.accounts.models import User
from tokui.accounts.selectors import user_sees_all_accounts
from tokui.analytics import clv
from tokui.analytics.models import CustomerPrediction, CustomerStats
from tokui.customers.selectors import companies_visible_to


@dataclass(frozen=True, slots=True)
class PredictionLists:
    overdue: list[clv.CustomerPrediction]  # most overdue first (then more orders), at most the limit asked
    overdue_total: int
    valuable: list[clv.CustomerPrediction]  # highest predicted value of a year first
    model_ready: bool  # the models were fitted (a shop with too few customers has no probabilities)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _days_since(column: str) -> str:
    """Days from ``column`` (a date) to the date parameter, in this database's SQL."""
    if connection.vendor == "postgresql":
        return f"(CAST(%s AS date) - {column})"
    return f"CAST(julianday(%s) - julianday({column}) AS INTEGER)"


def _rows(user: User, today: dt.date) -> tuple[str, list[Any]]:
    """Every stored prediction with its customer's orders and last order, as a subquery (``days`` since it)."""
    predictions, stats = _q(CustomerPrediction._meta.db_table), _q(CustomerStats._meta.db_table)
    columns = (
        "p.company_id, p.contact_id, s.order_count, s.last_order_on, p.probability_alive,"
        " p.expected_orders_90_days, p.expected_order_value, p.clv_365_days, p.usual_interval_days,"
        f" {_days_since('s.last_order_on')} AS days"
    )
    companies = f"SELECT {columns} FROM {predictions} p JOIN {stats} s ON s.company_id = p.company_id"
    if user_sees_all_accounts(user=user):
        sql = (
            f"{companies} UNION ALL SELECT {columns} FROM {predictions} p JOIN {stats} s"
            " ON s.contact_id = p.contact_id AND s.company_id IS NULL WHERE p.company_id IS NULL"
        )
        return f"({sql})", [today, today]
    # A sales rep: their own companies (ADR 0004); B2C customers have no rep.
    visible, visible_params = companies_visible_to(user=user).values("pk").query.sql_with_params()
    return f"({companies} WHERE p.company_id IN ({visible}))", [today, *visible_params]


def _prediction(row: tuple[Any, ...]) -> clv.CustomerPrediction:
    company_id, contact_id, orders, last_order, alive, orders_90, value, clv_365, interval, days = row
    key: clv.CustomerKey = ("company", company_id) if company_id is not None else ("contact", contact_id or 0)
    return clv.CustomerPrediction(
        key=key,
        orders=int(orders),
        last_order=last_order if isinstance(last_order, dt.date) else dt.date.fromisoformat(str(last_order)),
        probability_alive=alive,
        expected_orders_90_days=orders_90,
        expected_order_value=float(value) if value is not None else None,
        clv_365_days=float(clv_365) if clv_365 is not None else None,
        usual_interval_days=interval,
        days_since_last_order=int(days),
    )


def prediction_lists(
    *, user: User, today: dt.date, overdue_limit: int | None, valuable_limit: int
) -> PredictionLists | None:
    """The lists as of ``today`` from the stored predictions of the customers ``user`` may see (``None`` before the
    first nightly run has stored any); ``overdue_limit`` ``None``: every overdue customer (the CSV export)."""
    if not CustomerPrediction.objects.exists():
        return None
    rows, params = _rows(user, today)
    overdue = "r.usual_interval_days IS NOT NULL AND r.days > r.usual_interval_days"
    limit = "" if overdue_limit is None else f" LIMIT {int(overdue_limit)}"
    with connection.cursor() as cursor:
        # The count of every overdue row comes with the rows shown, from the same read (taken before the LIMIT).
        cursor.execute(
            f"SELECT r.*, COUNT(*) OVER () FROM {rows} r WHERE {overdue}"
            f" ORDER BY r.days - r.usual_interval_days DESC, r.order_count DESC, r.company_id, r.contact_id{limit}",
            params,
        )
        found = cursor.fetchall()
        late = [_prediction(row[:-1]) for row in found]
        total = int(found[0][-1]) if found else 0
        cursor.execute(
            f"SELECT * FROM {rows} r WHERE r.clv_365_days IS NOT NULL"
            f" ORDER BY r.clv_365_days DESC, r.company_id, r.contact_id LIMIT {int(valuable_limit)}",
            params,
        )
        valuable = [_prediction(row) for row in cursor.fetchall()]
    ready = CustomerPrediction.objects.filter(probability_alive__isnull=False).exists()
    return PredictionLists(overdue=late, overdue_total=total, valuable=valuable, model_ready=ready)
