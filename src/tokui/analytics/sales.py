"""Sales analysis (売上分析): revenue, orders, AOV, units and buying customers by period, with a breakdown.

Definitions (the user guide states them in one sentence each):

- Only orders that count as sales (``commerce.selectors.revenue_orders``: not cancelled, not refunded) and only
  orders in the shop's currency (``core.money.default_currency``) are counted; orders in another currency are
  left out, never converted, and the screen says how many were left out.
- Order-level figures (revenue, orders, AOV, buyers) come from ``Order.total``; units are the sum of the lines'
  quantities. Category and product breakdowns, and every figure under a category filter, come from the order
  lines' ``amount`` instead (a line has no share of shipping, tax or discounts), so their totals can differ.
- A buyer is the company of a B2B order, or the contact of a B2C order without a company.
- Periods are site-zone days, Monday-start weeks or months (an order at 23:30 JST belongs to that JST day).
- The sales rep is the company's assigned rep (担当営業); a sales rep sees only their own companies' orders (ADR 0004).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.db.models import Case, Count, F, Q, QuerySet, Sum, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, TruncDay, TruncMonth, TruncWeek
from django.db.models.functions.datetime import TruncBase
from django.utils.translation import gettext as _

from tokui.accounts.models import User
from tokui.accounts.selectors import user_sees_all_accounts
from tokui.analytics.report_types import (
    LINE_BREAKDOWNS,
    Breakdown,
    BreakdownRow,
    Compared,
    Comparison,
    Granularity,
    PeriodRow,
    SalesFigures,
    SalesFilters,
    SalesReport,
)
from tokui.catalog.selectors import categories, category_parent_ids
from tokui.commerce.enums import NON_REVENUE_STATUSES
from tokui.commerce.models import OrderLine
from tokui.commerce.selectors import revenue_orders
from tokui.core.money import default_currency
from tokui.core.time import add_months, site_zone, start_of_local_day
from tokui.customers.selectors import companies_visible_to

# The key of the row of orders or lines without the dimension (B2C orders have no company size, ...).
NO_KEY = "none"
_TRUNC: dict[str, type[TruncBase]] = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}


def comparison_range(*, start: dt.date, end: dt.date, comparison: str) -> tuple[dt.date, dt.date]:
    """The period compared with [start, end]: the same number of days just before, or the same dates a year back."""
    if comparison == Comparison.PREVIOUS_YEAR:
        return add_months(start, -12), add_months(end, -12)
    days = (end - start).days + 1
    return start - dt.timedelta(days=days), start - dt.timedelta(days=1)


def period_starts(*, start: dt.date, end: dt.date, granularity: str) -> list[dt.date]:
    """The first day of every bucket touching [start, end]; a week starts on Monday, a month on the 1st."""
    step: Callable[[dt.date], dt.date]
    if granularity == Granularity.DAY:
        first, step = start, lambda day: day + dt.timedelta(days=1)
    elif granularity == Granularity.WEEK:
        first, step = start - dt.timedelta(days=start.weekday()), lambda day: day + dt.timedelta(days=7)
    else:
        first, step = start.replace(day=1), lambda day: add_months(day, 1)
    days: list[dt.date] = []
    day = first
    while day <= end:
        days.append(day)
        day = step(day)
    return days


def category_with_descendants(category_id: int) -> set[int]:
    """The category and everything below it (the tree is small: read it whole)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in category_parent_ids().items():
        children.setdefault(parent, []).append(pk)
    found, todo = {category_id}, [category_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class _Scope:
    """One report's orders or lines (of both periods) as querysets, with each row's side: 1 now, 0 compared.

    Both periods are read in one query and told apart by ``side`` (the comparison always ends before ``start``),
    so every scan of the orders or lines serves both.
    """

    def __init__(self, *, filters: SalesFilters, user: User, ranges: tuple[tuple[dt.date, dt.date], ...]) -> None:
        self.filters = filters
        self.user = user
        self.ranges = ranges
        self.categories = category_with_descendants(filters.category_id) if filters.category_id else None
        # A year-on-year comparison of more than a year overlaps the report: then each period is read on its own.
        (start, _end), (_previous_start, previous_end) = ranges
        self.overlap = previous_end >= start

    def order_q(self, p: str, *, shop_currency: bool = True, sides: tuple[int, ...] = (1, 0)) -> Q:
        f = self.filters
        dates = Q()
        for side in sides:
            start, end = self.ranges[1 - side]
            dates |= Q(**{f"{p}placed_at__gte": start_of_local_day(start)}) & Q(
                **{f"{p}placed_at__lt": start_of_local_day(end + dt.timedelta(days=1))}
            )
        q = dates & ~Q(**{f"{p}status__in": NON_REVENUE_STATUSES})
        if shop_currency:
            q &= Q(**{f"{p}currency": default_currency()})
        if f.channel:
            q &= Q(**{f"{p}channel": f.channel})
        if f.prefecture:
            q &= Q(**{f"{p}company__prefecture": f.prefecture}) | Q(
                **{f"{p}company__isnull": True, f"{p}contact__prefecture": f.prefecture}
            )
        if f.sales_rep_id:
            q &= Q(**{f"{p}company__assigned_rep_id": f.sales_rep_id})
        if f.company_size:
            q &= Q(**{f"{p}company__size": f.company_size})
        if not user_sees_all_accounts(user=self.user):
            # A rep's scope is their companies; B2C orders have no rep, so they are not theirs (ADR 0004).
            q &= Q(**{f"{p}company__in": companies_visible_to(user=self.user).values("pk")})
        return q

    def _parts(self, p: str) -> list[tuple[Q, Any]]:
        if self.overlap:
            return [(self.order_q(p, sides=(side,)), Value(side)) for side in (1, 0)]
        side = Case(When(**{f"{p}placed_at__gte": start_of_local_day(self.ranges[0][0])}, then=1), default=0)
        return [(self.order_q(p), side)]

    def orders(self) -> list[QuerySet[Any]]:
        """The counted orders with their ``side``: one queryset, or one per period when the periods overlap."""
        return [revenue_orders().filter(q).annotate(side=side) for q, side in self._parts("")]

    def lines(self) -> list[QuerySet[Any]]:
        parts = []
        for q, side in self._parts("order__"):
            lines = OrderLine.objects.filter(q)
            if self.categories is not None:
                lines = lines.filter(product__category_id__in=sorted(self.categories))
            parts.append(lines.annotate(side=side))
        return parts


def _buyers(p: str) -> dict[str, Count]:
    """Distinct companies of B2B orders plus distinct contacts of B2C orders (Count skips the NULLs)."""
    return {
        "companies": Count(f"{p}company_id", distinct=True),
        "b2c": Count(Case(When(**{f"{p}company_id__isnull": True}, then=F(f"{p}contact_id"))), distinct=True),
    }


def _order_key(breakdown: str, p: str) -> Combinable | F:
    if breakdown == Breakdown.CHANNEL:
        return F(f"{p}channel")
    if breakdown == Breakdown.PREFECTURE:
        # A B2B order is placed in its company's prefecture, a B2C order in its contact's.
        return Coalesce(F(f"{p}company__prefecture"), F(f"{p}contact__prefecture"))
    if breakdown == Breakdown.SALES_REP:
        return F(f"{p}company__assigned_rep_id")
    if breakdown == Breakdown.COMPANY_SIZE:
        return F(f"{p}company__size")
    if breakdown == Breakdown.CATEGORY:
        return F("product__category_id")
    if breakdown == Breakdown.PRODUCT:
        return F("product_id")
    raise ValueError(breakdown)


type _Group = tuple[int, Any]  # (side, key): side 1 is the reported period, 0 the comparison


def _figures(
    parts: list[QuerySet[Any]], group: Any, *, lines: bool, units: dict[_Group, int]
) -> dict[_Group, SalesFigures]:
    """Figures per (side, ``group``) of orders (order totals) or lines (line amounts; orders counted once)."""
    p = "order__" if lines else ""
    money = Sum("amount") if lines else Sum("total")
    orders = Count("order_id", distinct=True) if lines else Count("id")
    extra = {"units": Sum("quantity")} if lines else {}
    result: dict[_Group, SalesFigures] = {}
    for part in parts:
        result |= _figures_of(part, group, p, money, orders, extra, lines, units)
    return result


def _figures_of(
    rows: QuerySet[Any],
    group: Any,
    p: str,
    money: Sum,
    orders: Count,
    extra: dict[str, Sum],
    lines: bool,
    units: dict[_Group, int],
) -> dict[_Group, SalesFigures]:
    rows = rows.annotate(k=group if group is not None else Value(0)).values("side", "k").order_by()
    result = {}
    for row in rows.annotate(revenue=money, orders=orders, **extra, **_buyers(p)):
        key = (row["side"], row["k"] if group is not None else None)
        result[key] = SalesFigures(
            revenue=row["revenue"] or Decimal(0),
            orders=row["orders"],
            units=int(row["units"] or 0) if lines else units.get(key, 0),
            buyers=row["companies"] + row["b2c"],
        )
    return result


def _units(scope: _Scope, bucket: Any, key: Any) -> tuple[dict[_Group, int], dict[_Group, int], dict[_Group, int]]:
    """Units per (side, bucket), per (side, breakdown key) and per side, from one scan of the lines."""
    group = {"b": bucket} | ({"k": key} if key is not None else {})
    by_bucket: dict[_Group, int] = defaultdict(int)
    by_key: dict[_Group, int] = defaultdict(int)
    by_side: dict[_Group, int] = defaultdict(int)
    rows = [
        row
        for part in scope.lines()
        for row in part.annotate(**group).values("side", *group).annotate(units=Sum("quantity")).order_by()
    ]
    for row in rows:
        units = int(row["units"] or 0)
        by_bucket[(row["side"], _local_day(row["b"]))] += units
        by_key[(row["side"], row.get("k"))] += units
        by_side[(row["side"], None)] += units
    return by_bucket, by_key, by_side


def _local_day(value: dt.datetime | dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.astimezone(site_zone()).date() if value.tzinfo else value.date()
    return value


def _by_day(grouped: dict[_Group, SalesFigures]) -> dict[_Group, SalesFigures]:
    return {(side, _local_day(k)): figures for (side, k), figures in grouped.items()}


def sales_report(
    *,
    user: User,
    start: dt.date,
    end: dt.date,
    granularity: str = Granularity.MONTH,
    comparison: str = Comparison.PREVIOUS_YEAR,
    filters: SalesFilters | None = None,
    breakdown: str = "",
) -> SalesReport:
    """The sales of site-zone days [start, end] (both included) as ``user`` may see them, against a comparison."""
    filters = filters or SalesFilters()
    previous_start, previous_end = comparison_range(start=start, end=end, comparison=comparison)
    scope = _Scope(filters=filters, user=user, ranges=((start, end), (previous_start, previous_end)))
    line_based = filters.category_id is not None
    uses_lines = line_based or breakdown in LINE_BREAKDOWNS
    bucket = _TRUNC[granularity]
    order_key = _order_key(breakdown, "order__") if breakdown and not uses_lines else None
    if line_based:
        periods_by = _by_day(
            _figures(scope.lines(), bucket("order__placed_at", tzinfo=site_zone()), lines=True, units={})
        )
        totals_by = _figures(scope.lines(), None, lines=True, units={})
    else:
        units_by_bucket, units_by_key, units_by_side = _units(
            scope, bucket("order__placed_at", tzinfo=site_zone()), order_key
        )
        periods_by = _by_day(_figures(scope.orders(), bucket("placed_at", tzinfo=site_zone()), lines=False, units={}))
        periods_by = {k: replace(f, units=units_by_bucket.get(k, 0)) for k, f in periods_by.items()}
        totals_by = _figures(scope.orders(), None, lines=False, units=units_by_side)
    current_buckets = period_starts(start=start, end=end, granularity=granularity)
    previous_buckets = period_starts(start=previous_start, end=previous_end, granularity=granularity)
    periods = []
    for index, day in enumerate(current_buckets):
        earlier = previous_buckets[index] if index < len(previous_buckets) else None
        periods.append(
            PeriodRow(
                start=day,
                previous_start=earlier,
                current=periods_by.get((1, day), SalesFigures()),
                previous=periods_by.get((0, earlier), SalesFigures()) if earlier else SalesFigures(),
            )
        )
    totals = Compared(
        current=totals_by.get((1, None), SalesFigures()), previous=totals_by.get((0, None), SalesFigures())
    )
    report = SalesReport(
        start=start,
        end=end,
        previous_start=previous_start,
        previous_end=previous_end,
        granularity=granularity,
        comparison=comparison,
        currency=default_currency(),
        line_based=line_based,
        periods=periods,
        totals=totals,
        other_currency_orders=revenue_orders()
        .filter(scope.order_q("", shop_currency=False, sides=(1,)))
        .exclude(currency=default_currency())
        .count(),
    )
    if not breakdown:
        return report
    if uses_lines:
        grouped = _figures(scope.lines(), _order_key(breakdown, "order__"), lines=True, units={})
        breakdown_totals = totals if line_based else _compared(_figures(scope.lines(), None, lines=True, units={}))
    else:
        grouped = _figures(scope.orders(), _order_key(breakdown, ""), lines=False, units=units_by_key)
        breakdown_totals = totals
    rows = _breakdown_rows(breakdown, grouped, breakdown_totals)
    return replace(report, breakdown=breakdown, breakdown_rows=rows, breakdown_totals=breakdown_totals)


def _compared(grouped: dict[_Group, SalesFigures]) -> Compared:
    return Compared(current=grouped.get((1, None), SalesFigures()), previous=grouped.get((0, None), SalesFigures()))


def _breakdown_rows(breakdown: str, grouped: dict[_Group, SalesFigures], totals: Compared) -> list[BreakdownRow]:
    keys = {k for _side, k in grouped}
    labels = breakdown_labels(breakdown=breakdown, keys=keys)
    total = totals.current.revenue
    rows = []
    for k in keys:
        now, before = grouped.get((1, k)), grouped.get((0, k))
        rows.append(
            BreakdownRow(
                key=NO_KEY if k is None else str(k),
                label=labels.get(k, str(k)),
                current=now or SalesFigures(),
                previous=before or SalesFigures(),
                share=float(now.revenue / total) if now and total else None,
            )
        )
    rows.sort(key=lambda row: (-row.current.revenue, -row.previous.revenue, row.label))
    return rows


def breakdown_labels(*, breakdown: str, keys: Iterable[Any]) -> dict[Any, str]:
    """What each breakdown key is called on the screen (None and "" are the rows without one)."""
    from tokui.catalog.models import Product
    from tokui.commerce.enums import OrderChannel
    from tokui.customers.enums import CompanySize, Prefecture

    wanted = [k for k in keys if k not in (None, "")]
    labels: dict[Any, str] = {}
    if breakdown == Breakdown.CHANNEL:
        labels = {k: str(OrderChannel(k).label) if k in OrderChannel.values else str(k) for k in wanted}
    elif breakdown == Breakdown.PREFECTURE:
        labels = {k: str(Prefecture(k).label) if k in Prefecture.values else str(k) for k in wanted}
    elif breakdown == Breakdown.COMPANY_SIZE:
        labels = {k: str(CompanySize(k).label) if k in CompanySize.values else str(k) for k in wanted}
        labels[None] = _("Individual customers (B2C)")
    elif breakdown == Breakdown.SALES_REP:
        users = User.objects.filter(pk__in=wanted)
        labels = {user.pk: str(user) for user in users}
        labels[None] = _("No sales rep")
    elif breakdown == Breakdown.CATEGORY:
        labels = {c.pk: str(c) for c in categories().filter(pk__in=wanted)}
        labels[None] = _("No category")
    elif breakdown == Breakdown.PRODUCT:
        products = Product.objects.filter(pk__in=wanted).only("sku", "name")
        labels = {p.pk: f"{p.name} ({p.sku})" for p in products}
        labels[None] = _("Products no longer in the catalogue")
    labels.setdefault("", _("Not set"))
    labels.setdefault(None, _("Not set"))
    return labels
