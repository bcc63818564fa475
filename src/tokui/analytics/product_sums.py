"""Product sums: the line facts summed per product and month (and day), for the breakdown by product.

The breakdown by product read a year of line facts twice (the period and its comparison) with distinct counts of
orders and buyers per product: 6.4-10 s at 10M lines (ADR 0024's addendum). The sums answer it for periods that
start on the 1st as the category day sums do for categories (ADR 0028):

- a row per (order, product) — two lines of a product in one order are one order of it — has the month of the
  buyer's previous order containing that product (same currency; ties on a day broken by order id). A product's
  buyers over a period from the 1st are then its rows whose previous month lies before the period's: a plain sum
  (from any other day, plus the lines whose previous purchase lies in the period's first month before its start,
  read by the line facts' index on that day, ADR 0042);
- ``SalesProductTotal`` sums those rows per (currency, month, product) for the revenue, orders and units of whole
  months, ``SalesProductMonth`` counts them per (currency, month, previous month, product) for the buyers, and
  ``SalesProductDay`` holds both per day for the months a period covers only in part.

The chains are the line facts' own (``line_chains``, ADR 0041): the sums are the line facts grouped by product,
day and the previous order's month. ``sales_facts`` records a buyer's line facts from the earliest day it
rewrites, times -1, before it rewrites them, and the same rows times +1 after (their chains set again), then
writes only the sums that changed, in the same transaction; the nightly rebuild sums every line fact. A sum taken
back to zero stays as a zero row until then; it changes nothing.

``product_breakdown`` answers the page: from the sums where they answer it, else by summing the period's line
facts over the same chains (a channel or customer filter).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Case, IntegerField, Q, QuerySet, Sum, Value, When

from tokui.analytics.category_facts import since_where
from tokui.analytics.customer_models import SalesCustomerProductMonth
from tokui.analytics.customer_product_sums import (
    PRODUCT_DIMENSIONS,
    customer_products_apply,
    customer_products_delta,
    customer_products_record,
)
from tokui.analytics.product_channel_sums import (
    DELTA_COLUMNS,
    channel_breakdown,
    channel_sums_answer,
    channel_sums_from,
    delta_select,
)
from tokui.analytics.report_types import SalesFigures
from tokui.analytics.sales_days import month_index, previous_month, upsert_sums
from tokui.analytics.sales_models import (
    SalesLineFact,
    SalesProductDay,
    SalesProductMonth,
    SalesProductTotal,
)
from tokui.analytics.sales_sums import (
    Group,
    add_figures,
    every_line_gap_rows,
    first_since_start,
    orders_where,
    sums_answer,
)
from tokui.analytics.sum_reads import (
    EVERY_LINE,
    SumSide,
    both_sides_line_figures,
    grouped_part,
    line_figures,
    product_gap_rows,
    sides_of,
    summed,
    with_partial_days,
)
from tokui.core.money import MoneyField, default_currency

if TYPE_CHECKING:
    from tokui.analytics.sales_scope import SalesScope

_CHUNK = 500
_SUMS = ("amount", "units", "orders")
_DAY_COLUMNS, _DAY_KEY = (
    "currency, day, product_key, prev_month, amount, units, orders",
    "currency, day, product_key, prev_month",
)
_MONTH_COLUMNS = "currency, month, prev_month, product_key, orders"
_MONTH_KEY = "currency, month, prev_month, product_key"
_TOTAL_COLUMNS, _TOTAL_KEY = "currency, month, product_key, amount, units, orders", "currency, month, product_key"


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _rows(where: str, *, lines: str | None = None) -> str:
    """The line facts matching ``where`` (unqualified columns) with the month of their buyer's previous order of
    the product (the chain the line facts carry, ADR 0041) and whether each is its product's first line in its
    order (``first_line``: an order with two lines of a product counts once)."""
    return (
        f"SELECT currency, COALESCE(product_id, 0) AS product_key, day,"
        f" {previous_month('prev_product_day')} AS prev_month, amount, quantity AS units,"
        " CASE WHEN product_first THEN 1 ELSE 0 END AS first_line"
        f" FROM {_q(lines or SalesLineFact._meta.db_table)} WHERE {where}"
    )


def _day_select(rows: str, *, sign: int) -> str:
    return (
        f"SELECT currency, day, product_key, prev_month, {sign} * SUM(amount) AS amount, {sign} * SUM(units) AS units,"
        f" {sign} * SUM(first_line) AS orders FROM ({rows}) r GROUP BY currency, day, product_key, prev_month"
    )


# The rows a rewrite takes out (times -1) and puts back (times +1), summed per day sum's key before any sum is
# touched: most of a buyer's rows come back unchanged, so only the keys whose sums differ are written.
_DELTA = "tokui_product_sums_delta"


def _record(cursor: CursorWrapper, since: Mapping[int, Any], orders: tuple[str, Sequence[Any]], sign: int) -> None:
    """Add to the delta table, times ``sign``, the line facts of each buyer in ``since`` from that buyer's day on,
    and those of the orders matching ``orders`` (unqualified columns) that have no buyer: per day sum's key and
    channel sum's key (``product_channel_sums``), one read of the lines for both."""
    delta = _q(_DELTA)
    ordered = sorted(since)
    parts = [since_where(since, chunk) for chunk in (ordered[i : i + _CHUNK] for i in range(0, len(ordered), _CHUNK))]
    where, params = orders
    parts.append((f"buyer IS NULL AND ({where})", list(params)))
    for lines, params_of_lines in parts:
        cursor.execute(f"INSERT INTO {delta} ({DELTA_COLUMNS}) {delta_select(lines, sign=sign)}", params_of_lines)
        customer_products_record(cursor, lines, params_of_lines, sign=sign)


def product_sums_take(cursor: CursorWrapper, *, since: Mapping[int, Any], orders: tuple[str, Sequence[Any]]) -> None:
    """Before ``sales_facts`` rewrites line facts: take out of the product sums every (order, product) row of each
    buyer in ``since`` from that buyer's day on, and those of the orders matching ``orders`` without a buyer (held
    in a temporary table until ``product_sums_give``, in the same transaction)."""
    cursor.execute(f"DROP TABLE IF EXISTS {_q(_DELTA)}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {_q(_DELTA)} (currency varchar(3), day date, product_key bigint,"
        " prev_month integer, channel varchar(16), prev_channel_month integer, amount numeric(14, 2), units bigint,"
        " orders integer)"
    )
    customer_products_delta(cursor)
    _record(cursor, since, orders, sign=-1)


def product_sums_give(cursor: CursorWrapper, *, since: Mapping[int, Any], orders: tuple[str, Sequence[Any]]) -> None:
    """After ``sales_facts`` rewrote the line facts: put the same buyers' and orders' rows back, as they are now,
    and write what changed to the three sums and the two channel sums.

    A row's previous month depends only on the buyer's earlier rows, so the rows before each buyer's day are the
    same before and after and stay in the sums as they are (ADR 0028).
    """
    _record(cursor, since, orders, sign=1)
    delta, month = _q(_DELTA), month_index("day")
    changed = "HAVING SUM(orders) <> 0 OR SUM(units) <> 0 OR SUM(amount) <> 0"
    # The every-line rows (product_key < 0) are the channel sums' only.
    days = (
        "SELECT currency, day, product_key, prev_month, SUM(amount) AS amount, SUM(units) AS units,"
        f" SUM(orders) AS orders FROM {delta} WHERE product_key >= 0"
        f" GROUP BY currency, day, product_key, prev_month {changed}"
    )
    months = (
        f"SELECT currency, {month} AS month, prev_month, product_key, SUM(orders) AS orders FROM {delta}"
        f" WHERE product_key >= 0 GROUP BY currency, {month}, prev_month, product_key HAVING SUM(orders) <> 0"
    )
    totals = (
        f"SELECT currency, {month} AS month, product_key, SUM(amount) AS amount, SUM(units) AS units,"
        f" SUM(orders) AS orders FROM {delta} WHERE product_key >= 0 GROUP BY currency, {month}, product_key {changed}"
    )
    for table, columns, key, sums, select in (
        (_q(SalesProductDay._meta.db_table), _DAY_COLUMNS, _DAY_KEY, _SUMS, days),
        (_q(SalesProductMonth._meta.db_table), _MONTH_COLUMNS, _MONTH_KEY, ("orders",), months),
        (_q(SalesProductTotal._meta.db_table), _TOTAL_COLUMNS, _TOTAL_KEY, _SUMS, totals),
        *channel_sums_from(delta),
    ):
        cursor.execute(upsert_sums(table, columns, key, sums, select), [])
    cursor.execute(f"DROP TABLE {delta}")
    customer_products_apply(cursor)


def product_sums_rebuild_sql(
    *,
    days: str | None = None,
    months: str | None = None,
    totals: str | None = None,
    lines: str | None = None,
) -> list[tuple[str, list[Any]]]:
    """INSERT ... SELECT of every product sum from every line fact (into a rebuild's twin tables): the days from
    the lines, ordered by day so a month read in part is a few pages, then the months from the days and the
    totals from the months (the channel sums: ``product_channel_sums.channel_sums_rebuild_sql``)."""
    day_table, month_table = _q(days or SalesProductDay._meta.db_table), _q(months or SalesProductMonth._meta.db_table)
    total_table = _q(totals or SalesProductTotal._meta.db_table)
    rows = _rows("1 = 1", lines=lines)
    month = month_index("day")
    return [
        (f"INSERT INTO {day_table} ({_DAY_COLUMNS}) {_day_select(rows, sign=1)} ORDER BY day, product_key", []),
        (
            f"INSERT INTO {month_table} ({_MONTH_COLUMNS}) SELECT currency, {month}, prev_month, product_key,"
            f" SUM(orders) FROM {day_table} GROUP BY currency, {month}, prev_month, product_key"
            f" ORDER BY currency, {month}, prev_month, product_key",
            [],
        ),
        (
            f"INSERT INTO {total_table} ({_TOTAL_COLUMNS}) SELECT currency, {month}, product_key, SUM(amount),"
            f" SUM(units), SUM(orders) FROM {day_table} GROUP BY currency, {month}, product_key",
            [],
        ),
    ]


# --- Reads ----------------------------------------------------------------------------------------------------------


def product_figures(scope: SalesScope) -> dict[Group, SalesFigures]:
    """Line figures per (side, product) from the sums, for scopes the day sums answer (``sums_answer``): each
    side's whole months from the month totals (revenue, orders, units) and the month sums' rows whose previous
    month is before the side's (buyers), its months covered in part from the day sums, and for a period from
    mid-month the lines whose previous purchase of the product lies in its first month before its start (ADR
    0042). Both sides are read by the same scan of each table unless they overlap. A category filter keeps the
    products now in its categories, as the line facts' path does."""
    sides = sides_of(scope)
    sums: dict[Group, list[Any]] = {}
    parts = [
        part
        for group in ([[side] for side in sides] if scope.overlap else [sides])
        for part in _parts_of(group, scope.categories)
    ]
    rows = summed(parts)
    rows += [
        (side, product, Decimal(0), 0, 0, n) for side, product, n in product_gap_rows(scope, prev="prev_product_day")
    ]
    for side, product, *figures in rows:
        add_figures(sums, (side, product or None), tuple(figures))
    return {
        group: SalesFigures(revenue=revenue, orders=int(orders), units=int(units), buyers=int(buyers))
        for group, (revenue, orders, units, buyers) in sums.items()
        # Rows taken back to zero by the deltas leave no product behind.
        if orders
    }


def _parts_of(sides: list[SumSide], categories: Iterable[int] | None) -> list[QuerySet[Any]]:
    """The reads of ``sides`` (one, or both when they do not overlap: the reported one's rows are then exactly
    those from its start on), each grouped per (side, product) as ``_grouped`` says."""
    current = sides[0]

    def side(column: str, first: Any) -> Any:
        return Value(current.side) if len(sides) == 1 else Case(When(**{f"{column}__gte": first}, then=1), default=0)

    def any_of(make: Callable[[SumSide], Q | None], of: list[SumSide]) -> Q:
        return functools.reduce(operator.or_, (q for q in (make(s) for s in of) if q is not None), Q(pk__in=[]))

    currency = default_currency()
    zero = Value(0, output_field=IntegerField())
    money = Value(Decimal(0), output_field=MoneyField())
    rows: list[QuerySet[Any]] = []
    wholes = [s for s in sides if s.first_whole < s.whole]
    if wholes:
        months = any_of(lambda s: Q(month__gte=s.first_whole, month__lt=s.whole), wholes)
        totals = SalesProductTotal.objects.filter(months, currency=currency).annotate(side=side("month", current.since))
        rows.append(grouped_part(totals, categories, Sum("amount"), Sum("orders"), Sum("units"), zero))
        # A product's buyers in its whole months: the rows whose previous month is before the period's.
        chains = SalesProductMonth.objects.filter(
            any_of(lambda s: Q(month__gte=s.first_whole, month__lt=s.whole, prev_month__lt=s.since), wholes),
            currency=currency,
        ).annotate(side=side("month", current.since))
        rows.append(grouped_part(chains, categories, money, zero, zero, Sum("orders")))

    partial = [s for s in sides if s.days]
    if partial:
        days = SalesProductDay.objects.filter(any_of(lambda s: s.days_q, partial), currency=currency).annotate(
            side=side("day", current.start)
        )
        # Each row is its side's (the sides do not overlap when read together): one comparison per row, not the
        # ranges again (the aggregate 0.26 → 0.15 s in EXPLAIN ANALYZE, a year from the 15th against the one before).
        first = Q(prev_month__lt=partial[0].since)
        if len(partial) > 1:
            first = (Q(day__gte=current.start) & first) | (Q(day__lt=current.start, prev_month__lt=partial[1].since))
        buyers = orders_where(first)
        rows.append(grouped_part(days, categories, Sum("amount"), Sum("orders"), Sum("units"), buyers))
    return rows


def customer_products_answer(scope: SalesScope) -> bool:
    """Whether the sums answer the scope's breakdown by product: one value of a dimension they have, no channel."""
    return (
        scope.segment is not None
        and scope.segment[0] in PRODUCT_DIMENSIONS
        and sums_answer(scope, channel=False, customers=False)
    )


def customer_product_figures(
    scope: SalesScope,
) -> tuple[dict[Group, SalesFigures], dict[Group, SalesFigures] | None]:
    """Line figures per (side, product) of one value's buyers (``scope.segment``), and per side over every line
    (without a category filter): each side's whole months from the customer product months (a product's buyers:
    its rows whose previous month is before the side's; every line's by the ``EVERY_LINE`` rows), the days of
    months it covers only in part from the buyers' lines, and for a mid-month start the lines of the whole months
    whose previous purchase lies in its first month before the start (ADR 0042, 0046)."""
    assert scope.segment is not None
    dimension, value = scope.segment
    months = SalesCustomerProductMonth.objects.filter(dimension=dimension, value=value, currency=default_currency())
    parts = []
    sides = sides_of(scope)
    for s in (s for s in sides if s.first_whole < s.whole):
        whole = months.filter(month__gte=s.first_whole, month__lt=s.whole).annotate(side=Value(s.side))
        buyers = orders_where(Q(prev_month__lt=s.since))
        parts.append(grouped_part(whole, scope.categories, Sum("amount"), Sum("orders"), Sum("units"), buyers))
    sums: dict[Group, list[Any]] = {}
    for side, product, revenue, orders, units, buyers in summed(parts):
        sums[(side, product)] = [revenue, int(orders), int(units), int(buyers)]
    # The gaps only over the days the months answer: the partial days' buyers are counted from their own start.
    per_side = {s.side: ~s.days_q if s.days else Q() for s in sides}
    gaps = product_gap_rows(scope, prev="prev_product_day", per_side=per_side)
    if scope.categories is None:
        gaps += [(side, EVERY_LINE, n) for side, n in every_line_gap_rows(scope, per_side=per_side)]
    for side, product, n in gaps:
        add_figures(sums, (side, product), (Decimal(0), 0, 0, n))
    partial = [(s.facts_q(scope), Value(s.side), first_since_start(s.start)) for s in sides if s.days]
    return with_partial_days(scope, sums, partial)


def product_breakdown(scope: SalesScope) -> tuple[dict[Group, SalesFigures], dict[Group, SalesFigures] | None]:
    """Line figures per (side, product), and per side over every line when they come with them.

    From the product sums when no filter needs the customer or the channel (ADR 0028, 0042); for one company size
    or sales rep from the customer product months (ADR 0046); within one channel over periods from the 1st from the
    channel sums (ADR 0044); else summed over the line facts' chains (ADR 0041,
    ``sum_reads.line_figures``), which also give the breakdown's totals.
    """
    if sums_answer(scope, channel=False):
        return product_figures(scope), None
    if customer_products_answer(scope):
        return customer_product_figures(scope)
    if sums_answer(scope, channel=True) and channel_sums_answer(scope):
        return channel_breakdown(scope)
    return both_sides_line_figures(scope) if scope.overlap else line_figures(scope, scope.order_parts())
