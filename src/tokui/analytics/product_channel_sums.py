"""Product sums per channel: the breakdown by product within one channel, from sums (ADR 0044).

Within a channel a product's buyers follow the buyer's chain of orders of the product *in that channel*
(``prev_product_channel_day`` on the line facts, ADR 0041), so the product sums (``product_sums``, ADR 0028), which
follow the chain over every channel, cannot answer it; the page read a year of line facts twice (2.5 s at 10M
lines). These sums are the line facts per (channel, month, previous month in the channel, product) —
``SalesProductChannelMonth``, whose ``EVERY_LINE`` rows count the orders with any line by the buyer's chain of
orders in the channel, for the page's totals — and per (channel, month, product) without the previous month,
``SalesProductChannelTotal``. A period's whole months come from them; the month it covers in part (the current
month of the default range, and the first month of a period from mid-month) from the line facts of those days.

They are kept with the product sums, from the same delta of the line facts a rewrite takes out and puts back
(``product_sums``: one read of the lines for both), and rebuilt with them at night.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Q, Sum, Value

from tokui.analytics.report_types import SalesFigures
from tokui.analytics.sales_days import month_index, previous_month
from tokui.analytics.sales_models import (
    SalesCategoryDay,
    SalesLineFact,
    SalesProductChannelMonth,
    SalesProductChannelTotal,
)
from tokui.analytics.sales_sums import Group, add_figures, first_since_start, start_gap_rows
from tokui.analytics.sum_reads import (
    EVERY_LINE,
    SumSide,
    first_day,
    grouped_part,
    product_gap_rows,
    sides_of,
    summed,
    with_partial_days,
)
from tokui.core.money import MoneyField, default_currency

if TYPE_CHECKING:
    from tokui.analytics.sales_scope import SalesScope

DELTA_COLUMNS = "currency, day, product_key, prev_month, channel, prev_channel_month, amount, units, orders"
_MONTH_COLUMNS = "currency, channel, month, prev_month, product_key, amount, units, orders"
_MONTH_KEY = "currency, channel, month, prev_month, product_key"
_TOTAL_COLUMNS = "currency, channel, month, product_key, amount, units, orders"
_TOTAL_KEY = "currency, channel, month, product_key"
_SUMS = ("amount", "units", "orders")
_CHANGED = "HAVING SUM(orders) <> 0 OR SUM(units) <> 0 OR SUM(amount) <> 0"


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _rows(where: str, *, lines: str | None = None) -> str:
    """The line facts matching ``where`` (unqualified columns), each once per product with its previous months
    over every channel (``prev_month``) and in its channel (``prev_channel_month``), and once more when it is its
    order's first line as an ``EVERY_LINE`` row on the buyer's chain of orders in the channel — one scan for both."""
    table = _q(lines or SalesLineFact._meta.db_table)
    every = "k.every = 1"
    return (
        f"SELECT currency, day, channel,"
        f" CASE WHEN {every} THEN {EVERY_LINE} ELSE COALESCE(product_id, 0) END AS product_key,"
        f" CASE WHEN {every} THEN {SalesCategoryDay.NO_PREVIOUS} ELSE {previous_month('prev_product_day')} END"
        " AS prev_month,"
        f" CASE WHEN {every} THEN {previous_month('prev_order_channel_day')}"
        f" ELSE {previous_month('prev_product_channel_day')} END AS prev_channel_month,"
        f" CASE WHEN {every} THEN 0 ELSE amount END AS amount, CASE WHEN {every} THEN 0 ELSE quantity END AS units,"
        f" CASE WHEN {every} OR product_first THEN 1 ELSE 0 END AS first_line"
        f" FROM {table} CROSS JOIN (SELECT 0 AS every UNION ALL SELECT 1 AS every) k"
        f" WHERE ({where}) AND (k.every = 0 OR order_first)"
    )


def delta_select(where: str, *, sign: int) -> str:
    """The line facts matching ``where`` summed per product sum's and channel sum's key, times ``sign``: the rows
    ``product_sums`` records before and after a rewrite (``DELTA_COLUMNS``)."""
    return (
        "SELECT currency, day, product_key, prev_month, channel, prev_channel_month,"
        f" {sign} * SUM(amount), {sign} * SUM(units), {sign} * SUM(first_line) FROM ({_rows(where)}) r"
        " GROUP BY currency, day, product_key, prev_month, channel, prev_channel_month"
    )


def channel_sums_from(delta: str) -> list[tuple[str, str, str, tuple[str, ...], str]]:
    """``(table, columns, key, sums, select)`` of the channel sums' changes in the delta table ``delta``."""
    month = month_index("day")
    months = (
        f"SELECT currency, channel, {month} AS month, prev_channel_month AS prev_month, product_key,"
        f" SUM(amount) AS amount, SUM(units) AS units, SUM(orders) AS orders FROM {delta}"
        f" GROUP BY currency, channel, {month}, prev_channel_month, product_key {_CHANGED}"
    )
    totals = (
        f"SELECT currency, channel, {month} AS month, product_key, SUM(amount) AS amount, SUM(units) AS units,"
        f" SUM(orders) AS orders FROM {delta} GROUP BY currency, channel, {month}, product_key {_CHANGED}"
    )
    return [
        (_q(SalesProductChannelMonth._meta.db_table), _MONTH_COLUMNS, _MONTH_KEY, _SUMS, months),
        (_q(SalesProductChannelTotal._meta.db_table), _TOTAL_COLUMNS, _TOTAL_KEY, _SUMS, totals),
    ]


def channel_sums_rebuild_sql(
    *, months: str | None = None, totals: str | None = None, lines: str | None = None
) -> list[tuple[str, list[Any]]]:
    """INSERT ... SELECT of every channel sum from every line fact (into a rebuild's twin tables): the months from
    the lines, in key order, then the totals from the months."""
    month_table = _q(months or SalesProductChannelMonth._meta.db_table)
    total_table = _q(totals or SalesProductChannelTotal._meta.db_table)
    month = month_index("day")
    key = f"currency, channel, {month}, prev_channel_month, product_key"
    return [
        (
            f"INSERT INTO {month_table} ({_MONTH_COLUMNS}) SELECT {key}, SUM(amount), SUM(units), SUM(first_line)"
            f" FROM ({_rows('1 = 1', lines=lines)}) r GROUP BY {key} ORDER BY {key}",
            [],
        ),
        (
            f"INSERT INTO {total_table} ({_TOTAL_COLUMNS}) SELECT currency, channel, month, product_key,"
            f" SUM(amount), SUM(units), SUM(orders) FROM {month_table} GROUP BY currency, channel, month, product_key",
            [],
        ),
    ]


# --- Reads ----------------------------------------------------------------------------------------------------------


def channel_sums_answer(scope: SalesScope) -> bool:
    """Whether the channel sums answer the scope: a channel filter (and, as ``sales_sums.sums_answer`` says, no
    customer filter)."""
    return bool(scope.filters.channel)


def channel_breakdown(scope: SalesScope) -> tuple[dict[Group, SalesFigures], dict[Group, SalesFigures] | None]:
    """Line figures per (side, product) within the scope's channel, and per side over every line (without a
    category filter): whole months from the channel sums, the days of the months covered in part from the line
    facts, and for a period from mid-month the lines of its whole months whose previous order in the channel lies
    in its first month before its start (ADR 0042's gap, by the line facts' indexes on those days)."""
    sides = sides_of(scope)
    currency, channel = default_currency(), scope.filters.channel
    zero, money = Value(0), Value(Decimal(0), output_field=MoneyField())
    parts = []
    for s in (s for s in sides if s.first_whole < s.whole):
        months = Q(currency=currency, channel=channel, month__gte=s.first_whole, month__lt=s.whole)
        totals = SalesProductChannelTotal.objects.filter(months).annotate(side=Value(s.side))
        parts.append(grouped_part(totals, scope.categories, Sum("amount"), Sum("orders"), Sum("units"), zero))
        # The buyers: the rows whose previous order of the product in the channel is before the period's month.
        chains = SalesProductChannelMonth.objects.filter(months, prev_month__lt=s.since).annotate(side=Value(s.side))
        parts.append(grouped_part(chains, scope.categories, money, zero, zero, Sum("orders")))
    sums: dict[Group, list[Any]] = {}
    for side, product, revenue, orders, units, buyers in summed(parts):
        sums[(side, product)] = [revenue, int(orders), int(units), int(buyers)]
    for side, product, buyers in _gaps(scope, sides):
        add_figures(sums, (side, product), (Decimal(0), 0, 0, buyers))
    partial = [(s.facts_q(scope), Value(s.side), first_since_start(s.start)) for s in sides if s.days]
    return with_partial_days(scope, sums, partial)


def _gaps(scope: SalesScope, sides: list[SumSide]) -> list[tuple[int, int, int]]:
    """``(side, product_key, buyers)``: the buyers of a period from mid-month that its whole months' sums miss,
    per product by the chain of the product in the channel, and over every line (``EVERY_LINE``) by the chain of
    orders in the channel. Only the lines of whole months: the others are read from the lines with their own
    buyers."""
    whole = {
        s.side: Q(day__gte=first_day(s.first_whole), day__lt=first_day(s.whole))
        if s.first_whole < s.whole
        else Q(pk__in=[])
        for s in sides
    }
    gaps: list[tuple[int, int, int]] = product_gap_rows(scope, prev="prev_product_channel_day", per_side=whole)
    if scope.categories is None:
        gaps += [
            (gap["side"], EVERY_LINE, gap["n"])
            for gap in start_gap_rows(
                scope,
                SalesLineFact.objects.all(),
                prev="prev_order_channel_day",
                keys={"key": Value(0)},
                within=Q(order_first=True),
                per_side=whole,
            )
        ]
    return gaps
