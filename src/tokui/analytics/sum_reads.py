"""Reads shared by the product breakdown's paths: a period split into whole and partial months, the sums' parts
summed per product by the database, and the sums over the line facts' chains (``product_sums``,
``product_channel_sums``; ADR 0028, 0041, 0042, 0044)."""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Case, F, Q, QuerySet, Sum, When

from tokui.analytics.report_types import SalesFigures
from tokui.analytics.sales_models import SalesLineFact, SalesProductChannelMonth
from tokui.analytics.sales_sums import (
    Group,
    add_figures,
    both_sides,
    count_where,
    month_of,
    start_gap_rows,
)
from tokui.catalog.models import Product
from tokui.core.money import DECIMAL_PLACES

if TYPE_CHECKING:
    from tokui.analytics.sales_scope import SalesScope


# The product key of month sums' rows over every line, which count the orders and buyers of the page's totals.
EVERY_LINE = SalesProductChannelMonth.EVERY_LINE


def first_day(month: int) -> dt.date:
    return dt.date(month // 12, month % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class SumSide:
    """One period of a report: months [first_whole, whole) lie wholly in it, the days of ``days`` do not (the
    start's month from a day other than the 1st, the end's month up to a day other than its last)."""

    side: int
    start: dt.date
    end: dt.date

    @property
    def since(self) -> int:
        return month_of(self.start)

    @property
    def first_whole(self) -> int:
        return self.since + (0 if self.start.day == 1 else 1)

    @property
    def whole(self) -> int:
        return max(self.first_whole, month_of(self.end) + (1 if (self.end + dt.timedelta(days=1)).day == 1 else 0))

    @property
    def days(self) -> list[tuple[dt.date, dt.date]]:
        ranges = []
        if self.start.day != 1:
            ranges.append((self.start, min(self.end, first_day(self.since + 1) - dt.timedelta(days=1))))
        tail = first_day(self.whole)
        if tail <= self.end:
            ranges.append((tail, self.end))
        return ranges

    @property
    def days_q(self) -> Q:
        """The days of ``days``, as a filter (none: matches every row)."""
        return functools.reduce(operator.or_, (Q(day__gte=first, day__lte=last) for first, last in self.days), Q())

    def facts_q(self, scope: SalesScope) -> Q:
        """The facts of ``days`` that the scope's filters keep, its customer filter as recorded (a semi-join).

        The days alone, not within the side's range again: with both, PostgreSQL multiplied the two ranges'
        selectivities, expected a row per buyer and probed the buyers' index once per buyer of a rep (30,000
        probes, 0.13 s) instead of reading the days by index (0.05 s)."""
        return scope.order_q(sides=(), recorded=True) & self.days_q


def sides_of(scope: SalesScope) -> list[SumSide]:
    """The report's period (side 1) and its comparison (side 0)."""
    return [SumSide(side, start, end) for side, (start, end) in ((1, scope.ranges[0]), (0, scope.ranges[1]))]


def product_gap_rows(
    scope: SalesScope, *, prev: str, per_side: Mapping[int, Q] | None = None
) -> list[tuple[int, int, int]]:
    """``(side, product_key, buyers)``: the (order, product) lines of a period from mid-month whose previous purchase
    of the product by the chain ``prev`` lies in its first month before its start (``sales_sums.start_gap_rows``),
    of the products now in the scope's categories."""
    within = Q(product_first=True)
    if scope.categories is not None:
        within &= Q(product_id__in=in_categories(scope.categories))
    gaps = start_gap_rows(
        scope, SalesLineFact.objects.all(), prev=prev, keys={"key": F("product_id")}, within=within, per_side=per_side
    )
    return [(gap["side"], gap["key"] or 0, gap["n"]) for gap in gaps]


def in_categories(categories: Iterable[int]) -> QuerySet[Any]:
    # The products now in these categories (lines without a product, or of a deleted one, are in none).
    return Product.objects.filter(category_id__in=sorted(categories)).values("pk")


COLUMNS = ("side", "product_key", "revenue", "orders_sum", "units_sum", "buyers")


def grouped_part(part: QuerySet[Any], categories: Iterable[int] | None, *sums: Any) -> QuerySet[Any]:
    """``part`` summed per (side, product), with the columns of ``COLUMNS``."""
    if categories is not None:
        part = part.filter(product_key__in=in_categories(categories))
    grouped = part.values("side", "product_key").order_by().annotate(**dict(zip(COLUMNS[2:], sums, strict=True)))
    columns: QuerySet[Any] = grouped.values_list(*COLUMNS)
    return columns


def summed(parts: list[QuerySet[Any]]) -> list[tuple[Any, ...]]:
    """The parts' rows summed per (side, product) by the database, in one statement: ``(side, product, revenue,
    orders, units, buyers)``. Fetching each part's rows (a row per product and side in each: 40,000 at 5,000
    products) and adding them up in Python was a third of the page's time."""
    if not parts:
        return []
    selects: list[str] = []
    params: list[Any] = []
    for part in parts:
        sql, part_params = part.query.get_compiler(connection=connection).as_sql()
        # Each part's columns by name: the compiled SELECT may order them otherwise.
        selects.append(f"SELECT {', '.join(COLUMNS)} FROM ({sql}) p")
        params += part_params
    sums = ", ".join(f"SUM({column})" for column in COLUMNS[2:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT side, product_key, {sums} FROM ({' UNION ALL '.join(selects)}) u GROUP BY side, product_key",
            params,
        )
        return [(side, product, money(revenue), *rest) for side, product, revenue, *rest in cursor.fetchall()]


_CENTS = Decimal(1).scaleb(-DECIMAL_PLACES)


def money(value: Any) -> Decimal:
    """A sum of money as the ORM gives it: PostgreSQL's numeric is a Decimal already; SQLite returns a float (or an
    int), made a Decimal as Django's SQLite backend does (15 significant digits, to the field's cents)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Context(prec=15).create_decimal_from_float(value).quantize(_CENTS)
    return Decimal(value or 0).quantize(_CENTS)


def line_figures(
    scope: SalesScope, parts: list[tuple[Q, Any, Callable[[str], Q]]]
) -> tuple[dict[Group, SalesFigures], dict[Group, SalesFigures] | None]:
    """Line figures per (side, product) summed over the line facts of ``parts`` (``(filter, side, first)`` as
    ``SalesScope.order_parts``) by the buyers' chains the lines carry (ADR 0041), and per side over every line (not
    under a category filter, which drops the orders' first lines): a product's orders are its first lines in their
    orders, its buyers those whose previous order of the product (in the channel, under a channel filter) lies
    before the period, and the same over every line by the orders' first lines — sums, not distinct counts."""
    rows: list[dict[str, Any]] = []
    for q, side, first in parts:
        grouped = _lines(scope, q).annotate(side=side).values("side", "product_id").order_by()
        with _hashed():
            rows += grouped.annotate(**_line_sums(scope, None, first))
    return _line_results(scope, rows)


def with_partial_days(
    scope: SalesScope, sums: dict[Group, list[Any]], partial: list[tuple[Q, Any, Callable[[str], Q]]]
) -> tuple[dict[Group, SalesFigures], dict[Group, SalesFigures] | None]:
    """The breakdown by product from month sums per (side, product key) — ``EVERY_LINE`` rows counting the orders
    and buyers over every line — and the line facts of the days the months do not cover (``partial``, as
    ``line_figures`` takes them): per (side, product), and per side over every line (none under a category
    filter, whose page totals are its own)."""
    partial_products, partial_totals = line_figures(scope, partial) if partial else ({}, {})
    for (side, product), f in partial_products.items():
        add_figures(sums, (side, product or 0), (f.revenue, f.orders, f.units, f.buyers))
    every = {side: sums.pop((side, EVERY_LINE), [Decimal(0), 0, 0, 0]) for side in (1, 0)}
    grouped = {
        (side, product or None): SalesFigures(revenue=revenue, orders=int(orders), units=int(units), buyers=buyers)
        for (side, product), (revenue, orders, units, buyers) in sums.items()
        # Rows taken back to zero by the deltas leave no product behind.
        if orders
    }
    if scope.categories is not None:
        return grouped, None
    totals: dict[Group, SalesFigures] = {}
    for side in (1, 0):
        products = [figures for (s, _product), figures in grouped.items() if s == side]
        partly = (partial_totals or {}).get((side, None), SalesFigures())
        totals[(side, None)] = SalesFigures(
            revenue=sum((f.revenue for f in products), Decimal(0)),
            orders=int(every[side][1]) + partly.orders,
            units=sum(f.units for f in products),
            buyers=int(every[side][3]) + partly.buyers,
        )
    return grouped, totals


def both_sides_line_figures(
    scope: SalesScope,
) -> tuple[dict[Group, SalesFigures], dict[Group, SalesFigures] | None]:
    """``line_figures`` of the scope's two periods when they overlap, in one pass over their lines, each figure
    summed per side over the side's days: a filter on the customer fetches each of its buyers' lines once, where
    two reads fetched the same heap pages twice (each page holds lines of many days)."""
    grouped = _lines(scope, scope.order_q()).values("product_id").order_by()
    with _hashed():
        rows = both_sides(scope, grouped, functools.partial(_line_sums, scope))
    return _line_results(scope, rows)


def _lines(scope: SalesScope, q: Q) -> QuerySet[Any]:
    lines = SalesLineFact.objects.filter(q)
    if scope.categories is not None:
        lines = lines.filter(product__category_id__in=sorted(scope.categories))
    return lines


def _line_sums(scope: SalesScope, inside: Q | None, first: Callable[[str], Q]) -> dict[str, Any]:
    """The aggregates of ``line_figures`` over the lines matching ``inside`` (all of them without it)."""
    channel = "_channel" if scope.filters.channel else ""
    within = inside if inside is not None else Q()

    def summed(column: str) -> Sum:
        return Sum(Case(When(inside, then=F(column)))) if inside is not None else Sum(column)

    return {
        "revenue": summed("amount"),
        "orders": count_where(within & Q(product_first=True)),
        "units": summed("quantity"),
        "buyers": count_where(within & Q(product_first=True) & first(f"prev_product{channel}_day")),
        "all_orders": count_where(within & Q(order_first=True)),
        "all_buyers": count_where(within & Q(order_first=True) & first(f"prev_order{channel}_day")),
    }


def _line_results(
    scope: SalesScope, rows: Iterable[dict[str, Any]]
) -> tuple[dict[Group, SalesFigures], dict[Group, SalesFigures] | None]:
    grouped: dict[Group, SalesFigures] = {}
    totals: dict[Group, list[Any]] = {}
    for row in rows:
        revenue, units = row["revenue"] or Decimal(0), int(row["units"] or 0)
        grouped[(row["side"], row["product_id"])] = SalesFigures(
            revenue=revenue, orders=int(row["orders"] or 0), units=units, buyers=int(row["buyers"] or 0)
        )
        add_figures(
            totals, (row["side"], None), (revenue, int(row["all_orders"] or 0), units, int(row["all_buyers"] or 0))
        )
    if scope.categories is not None:
        return grouped, None
    return grouped, {group: SalesFigures(*figures) for group, figures in totals.items()}


@contextmanager
def _hashed() -> Iterator[None]:
    """Group by hashing on PostgreSQL (inside ``report_reads``' transaction): for a product read over both periods
    the planner multiplies the products by its guess for the side's CASE and expects a million groups, so it sorts
    6.6M lines to disk where a hash table holds the 10,000 groups there are (9.3 → 4.4 s a year from the 15th)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_sort = on")
