"""The dashboard's first KPIs, composed from the selectors of the apps that own the data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from tokui.analytics.kpis import monthly_sales
from tokui.commerce.selectors import (
    AbandonedCarts,
    SalesTotals,
    abandoned_carts,
    active_company_counts,
    monthly_revenue,
    sales_totals,
)
from tokui.core.time import add_months, local_date, start_of_local_day, start_of_local_month

ACTIVE_WINDOW_DAYS = 90
ABANDONED_WINDOW_DAYS = 30
CHART_MONTHS = 13


@dataclass(frozen=True, slots=True)
class MonthRow:
    month: dt.date
    revenue: Decimal
    orders: int


@dataclass(frozen=True, slots=True)
class Dashboard:
    today: dt.date
    this_month: SalesTotals
    same_period_last_month: SalesTotals
    last_month: SalesTotals
    active_companies: int
    active_companies_before: int
    abandoned: AbandonedCarts
    months: list[MonthRow]

    @property
    def this_month_aov(self) -> Decimal:
        return self.this_month.revenue / self.this_month.orders if self.this_month.orders else Decimal(0)


def dashboard_build(*, now: dt.datetime, company_ids: QuerySet[Any] | None = None) -> Dashboard:
    """KPIs as of ``now``: this month to date against the same days of last month, in the site time zone.

    ``company_ids`` narrows every figure to those companies (a sales rep's own accounts, ADR 0004)."""
    today = local_date(now)
    month_start = start_of_local_month(today)
    last_month_start = start_of_local_month(add_months(today, -1))
    # The same elapsed part of last month, so a comparison on the 10th is fair (10 days against 10 days).
    same_point_last_month = start_of_local_day(add_months(today, -1)) + (now - start_of_local_day(today))
    active_since = now - dt.timedelta(days=ACTIVE_WINDOW_DAYS)
    chart_start = start_of_local_month(add_months(today, -(CHART_MONTHS - 1)))
    window_before = (active_since - dt.timedelta(days=ACTIVE_WINDOW_DAYS), active_since)
    active, active_before = active_company_counts(windows=[(active_since, now), window_before], company_ids=company_ids)
    return Dashboard(
        today=today,
        this_month=sales_totals(start=month_start, end=now, company_ids=company_ids),
        same_period_last_month=sales_totals(
            start=last_month_start, end=min(same_point_last_month, month_start), company_ids=company_ids
        ),
        last_month=sales_totals(start=last_month_start, end=month_start, company_ids=company_ids),
        active_companies=active,
        active_companies_before=active_before,
        abandoned=abandoned_carts(since=now - dt.timedelta(days=ABANDONED_WINDOW_DAYS), company_ids=company_ids),
        months=_months(chart_start=chart_start, today=today, now=now, company_ids=company_ids),
    )


def _months(
    *, chart_start: dt.datetime, today: dt.date, now: dt.datetime, company_ids: QuerySet[Any] | None
) -> list[MonthRow]:
    """The chart's months: for the whole shop, the days before today from the order day sums and today's orders
    so far from the orders (reading 13 months of orders took 0.65 s at 3M orders); a rep's accounts from their
    orders."""
    today_start = start_of_local_day(today)
    sums = (
        monthly_sales(first_day=local_date(chart_start), last_day=today - dt.timedelta(days=1))
        if company_ids is None
        else {}
    )
    if not sums:
        rows = monthly_revenue(start=chart_start, end=now, company_ids=company_ids)
        return [MonthRow(month, revenue, orders) for month, revenue, orders in rows]
    for month, revenue, orders in monthly_revenue(start=max(chart_start, today_start), end=now):
        before = sums.get(month, (Decimal(0), 0))
        sums[month] = (before[0] + revenue, before[1] + orders)
    return [MonthRow(month, revenue, orders) for month, (revenue, orders) in sorted(sums.items())]
