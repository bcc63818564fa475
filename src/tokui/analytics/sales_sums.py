"""The sales analysis's reads of the category facts and of the day sums (ADR 0024), for ``analytics.sales``.

Category figures are sums over the category facts (a category's buyers are its rows whose previous order in the
category lies before the period). Periods that start on the 1st read the day sums instead (``sales_days``): the
same sums with the previous order's month in place of its day, a few hundred thousand rows instead of millions.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import ExtractMonth, ExtractYear, TruncMonth
from django.db.models.functions.datetime import TruncBase

from tokui.accounts.selectors import user_sees_all_accounts
from tokui.analytics.customer_sums import recorded_value
from tokui.analytics.models import (
    SalesCategoryDay,
    SalesCategoryFact,
    SalesCustomerCategoryMonth,
    SalesCustomerDay,
    SalesOrderDay,
    SalesOrderFact,
)
from tokui.analytics.report_types import SalesFigures
from tokui.core.money import default_currency

if TYPE_CHECKING:
    from tokui.analytics.sales_scope import SalesScope

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
    by_category: dict[Group, list[Any]] = {}
    sums: dict[Group, list[Any]] = {}
    if sums_answer(scope, channel=False):
        rows = _category_day_rows(scope)
    elif scope.segment is not None and sums_answer(scope, channel=False, customers=False):
        rows = _customer_category_rows(scope)
    else:
        rows = _category_fact_rows(scope)
    for row in rows:
        revenue, units, key = row["revenue"] or Decimal(0), int(row["units"] or 0), row["category_id"]
        if key != SalesCategoryDay.EVERY_LINE:
            add_figures(
                by_category, (row["side"], key or None), (revenue, row["orders"], units, int(row["buyers"] or 0))
            )
        add_figures(
            sums, (row["side"], None), (revenue, int(row["all_orders"] or 0), units, int(row["all_buyers"] or 0))
        )
    grouped, totals = (
        {
            group: SalesFigures(revenue=revenue, orders=orders, units=units, buyers=buyers)
            for group, (revenue, orders, units, buyers) in part.items()
        }
        for part in (by_category, sums)
    )
    return grouped, totals


def add_figures(sums: dict[Group, list[Any]], group: Group, figures: tuple[Any, ...]) -> None:
    """Add (revenue, orders, units, buyers) to the running sums of ``group``."""
    total = sums.setdefault(group, [Decimal(0), 0, 0, 0])
    for index, value in enumerate(figures):
        total[index] += value


def _category_facts(scope: SalesScope, q: Q) -> QuerySet[Any]:
    rows = SalesCategoryFact.objects.filter(q)
    if scope.categories is not None:
        rows = rows.filter(category_id__in=sorted(scope.categories))
    return rows


def _category_fact_figures(scope: SalesScope, inside: Q, first: Callable[[str], Q]) -> dict[str, Any]:
    """The aggregates of the category rows over the facts matching ``inside`` (all of them with an empty Q)."""
    channel = bool(scope.filters.channel)
    prev, order_prev = ("prev_channel_day", "prev_order_channel_day") if channel else ("prev_day", "prev_order_day")

    def summed(column: str) -> Sum:
        return Sum(Case(When(inside, then=F(column)))) if inside else Sum(column)

    return {
        "revenue": summed("amount"),
        "orders": count_where(inside) if inside else Count("*"),
        "units": summed("units"),
        "buyers": count_where(inside & first(prev)),
        "all_orders": count_where(inside & Q(first=True)),
        "all_buyers": count_where(inside & Q(first=True) & first(order_prev)),
    }


def _category_fact_rows(scope: SalesScope) -> list[dict[str, Any]]:
    facts = functools.partial(_category_facts, scope)
    figures = functools.partial(_category_fact_figures, scope)
    if scope.overlap:
        # Overlapping periods under a customer filter: its buyers' facts fetched once (2.0 → 1.1 s for a company
        # size at 3M orders).
        return both_sides(scope, facts(scope.order_q()).values("category_id").order_by(), figures)
    result: list[dict[str, Any]] = []
    for q, side, first in scope.order_parts():
        grouped = facts(q).annotate(side=side).values("side", "category_id").order_by()
        result += [dict(row) for row in grouped.annotate(**figures(Q(), first))]
    return result


def month_of(day: dt.date) -> int:
    """year × 12 + month - 1: the month index the sums are keyed by."""
    return day.year * 12 + day.month - 1


def first_since(prev: str, since: Any) -> Q:
    """Orders that are their buyer's first since ``since`` (a date or a date expression): the buyer's previous
    order (``prev``: in the same currency, or also the same channel) is older, or there is none."""
    return Q(buyer__isnull=False) & (Q(**{f"{prev}__isnull": True}) | Q(**{f"{prev}__lt": since}))


def first_since_start(start: dt.date) -> Callable[[str], Q]:
    """``first_since`` for one start, as ``SalesScope.order_parts`` gives it."""
    return functools.partial(_first_since, start)


def _first_since(start: dt.date, prev: str) -> Q:
    return first_since(prev, start)


def both_sides(
    scope: SalesScope, grouped: QuerySet[Any], figures: Callable[[Q, Callable[[str], Q]], dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows of ``grouped`` (a ``values()`` of its keys) for the scope's two overlapping periods in one pass,
    each aggregate of ``figures(inside, first)`` summed per side over the side's days: the days both share are read
    once, and a filter on the customer fetches each of its buyers' rows once where two reads fetched the same heap
    pages twice (ADR 0040's addendum). Returns a row per key and side with rows there, its keys and ``side``."""
    sides = {side: scope.ranges[1 - side] for side in (1, 0)}
    aggregates: dict[str, Any] = {}
    names: list[str] = []
    for side, (start, end) in sides.items():
        inside = Q(day__gte=start, day__lte=end)
        per_side = figures(inside, first_since_start(start))
        names = list(per_side)
        aggregates |= {f"{name}_{side}": aggregate for name, aggregate in per_side.items()}
        aggregates[f"rows_{side}"] = count_where(inside)
    keys = list(grouped.query.values_select) + list(grouped.query.annotation_select)
    return [
        {"side": side, **{key: row[key] for key in keys}, **{name: row[f"{name}_{side}"] for name in names}}
        for row in grouped.annotate(**aggregates)
        for side in sides
        if row[f"rows_{side}"]
    ]


def sums_answer(scope: SalesScope, *, channel: bool, customers: bool = True) -> bool:
    """Whether the day sums answer this scope: no filter needs the customer (nor the channel, for sums without it;
    ``customers=False``: whatever the customer filters, for the customer day sums that answer one, ADR 0045).

    The sums know the month of each row's previous order, not its day: a period from the 1st counts the rows whose
    previous month is before its own; a period from any other day adds the rows whose previous order lies in its
    first month before its start, read from the facts by their previous-order day (``start_gap_rows``, ADR 0042)."""
    f = scope.filters
    if f.channel and not channel:
        return False
    return not customers or (
        not (f.prefecture or f.sales_rep_id or f.company_size) and user_sees_all_accounts(user=scope.user)
    )


def start_gap_rows(
    scope: SalesScope,
    facts: QuerySet[Any],
    *,
    prev: str,
    keys: dict[str, Any],
    within: Q | None = None,
    per_side: Mapping[int, Q] | None = None,
) -> list[dict[str, Any]]:
    """Per side and ``keys``, the ``facts`` of each period (``n``) whose previous order by the chain ``prev`` lies
    in the period's first month before its start: its buyers that sums keyed by the previous order's month count
    as not being (ADR 0042). Nothing for a period starting on the 1st. ``per_side``: a further filter per side (the
    caller reads some days from the facts themselves).

    Each fact table indexes its chains' days with the columns these reads need, so this reads a few days' worth of
    index entries (the facts whose previous order lies in those days) and no row of the table."""
    rows: list[dict[str, Any]] = []
    for side, (start, _end) in ((1, scope.ranges[0]), (0, scope.ranges[1])):
        if start.day == 1:
            continue
        days = Q(**{f"{prev}__gte": start.replace(day=1), f"{prev}__lt": start})
        q = scope.order_q(sides=(side,), recorded=True) & days
        if within is not None:
            q &= within
        if per_side is not None:
            q &= per_side[side]
        grouped = facts.filter(q).annotate(**keys).values(*keys).order_by().annotate(n=Count("*"))
        rows += ({"side": side, **row} for row in grouped)
    return rows


def _parts(scope: SalesScope) -> list[tuple[Q, Any, Any]]:
    """``(filter, side, month index of the side's start)`` per query, as ``SalesScope.order_parts``."""
    (start, _end), (previous_start, _previous_end) = scope.ranges
    months = {1: Value(month_of(start)), 0: Value(month_of(previous_start))}
    # The sums have no buyer: a customer attribute is their own key (``order_day_rows``).
    if scope.overlap:
        return [(scope.order_q(sides=(side,), customers=False), Value(side), months[side]) for side in (1, 0)]
    return [
        (
            scope.order_q(customers=False),
            Case(When(day__gte=start, then=1), default=0),
            Case(When(day__gte=start, then=months[1]), default=months[0]),
        )
    ]


def _customer_category_rows(scope: SalesScope) -> list[dict[str, Any]]:
    """The rows of ``_category_fact_rows`` for one customer attribute's value (``scope.segment``, no channel filter):
    its whole months from the customer category months, the days of months a period covers only in part from its
    buyers' facts, and the facts of the whole months whose previous order lies in the first month before a
    mid-month start (ADR 0042, 0045)."""
    from tokui.analytics.sum_reads import sides_of  # sum_reads imports this module

    assert scope.segment is not None
    dimension, value = scope.segment
    months = SalesCustomerCategoryMonth.objects.filter(dimension=dimension, value=value, currency=default_currency())
    if scope.categories is not None:
        months = months.filter(category_key__in=sorted(scope.categories))
    result: list[dict[str, Any]] = []
    sides = sides_of(scope)
    for s in sides:
        if s.whole > s.first_whole:
            whole = months.filter(month__gte=s.first_whole, month__lt=s.whole).annotate(category_id=F("category_key"))
            grouped: QuerySet[Any] = whole.values("category_id").order_by().annotate(**_category_sums(Value(s.since)))
            result += (row | {"side": s.side, "orders": row["order_sum"]} for row in grouped)
        if s.days:
            facts = _category_facts(scope, s.facts_q(scope))
            figures = _category_fact_figures(scope, Q(), first_since_start(s.start))
            partly = facts.values("category_id").order_by().annotate(**figures)
            result += (row | {"side": s.side} for row in partly)
    # The gaps only over the days the months answer: the partial days' buyers were counted from their own start.
    return result + _category_gap_rows(scope, per_side={s.side: ~s.days_q if s.days else Q() for s in sides})


def _category_day_rows(scope: SalesScope) -> list[dict[str, Any]]:
    """The same rows as ``_category_fact_rows`` from the day sums (``sums_answer`` scopes only; ADR 0024), with
    the buyers of a period from mid-month that the sums miss (ADR 0042)."""
    result: list[dict[str, Any]] = []
    for q, side, since in _parts(scope):
        rows = SalesCategoryDay.objects.filter(q)
        if scope.categories is not None:
            rows = rows.filter(category_key__in=sorted(scope.categories))
        keyed = rows.annotate(side=side, category_id=F("category_key")).values("side", "category_id").order_by()
        grouped: QuerySet[Any] = keyed.annotate(**_category_sums(since))
        result += (row | {"orders": row["order_sum"]} for row in grouped)
    return result + _category_gap_rows(scope)


def _category_sums(since: Any) -> dict[str, Any]:
    """The aggregates of category sums keyed by the previous order's month, for a period from month ``since`` (an
    expression): a category's buyers are its rows whose previous month is before it, every line's by the
    ``EVERY_LINE`` rows."""
    every = SalesCategoryDay.EVERY_LINE
    return {
        "revenue": Sum("amount"),
        "order_sum": Sum("orders"),
        "units": Sum("units"),
        "buyers": orders_where(Q(prev_month__lt=since)),
        "all_orders": orders_where(Q(category_key=every)),
        "all_buyers": orders_where(Q(category_key=every, prev_month__lt=since)),
    }


def _category_gap_rows(scope: SalesScope, *, per_side: Mapping[int, Q] | None = None) -> list[dict[str, Any]]:
    """The buyers of a period from mid-month that sums keyed by month miss (ADR 0042), as category rows: per
    category, and over every line by the orders' first rows (without a category filter)."""
    facts = SalesCategoryFact.objects.all()
    within = None if scope.categories is None else Q(category_id__in=sorted(scope.categories))
    none = {"revenue": Decimal(0), "orders": 0, "units": 0, "buyers": 0, "all_orders": 0, "all_buyers": 0}
    gaps = start_gap_rows(
        scope, facts, prev="prev_day", keys={"key": F("category_id")}, within=within, per_side=per_side
    )
    rows = [none | {"side": row["side"], "category_id": row["key"], "buyers": row["n"]} for row in gaps]
    if scope.categories is None:
        every = SalesCategoryDay.EVERY_LINE
        rows += (
            none | {"side": side, "category_id": every, "all_buyers": n}
            for side, n in every_line_gap_rows(scope, per_side=per_side)
        )
    return rows


def every_line_gap_rows(scope: SalesScope, *, per_side: Mapping[int, Q] | None = None) -> list[tuple[int, int]]:
    """``(side, buyers)``: the buyers over every line of a period from mid-month that sums keyed by month miss (ADR
    0042), by the orders' first category facts, whose chain of orders with any line is indexed with the buyer."""
    rows = start_gap_rows(
        scope,
        SalesCategoryFact.objects.all(),
        prev="prev_order_day",
        keys={"key": Value(0)},
        within=Q(first=True),
        per_side=per_side,
    )
    return [(row["side"], row["n"]) for row in rows]


def order_day_rows(
    scope: SalesScope,
    *,
    bucket: type[TruncBase],
    by_channel: bool,
    prev: str,
    key_prev: str,
    dimension: str | None = None,
) -> list[dict[str, Any]]:
    """The rows of ``sales._order_figures`` per ``bucket`` (day, week or month; and channel, or with ``dimension``
    the buyers' value of that customer attribute) from the order day sums (``sums_answer`` scopes), or from the
    customer day sums (``dimension``, or the scope's ``segment``: one attribute's value; ADR 0045): ``prev`` and
    ``key_prev`` name the chains as there (``prev_day`` or ``prev_channel_day``).

    A month's buyers are its orders whose previous one's month is before it; a day's or a week's, its orders with a
    buyer less those whose previous one was that day or week (ADR 0043). The first bucket may start before the
    range: its buyers are first since the range's start, by the previous order's month. A period from mid-month adds
    the orders whose previous one lies in its first month before its start (ADR 0042): buyers of the period, of its
    first bucket, and of their channel by the key's chain."""
    month, key_month = (
        "prev_channel_month" if chain == "prev_channel_day" else "prev_month" for chain in (prev, key_prev)
    )
    starts = {1: scope.ranges[0][0], 0: scope.ranges[1][0]}
    months = bucket is TruncMonth
    if months:
        bucket_month = ExtractYear("day") * Value(12) + ExtractMonth("day") - Value(1)
    else:
        repeat = f"repeat_{'channel_' if month == 'prev_channel_month' else ''}{bucket.kind}"
        fresh = orders_where(~Q(**{month: SalesCategoryDay.NO_BUYER})) - Sum(repeat)
    days: QuerySet[Any] = SalesOrderDay.objects.all()
    key: Any = F("channel") if by_channel else Value(0)
    if dimension is not None:
        days, key = SalesCustomerDay.objects.filter(dimension=dimension), F("value")
    elif scope.segment is not None:
        segment_dimension, value = scope.segment
        days = SalesCustomerDay.objects.filter(dimension=segment_dimension, value=value)
    result: list[dict[str, Any]] = []
    for q, side, since in _parts(scope):
        ranged = orders_where(Q(**{f"{month}__lt": since}))
        rows = (
            days.filter(q)
            .annotate(side=side, b=bucket("day"), k=key)
            .values("side", "b", "k")
            .order_by()
            .annotate(
                revenue=Sum("total"),
                order_sum=Sum("orders"),
                units=Sum("units"),
                # "First since the later of the two" for months, as on the facts; other buckets in Python below.
                bucket_buyers=(
                    orders_where(Q(**{f"{month}__lt": bucket_month}) | Q(**{f"{month}__lt": since}))
                    if months
                    else fresh
                ),
                range_buyers=ranged,
                key_buyers=orders_where(Q(**{f"{key_month}__lt": since})),
            )
        )
        for row in rows:
            if not months and bucket_day(row["b"]) < starts[row["side"]]:
                row["bucket_buyers"] = row["range_buyers"]
            result.append(row | {"orders": row["order_sum"]})
    keys = {"b": bucket("day"), "k": recorded_value(dimension) if dimension is not None else key}
    none = {"revenue": Decimal(0), "orders": 0, "units": 0, "bucket_buyers": 0, "range_buyers": 0, "key_buyers": 0}
    for chain, names in (
        ((prev, ("range_buyers",)), (key_prev, ("key_buyers",)))
        if prev != key_prev
        else ((prev, ("range_buyers", "key_buyers")),)
    ):
        for gap in start_gap_rows(scope, SalesOrderFact.objects.all(), prev=chain, keys=keys):
            # Only the first bucket, which starts before the range, counts from the range's start: later ones start
            # after the gap, and the sums count these orders as theirs already.
            first = chain == prev and bucket_day(gap["b"]) < starts[gap["side"]]
            counted = dict.fromkeys(names, gap["n"]) | ({"bucket_buyers": gap["n"]} if first else {})
            result.append(none | {"side": gap["side"], "b": gap["b"], "k": gap["k"]} | counted)
    return result


def bucket_day(value: dt.datetime | dt.date) -> dt.date:
    """A bucket's first day as a date (the Trunc functions give datetimes on some databases)."""
    return value.date() if isinstance(value, dt.datetime) else value
