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

The figures are read from the sales facts (``analytics.sales_facts``: one narrow row per counted order and per
line, with the site-zone day and the units worked out once; ADR 0015), never from the raw orders; category figures
from the category facts (a row per order and current category), and pages without a customer filter from the day
sums of both (``analytics.sales_sums``, ADR 0024, 0042) and the breakdown by product from the product sums, or under
other filters from the buyers' chains the line facts carry (``analytics.product_sums``, ADR 0028, 0041).
"""

from __future__ import annotations

import datetime as dt
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
from tokui.analytics.customer_sums import value_key
from tokui.analytics.enums import CustomerDimension
from tokui.analytics.models import SalesCategoryFact, SalesOrderFact
from tokui.analytics.product_sums import product_breakdown
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
from tokui.analytics.sales_facts import report_reads, sales_facts_catch_up
from tokui.analytics.sales_scope import SalesScope
from tokui.analytics.sales_sums import (
    Group,
    both_sides,
    bucket_day,
    category_figures,
    count_where,
    first_since,
    order_day_rows,
    sums_answer,
)
from tokui.catalog.selectors import categories
from tokui.core.money import default_currency
from tokui.core.time import add_months

# The key of the row of orders or lines without the dimension (B2C orders have no company size, ...).
NO_KEY = "none"
_TRUNC: dict[str, type[TruncBase]] = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
# The breakdowns the customer day sums answer, by the dimension they are keyed by (ADR 0045).
_CUSTOMER_BREAKDOWNS: dict[str, str] = {
    Breakdown.PREFECTURE: CustomerDimension.PREFECTURE,
    Breakdown.SALES_REP: CustomerDimension.REP,
    Breakdown.COMPANY_SIZE: CustomerDimension.SIZE,
}


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


def _order_key(breakdown: str) -> Combinable | F:
    if breakdown == Breakdown.CHANNEL:
        return F("channel")
    if breakdown == Breakdown.PREFECTURE:
        # A B2B order is placed in its company's prefecture, a B2C order in its contact's.
        return Coalesce(F("company__prefecture"), F("contact__prefecture"))
    if breakdown == Breakdown.SALES_REP:
        # The company's rep now (not when the order was placed): joined at read time, never copied.
        return F("company__assigned_rep_id")
    if breakdown == Breakdown.COMPANY_SIZE:
        return F("company__size")
    if breakdown == Breakdown.CATEGORY:
        return F("product__category_id")
    if breakdown == Breakdown.PRODUCT:
        return F("product_id")
    raise ValueError(breakdown)


_Group = Group


def _figures(parts: list[QuerySet[Any]], group: Any, *, units: str = "quantity") -> dict[_Group, SalesFigures]:
    """Line figures per (side, ``group``): line amounts and quantities, each order and buyer counted once.

    ``buyer`` is the company id or minus the B2C contact id, so one distinct count gives companies + contacts.
    """
    result: dict[_Group, SalesFigures] = {}
    for part in parts:
        rows = part.annotate(k=group if group is not None else Value(0)).values("side", "k").order_by()
        for row in rows.annotate(
            revenue=Sum("amount"),
            orders=Count("order_id", distinct=True),
            units=Sum(units),
            buyers=Count("buyer", distinct=True),
        ):
            result[(row["side"], row["k"] if group is not None else None)] = SalesFigures(
                revenue=row["revenue"] or Decimal(0),
                orders=row["orders"],
                units=int(row["units"] or 0),
                buyers=row["buyers"],
            )
    return result


def _order_figures(
    scope: SalesScope,
    granularity: str,
    key: Any,
    *,
    prev: str,
    key_prev: str,
    category_id: int | None = None,
    by_channel: bool = False,
    by_customer: str | None = None,
) -> tuple[dict[_Group, SalesFigures], dict[_Group, SalesFigures], dict[_Group, SalesFigures]]:
    """Order figures per (side, bucket), per side and per (side, breakdown key), from one grouped read per part.

    Revenue, orders and units add up over the groups. Buyers are counted as the orders that are their buyer's first
    in the bucket, in the period, or in the period by the key's chain; those add up too, because every order lies
    in exactly one group (ADR 0015). ``key_prev`` follows the channel when the key is the channel: a buyer is a
    buyer of each channel they ordered through.

    With ``category_id`` the same figures come from that one category's facts (its lines' amounts and units, and
    the buyers' chains in the category; ADR 0024). Without a key or by channel they come from the order day sums
    instead (``sales_sums``; a period from mid-month with the orders whose previous one lies before its start in
    its first month, ADR 0042; a day's or a week's buyers by the orders after another that day or week, ADR 0043).
    """
    bucket = _TRUNC[granularity]
    if scope.filters.category_id is None and (key is None or by_channel) and _day_sums_answer(scope):
        rows = order_day_rows(scope, bucket=bucket, by_channel=by_channel, prev=prev, key_prev=key_prev)
    elif (
        scope.filters.category_id is None
        and by_customer is not None
        and scope.customer_sums
        and sums_answer(scope, channel=True)
    ):
        # By a customer attribute: its customer day sums, a row per value (ADR 0045).
        rows = order_day_rows(
            scope, bucket=bucket, by_channel=False, prev=prev, key_prev=key_prev, dimension=by_customer
        )
        rows = [row | {"k": value_key(by_customer, row["k"])} for row in rows]
    else:
        rows = _order_fact_rows(scope, granularity, key, prev=prev, key_prev=key_prev, category_id=category_id)
    sums: dict[str, dict[_Group, list[Any]]] = {"periods": {}, "totals": {}, "keys": {}}
    for row in rows:
        figures = (row["revenue"] or Decimal(0), row["orders"], int(row["units"] or 0))
        for name, group, buyers in (
            ("periods", (row["side"], bucket_day(row["b"])), row["bucket_buyers"]),
            ("totals", (row["side"], None), row["range_buyers"]),
            ("keys", (row["side"], row["k"] if key is not None else None), row["key_buyers"]),
        ):
            total = sums[name].setdefault(group, [Decimal(0), 0, 0, 0])
            for index, value in enumerate((*figures, int(buyers or 0))):
                total[index] += value
    periods, totals, keys = (
        {
            group: SalesFigures(revenue=revenue, orders=orders, units=units, buyers=buyers)
            for group, (revenue, orders, units, buyers) in sums[name].items()
        }
        for name in ("periods", "totals", "keys")
    )
    # A sum taken back to zero stays as a row until the nightly rebuild: a key (a rep whose companies all moved)
    # with nothing left is not a row of the breakdown.
    keys = {group: figures for group, figures in keys.items() if figures != SalesFigures()}
    return periods, totals, keys


def _day_sums_answer(scope: SalesScope) -> bool:
    """Whether day sums answer the scope's order figures: the order day sums without a customer filter, the
    customer day sums with one attribute's (``scope.segment``)."""
    return sums_answer(scope, channel=True, customers=scope.segment is None)


def _order_fact_rows(
    scope: SalesScope, granularity: str, key: Any, *, prev: str, key_prev: str, category_id: int | None
) -> list[dict[str, Any]]:
    """The grouped rows of ``_order_figures`` from the order facts, one category's facts, or a top-level
    category's facts (``scope.root``: its orders are its rows marked ``root_first``, chained by ``prev_root_*``).

    Periods that overlap (a year against the year before, from the 1st to today) are read in one pass, each figure
    summed per side over the side's days: the days both share are read once, and a scan of the facts (a filter on
    the customer keeps 2 % of them, read faster by a scan than by index) runs once instead of twice."""
    result: list[dict[str, Any]] = []
    counted = Q()
    if scope.root is not None:
        counted = Q(root_first=True)
        prev, key_prev = (name.replace("prev_", "prev_root_") for name in (prev, key_prev))
    bucket = _TRUNC[granularity]
    revenue = "total" if category_id is None and scope.root is None else "amount"

    def facts_of(q: Q) -> QuerySet[Any]:
        if scope.root is not None:
            return SalesCategoryFact.objects.filter(q, root_id=scope.root)
        if category_id is not None:
            return SalesCategoryFact.objects.filter(q, category_id=category_id)
        return SalesOrderFact.objects.filter(q)

    def figures(inside: Q, first: Callable[[str], Q]) -> dict[str, Any]:
        def summed(column: str) -> Sum:
            return Sum(Case(When(inside, then=F(column)))) if inside else Sum(column)

        return {
            "revenue": summed(revenue),
            "orders": count_where(inside & counted) if inside or counted else Count("pk"),
            "units": summed("units"),
            # The first bucket may start before the range: its buyers are first since the later of the two.
            "bucket_buyers": count_where(inside & counted & (first_since(prev, bucket("day")) | first(prev))),
            "range_buyers": count_where(inside & counted & first(prev)),
            "key_buyers": count_where(inside & counted & first(key_prev)),
        }

    if scope.overlap:
        keyed = facts_of(scope.order_q()).annotate(b=bucket("day"), k=key if key is not None else Value(0))
        return both_sides(scope, keyed.values("b", "k").order_by(), figures)
    for q, side, first in scope.order_parts():
        result += (
            facts_of(q)
            .annotate(side=side, b=bucket("day"), k=key if key is not None else Value(0))
            .values("side", "b", "k")
            .order_by()
            .annotate(**figures(Q(), first))
        )
    return result


def _by_day(grouped: dict[_Group, SalesFigures]) -> dict[_Group, SalesFigures]:
    return {(side, bucket_day(k)): figures for (side, k), figures in grouped.items()}


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
    sales_facts_catch_up()
    with report_reads():
        return _sales_report(
            user=user,
            start=start,
            end=end,
            granularity=granularity,
            comparison=comparison,
            filters=filters or SalesFilters(),
            breakdown=breakdown,
        )


def _sales_report(
    *,
    user: User,
    start: dt.date,
    end: dt.date,
    granularity: str,
    comparison: str,
    filters: SalesFilters,
    breakdown: str,
) -> SalesReport:
    previous_start, previous_end = comparison_range(start=start, end=end, comparison=comparison)
    scope = SalesScope(filters=filters, user=user, ranges=((start, end), (previous_start, previous_end)))
    line_based = filters.category_id is not None
    order_key = _order_key(breakdown) if breakdown and breakdown not in LINE_BREAKDOWNS else None
    grouped: dict[_Group, SalesFigures] = {}
    if line_based and scope.categories is not None and len(scope.categories) > 1 and scope.root is None:
        # A category with subcategories below the top level: an order or buyer in two of them is one, so these
        # stay distinct counts (over the category facts: no join to products). A top-level one has its own chain.
        facts = scope.category_rows()
        periods_by = _by_day(_figures(facts, _TRUNC[granularity]("day"), units="units"))
        totals_by = _figures(facts, None, units="units")
        if order_key is not None:
            grouped = _figures(facts, order_key, units="units")
    else:
        # Within one channel a buyer's chain is their orders in that channel; the other filters keep or drop
        # whole buyers, so their chain stays the one over all channels. One category: the chains in it.
        prev = "prev_channel_day" if filters.channel else "prev_day"
        key_prev = "prev_channel_day" if filters.channel or breakdown == Breakdown.CHANNEL else "prev_day"
        category_id = next(iter(scope.categories)) if scope.categories and scope.root is None else None
        periods_by, totals_by, grouped = _order_figures(
            scope,
            granularity,
            order_key,
            prev=prev,
            key_prev=key_prev,
            category_id=category_id,
            by_channel=breakdown == Breakdown.CHANNEL,
            by_customer=_CUSTOMER_BREAKDOWNS.get(breakdown),
        )
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
        # "Below or above" rather than "not": two ranges of the (currency, day) index instead of a scan.
        other_currency_orders=SalesOrderFact.objects.filter(
            scope.order_q(shop_currency=False, sides=(1,), customers=False), scope.customers_q(recorded=True)
        )
        .filter(Q(currency__lt=default_currency()) | Q(currency__gt=default_currency()))
        .count(),
    )
    if not breakdown:
        return report
    breakdown_totals = totals
    if breakdown == Breakdown.CATEGORY:
        grouped, all_lines = category_figures(scope)
        breakdown_totals = totals if line_based else _compared(all_lines)
    elif breakdown == Breakdown.PRODUCT:
        grouped, every_line = product_breakdown(scope)
        if not line_based:
            breakdown_totals = _compared(every_line if every_line is not None else category_figures(scope)[1])
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
        # Tuples, not models: a breakdown by product labels every product sold (5,000 rows in ~20 ms, not 100).
        products = Product.objects.filter(pk__in=wanted).values_list("pk", "name", "sku")
        labels = {pk: f"{name} ({sku})" for pk, name, sku in products}
        labels[None] = _("Products no longer in the catalogue")
    labels.setdefault("", _("Not set"))
    labels.setdefault(None, _("Not set"))
    return labels
