"""The sales analysis's reads of the category facts and of the day sums (ADR 0024), for ``analytics.sales``.

Category figures are sums over the category facts (a category's buyers are its rows whose previous order in the
category lies before the period). Periods that start on the 1st read the day sums instead (``sales_days``): the
same sums with the previous order's month in place of its day, a few hundred thousand rows instead of millions.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Case, Count, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import ExtractMonth, ExtractYear, TruncMonth

from tokui.accounts.selectors import user_sees_all_accounts
from tokui.analytics.models import SalesCategoryDay, SalesCategoryFact, SalesOrderDay
from tokui.analytics.report_types import SalesFigures

if TYPE_CHECKING:
    from tokui.analytics.sales import SalesScope

type Group = tuple[int, Any]  # (side, key): side 1 is the reported period, 0 the comparison


def count_where(q: Q) -> Sum:
    """The rows matching ``q``, as a sum (hashable with the other sums; no distinct count)."""
    return Sum(Case(When(q, then=Value(1)), default=Value(0), output_field=IntegerField()))


def orders_where(q: Q) -> Sum:
    """The ``orders`` of the day sums matching ``q``."""
    return Sum(Case(When(q, then=F("orders")), default=Value(0), output_field=IntegerField()))


def category_figures(scope: SalesScope) -> tuple[dict[Group, SalesFigures], dict[Group, SalesFigures]]:
    """Line figures per (side, category), and per side over every line (used without a category filter), as sums
    over the category facts in one grouped read per part (ADR 0024).

    A category's orders are its rows; its buyers the rows whose previous order in the category lies before the
    period. Over every line, each order is counted by its first row and each buyer by the chain of first rows.
    """
    grouped: dict[Group, SalesFigures] = {}
    sums: dict[Group, list[Any]] = {}
    for row in _category_day_rows(scope) if whole_months(scope, channel=False) else _category_fact_rows(scope):
        revenue, units, key = row["revenue"] or Decimal(0), int(row["units"] or 0), row["category_id"]
        if key != SalesCategoryDay.EVERY_LINE:
            grouped[(row["side"], key or None)] = SalesFigures(
                revenue=revenue, orders=row["orders"], units=units, buyers=int(row["buyers"] or 0)
            )
        total = sums.setdefault((row["side"], None), [Decimal(0), 0, 0, 0])
        for index, value in enumerate((revenue, int(row["all_orders"] or 0), units, int(row["all_buyers"] or 0))):
            total[index] += value
    totals = {
        group: SalesFigures(revenue=revenue, orders=orders, units=units, buyers=buyers)
        for group, (revenue, orders, units, buyers) in sums.items()
    }
    return grouped, totals


def _category_fact_rows(scope: SalesScope) -> list[dict[str, Any]]:
    channel = bool(scope.filters.channel)
    prev, order_prev = ("prev_channel_day", "prev_order_channel_day") if channel else ("prev_day", "prev_order_day")
    result: list[dict[str, Any]] = []
    for q, side, first in scope.order_parts():
        rows = SalesCategoryFact.objects.filter(q)
        if scope.categories is not None:
            rows = rows.filter(category_id__in=sorted(scope.categories))
        result += [
            dict(row)
            for row in rows.annotate(side=side)
            .values("side", "category_id")
            .order_by()
            .annotate(
                revenue=Sum("amount"),
                orders=Count("pk"),
                units=Sum("units"),
                buyers=count_where(first(prev)),
                all_orders=count_where(Q(first=True)),
                all_buyers=count_where(Q(first=True) & first(order_prev)),
            )
        ]
    return result


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def whole_months(scope: SalesScope, *, channel: bool) -> bool:
    """Whether the day sums answer this scope: both periods start on the 1st (a buyer's previous order is then
    before the period exactly when its month is), and no filter needs the customer (nor the channel, for sums
    without it)."""
    f = scope.filters
    (start, _end), (previous_start, _previous_end) = scope.ranges
    return (
        start.day == 1
        and previous_start.day == 1
        and not (f.prefecture or f.sales_rep_id or f.company_size or (f.channel and not channel))
        and user_sees_all_accounts(user=scope.user)
    )


def _parts(scope: SalesScope) -> list[tuple[Q, Any, Any]]:
    """``(filter, side, month index of the side's start)`` per query, as ``SalesScope.order_parts``."""
    (start, _end), (previous_start, _previous_end) = scope.ranges
    months = {1: Value(_month_index(start)), 0: Value(_month_index(previous_start))}
    if scope.overlap:
        return [(scope.order_q(sides=(side,)), Value(side), months[side]) for side in (1, 0)]
    return [
        (
            scope.order_q(),
            Case(When(day__gte=start, then=1), default=0),
            Case(When(day__gte=start, then=months[1]), default=months[0]),
        )
    ]


def _category_day_rows(scope: SalesScope) -> list[dict[str, Any]]:
    """The same rows as ``_category_fact_rows`` from the day sums (``_whole_months`` scopes only; ADR 0024)."""
    every = SalesCategoryDay.EVERY_LINE
    result: list[dict[str, Any]] = []
    for q, side, since in _parts(scope):
        rows = SalesCategoryDay.objects.filter(q)
        if scope.categories is not None:
            rows = rows.filter(category_key__in=sorted(scope.categories))

        result += (
            row | {"orders": row["order_sum"]}
            for row in rows.annotate(side=side, category_id=F("category_key"))
            .values("side", "category_id")
            .order_by()
            .annotate(
                revenue=Sum("amount"),
                order_sum=Sum("orders"),
                units=Sum("units"),
                buyers=orders_where(Q(prev_month__lt=since)),
                all_orders=orders_where(Q(category_key=every)),
                all_buyers=orders_where(Q(category_key=every, prev_month__lt=since)),
            )
        )
    return result


def order_day_rows(scope: SalesScope, *, by_channel: bool, prev: str, key_prev: str) -> list[dict[str, Any]]:
    """The rows of ``sales._order_figures`` by month (and channel) from the order day sums (``whole_months``
    scopes): ``prev`` and ``key_prev`` name the chains as there (``prev_day`` or ``prev_channel_day``)."""
    month, key_month = (
        "prev_channel_month" if chain == "prev_channel_day" else "prev_month" for chain in (prev, key_prev)
    )
    bucket_month = ExtractYear("day") * Value(12) + ExtractMonth("day") - Value(1)
    result: list[dict[str, Any]] = []
    for q, side, since in _parts(scope):
        result += [
            row | {"orders": row["order_sum"]}
            for row in SalesOrderDay.objects.filter(q)
            .annotate(side=side, b=TruncMonth("day"), k=F("channel") if by_channel else Value(0))
            .values("side", "b", "k")
            .order_by()
            .annotate(
                revenue=Sum("total"),
                order_sum=Sum("orders"),
                units=Sum("units"),
                # The first bucket may start before the range: first since the later of the two, as there.
                bucket_buyers=orders_where(Q(**{f"{month}__lt": bucket_month}) | Q(**{f"{month}__lt": since})),
                range_buyers=orders_where(Q(**{f"{month}__lt": since})),
                key_buyers=orders_where(Q(**{f"{key_month}__lt": since})),
            )
        ]
    return result
