"""The dashboard's customer KPIs beside sales (repeat customer rate, F2 conversion, dormant companies) and the
managers' monthly goals for every dashboard KPI (目的とKPI): how far each figure is towards its goal."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncMonth

from tokui.accounts.models import User
from tokui.accounts.selectors import user_sees_all_accounts
from tokui.analytics.enums import KPIS_LOWER_IS_BETTER, DashboardKpi
from tokui.analytics.models import CustomerStats, KpiGoal
from tokui.analytics.repeat import repeat_report
from tokui.analytics.sales_facts import sales_facts_catch_up, sales_facts_pending
from tokui.analytics.sales_models import SalesOrderDay
from tokui.commerce.selectors import customers_ordered_before, customers_ordering
from tokui.core.time import add_months, local_date, start_of_local_month
from tokui.customers.selectors import companies_visible_to

DORMANT_AFTER_DAYS = 180


@dataclass(frozen=True, slots=True)
class CustomerKpis:
    repeat_rate: Decimal | None  # % of this month's buying customers who had ordered before this month
    f2_rate: Decimal | None  # % of the last 12 months' new customers who ordered a second time
    dormant_companies: int


@dataclass(frozen=True, slots=True)
class GoalProgress:
    target: Decimal
    progress: Decimal  # % of the goal reached (for lower-is-better KPIs: 100 while at or under the goal)
    met: bool


def customer_kpis(*, user: User, now: dt.datetime) -> CustomerKpis:
    today = local_date(now)
    month_start = start_of_local_month(today)
    scope = None if user_sees_all_accounts(user=user) else companies_visible_to(user=user).values("pk")
    this_month = customers_ordering(start=month_start, end=now, company_ids=scope)
    returning = customers_ordered_before(customers=this_month, before=month_start)
    repeat = Decimal(100 * len(returning) / len(this_month)).quantize(Decimal("0.1")) if this_month else None
    report = repeat_report(user=user, first_month=add_months(today, -11), last_month=today, today=today)
    f2 = Decimal(report.f2_rate * 100).quantize(Decimal("0.1")) if report.f2_rate is not None else None
    dormant = dormant_company_count(before=local_date(now - dt.timedelta(days=DORMANT_AFTER_DAYS)), company_ids=scope)
    return CustomerKpis(repeat_rate=repeat, f2_rate=f2, dormant_companies=dormant)


def dormant_company_count(*, before: dt.date, company_ids: QuerySet[Any] | None = None) -> int:
    """Companies that have ordered, but not since ``before`` (休眠), from their stats' last order day: the stats
    are kept current as orders arrive (the RFM ranks' 休眠 read the same day). Counting from the orders took over a
    minute at 3M orders (a NOT IN over every company's orders)."""
    stats = CustomerStats.objects.filter(company__isnull=False, last_order_on__lt=before)
    if company_ids is not None:
        stats = stats.filter(company_id__in=company_ids)
    return stats.count()


def monthly_sales(*, first_day: dt.date, last_day: dt.date) -> dict[dt.date, tuple[Decimal, int]]:
    """Revenue and orders per month (its first day) of every counted order on site-zone days [first_day, last_day],
    in every currency as the orders add up, from the order day sums (the facts made current first). ``{}`` while
    the facts await a rebuild after a bulk load: the caller then reads the orders."""
    sales_facts_catch_up()
    if last_day < first_day or sales_facts_pending():
        return {}
    rows = (
        SalesOrderDay.objects.filter(day__gte=first_day, day__lte=last_day)
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(revenue=Sum("total"), orders=Sum("orders"))
    )
    # TruncMonth of a date column is a date, the month's first day, in both databases.
    return {row["month"]: (row["revenue"] or Decimal(0), int(row["orders"] or 0)) for row in rows}


def kpi_goals(*, month: dt.date) -> dict[str, Decimal]:
    return dict(KpiGoal.objects.filter(month=month.replace(day=1)).values_list("kpi", "target"))


def goal_progress(*, values: dict[str, Decimal | int | None], goals: dict[str, Decimal]) -> dict[str, GoalProgress]:
    """How far each KPI with a goal is towards it."""
    progress: dict[str, GoalProgress] = {}
    for kpi, target in goals.items():
        value = values.get(kpi)
        if value is None:
            continue
        value = Decimal(value)
        if kpi in KPIS_LOWER_IS_BETTER:
            met = value <= target
            share = Decimal(100) if met else (target / value * 100 if value else Decimal(100))
        else:
            met = value >= target
            share = value / target * 100 if target else Decimal(100)
        progress[kpi] = GoalProgress(target=target, progress=share.quantize(Decimal("0.1")), met=met)
    return progress


KPI_ORDER = tuple(DashboardKpi)
