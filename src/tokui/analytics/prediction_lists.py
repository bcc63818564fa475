"""The prediction screen's lists, picked by the database (ADR 0049, 0050): the customers past their usual reorder
interval as of today (発注遅延予備軍), those just past it first (or those longest past it), and those of the
highest predicted value.

Whether a customer is overdue is read from their stats, which the fact consumer keeps current as orders arrive:
the stats' median days between order days is the usual interval the nightly models store (the same counted orders
in the shop's currency, the same site-zone days), and their last order day is today's. So an order placed this
morning takes its customer off the list at once, and the list is one pass over the stats. The stored predictions
only add their probabilities to the rows shown. Joining every stored prediction to its stats first took 0.72-0.81 s
at 540,000 customers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection

from tokui.accounts.models import User
from tokui.accounts.selectors import user_sees_all_accounts
from tokui.analytics import clv
from tokui.analytics.enums import OverdueOrder
from tokui.analytics.models import CustomerPrediction, CustomerStats
from tokui.analytics.stats_sql import days_between
from tokui.customers.selectors import companies_visible_to


@dataclass(frozen=True, slots=True)
class PredictionLists:
    overdue: list[clv.CustomerPrediction]  # in the order asked (then more orders first), at most the limit asked
    overdue_total: int
    valuable: list[clv.CustomerPrediction]  # highest predicted value of a year first
    model_ready: bool  # the models were fitted (a shop with too few customers has no probabilities)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _days_since(column: str) -> str:
    """Days from ``column`` (a date) to the date parameter."""
    return days_between("%s", column)


def _scope(user: User, table: str) -> tuple[str, list[Any]]:
    """`` AND`` the rows of ``table`` (stats or predictions) a sales rep may see: their own companies (ADR 0004);
    B2C customers have no rep. Empty for a user who sees every account."""
    if user_sees_all_accounts(user=user):
        return "", []
    visible, params = companies_visible_to(user=user).values("pk").query.sql_with_params()
    return f" AND {table}.company_id IN ({visible})", list(params)


# A row as ``_prediction`` reads it, from the stats ``s`` and the customer's stored prediction ``p`` (company) or
# ``pc`` (B2C contact): at most one of the two is there.
_COLUMNS = (
    "s.company_id, s.contact_id, s.order_count, s.last_order_on,"
    " COALESCE(p.probability_alive, pc.probability_alive),"
    " COALESCE(p.expected_orders_90_days, pc.expected_orders_90_days),"
    " COALESCE(p.expected_order_value, pc.expected_order_value), COALESCE(p.clv_365_days, pc.clv_365_days),"
    " s.median_interval_days, s.days"
)


def _with_predictions(stats: str) -> str:
    """The rows of the subquery ``stats`` (stats columns and ``days``) with their stored predictions."""
    predictions = _q(CustomerPrediction._meta.db_table)
    return (
        f"SELECT {_COLUMNS} FROM ({stats}) s"
        f" LEFT JOIN {predictions} p ON p.company_id = s.company_id"
        f" LEFT JOIN {predictions} pc ON pc.contact_id = s.contact_id AND s.company_id IS NULL"
    )


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


# The days past the usual interval, fewest (1) or most (-1) first, in each order: the database's sort and the
# lists fitted before the first nightly run (prediction_views) both follow it.
OVERDUE_SIGNS: dict[OverdueOrder, int] = {OverdueOrder.JUST_PAST: 1, OverdueOrder.LONGEST_PAST: -1}


def _overdue(
    user: User, today: dt.date, limit: int | None, order: OverdueOrder
) -> tuple[list[clv.CustomerPrediction], int]:
    stats = _q(CustomerStats._meta.db_table)
    direction = "ASC" if OVERDUE_SIGNS[order] > 0 else "DESC"
    scope, scope_params = _scope(user, "s")
    days = _days_since("s.last_order_on")
    overdue = f"FROM {stats} s WHERE s.median_interval_days IS NOT NULL AND {days} > s.median_interval_days{scope}"
    params = [today, *scope_params]
    picked = (
        f"SELECT s.company_id, s.contact_id, s.order_count, s.last_order_on, s.median_interval_days, {days} AS days"
        f" {overdue} ORDER BY {days} - s.median_interval_days {direction}, s.order_count DESC, s.company_id,"
        " s.contact_id" + ("" if limit is None else f" LIMIT {int(limit)}")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_with_predictions(picked)} ORDER BY s.days - s.median_interval_days {direction}, s.order_count DESC,"
            " s.company_id, s.contact_id",
            [today, *params, today],
        )
        rows = [_prediction(row) for row in cursor.fetchall()]
        if limit is None or len(rows) < limit:
            return rows, len(rows)
        cursor.execute(f"SELECT COUNT(*) {overdue}", params)
        return rows, int(cursor.fetchone()[0])


def _valuable(user: User, today: dt.date, limit: int) -> list[clv.CustomerPrediction]:
    """The ``limit`` stored predictions of the highest value of a year, with their customers' stats."""
    predictions, stats = _q(CustomerPrediction._meta.db_table), _q(CustomerStats._meta.db_table)
    scope, scope_params = _scope(user, "t")
    top = (
        f"SELECT t.company_id, t.contact_id, t.clv_365_days FROM {predictions} t"
        f" WHERE t.clv_365_days IS NOT NULL{scope} ORDER BY t.clv_365_days DESC, t.company_id, t.contact_id"
        f" LIMIT {int(limit)}"
    )
    with_stats = (
        f"SELECT s.company_id, s.contact_id, s.order_count, s.last_order_on, s.median_interval_days,"
        f" {_days_since('s.last_order_on')} AS days, t.clv_365_days AS rank_value FROM ({top}) t"
        f" JOIN {stats} s ON s.company_id = t.company_id OR (t.company_id IS NULL AND s.contact_id = t.contact_id)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_with_predictions(with_stats)} ORDER BY s.rank_value DESC, s.company_id, s.contact_id",
            [today, *scope_params],
        )
        return [_prediction(row) for row in cursor.fetchall()]


def prediction_lists(
    *,
    user: User,
    today: dt.date,
    overdue_limit: int | None,
    valuable_limit: int,
    overdue_order: OverdueOrder = OverdueOrder.JUST_PAST,
) -> PredictionLists | None:
    """The lists as of ``today`` for the customers ``user`` may see (``None`` before the first nightly run has
    stored any prediction); ``overdue_limit`` ``None``: every overdue customer (the CSV export)."""
    if not CustomerPrediction.objects.exists():
        return None
    overdue, total = _overdue(user, today, overdue_limit, overdue_order)
    ready = CustomerPrediction.objects.filter(probability_alive__isnull=False).exists()
    return PredictionLists(
        overdue=overdue, overdue_total=total, valuable=_valuable(user, today, valuable_limit), model_ready=ready
    )
