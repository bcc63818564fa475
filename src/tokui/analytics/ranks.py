"""R, F and M ranks as database expressions over any rows that carry a last order day, an order count and a spend.

Ranks are computed when read, never stored: recency depends on the day of reading, and a boundary the user edits
takes effect at once. Over the maintained stats a grid of a million customers is one aggregate query.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from tokui.analytics.enums import RankMethod
from tokui.analytics.types import RfmRules

QUANTILES = (0.2, 0.4, 0.6, 0.8)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Resolved boundaries: R5 from ``recency[0]`` (a day) on, and the least F and M of ranks 2-5.

    ``strict`` F/M boundaries (quintiles) must be exceeded: the bottom fifth, ties included, is rank 1.
    """

    recency: tuple[dt.date, ...]
    frequency: tuple[int, ...]
    frequency_strict: bool
    monetary: tuple[Decimal, ...]
    monetary_strict: bool


def _quantile_values(rows: QuerySet[Any], fields: Sequence[tuple[str, bool]]) -> list[list[Any]]:
    """The values at the 20/40/60/80% positions (percentile_disc) of each ``(field, descending)`` over ``rows``."""
    if not fields:
        return []
    inner, params = rows.values_list(*{field for field, _descending in fields}).order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Every axis in one scan of the rows, one sort each; a window would number every row first.
            quantiles = ", ".join(str(q) for q in QUANTILES)
            picked = ", ".join(
                f"percentile_disc(ARRAY[{quantiles}]) WITHIN GROUP"
                f" (ORDER BY sub.{connection.ops.quote_name(field)} {'DESC' if descending else 'ASC'})"
                for field, descending in fields
            )
            cursor.execute(f"SELECT {picked} FROM ({inner}) sub", params)
            row = cursor.fetchone()
            return [list(values) if values else [] for values in (row or [None] * len(fields))]
        return [_quantile_values_sqlite(cursor, inner, params, field, descending) for field, descending in fields]


def _quantile_values_sqlite(cursor: Any, inner: str, params: Sequence[Any], field: str, descending: bool) -> list[Any]:
    column = f"sub.{connection.ops.quote_name(field)}"
    order = "DESC" if descending else "ASC"
    cursor.execute(f"SELECT COUNT(*) FROM ({inner}) sub", params)
    count = int(cursor.fetchone()[0])
    if count == 0:
        return []
    # percentile_disc: the first value whose position reaches q of the rows.
    positions = [max(1, math.ceil(q * count)) for q in QUANTILES]
    placeholders = ", ".join(["%s"] * len(positions))
    cursor.execute(
        f"SELECT v FROM (SELECT {column} AS v, ROW_NUMBER() OVER (ORDER BY {column} {order}) AS rn"
        f" FROM ({inner}) sub) ranked WHERE rn IN ({placeholders}) ORDER BY rn",
        [*params, *positions],
    )
    values = [row[0] for row in cursor.fetchall()]
    by_position = dict(zip(sorted(set(positions)), values, strict=True))
    return [by_position[position] for position in positions]


def thresholds_resolve(
    *, rules: RfmRules, as_of: dt.date, rows: QuerySet[Any], last: str, count: str, spend: str
) -> Thresholds:
    """Turn the rules into boundaries for ``rows``: fixed ones as they are, quintiles from the rows themselves."""
    frequency_strict = rules.frequency_method == RankMethod.QUANTILE
    monetary_strict = rules.monetary_method == RankMethod.QUANTILE
    wanted = [
        (field, descending)
        for field, descending, quantile in (
            (last, True, rules.recency_method == RankMethod.QUANTILE),
            (count, False, frequency_strict),
            (spend, False, monetary_strict),
        )
        if quantile
    ]
    found = dict(zip((field for field, _descending in wanted), _quantile_values(rows, wanted), strict=True))
    recency = (
        tuple(_as_date(value) for value in found[last])
        if last in found
        else tuple(as_of - dt.timedelta(days=days) for days in rules.recency_bounds)
    )
    frequency = tuple(int(v) for v in found[count]) if frequency_strict else rules.frequency_bounds
    monetary = tuple(Decimal(str(v)) for v in found[spend]) if monetary_strict else rules.monetary_bounds
    return Thresholds(
        recency=recency,
        frequency=frequency,
        frequency_strict=frequency_strict,
        monetary=monetary,
        monetary_strict=monetary_strict,
    )


def _as_date(value: Any) -> dt.date:
    # SQLite hands dates of a subquery back as text.
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _rank(field: str, bounds: Sequence[Any], lookup: str) -> Case:
    """Rank 5 for the value past the last boundary, down to 1 past none (boundaries ascend in rank order)."""
    whens = [
        When(Q(**{f"{field}__{lookup}": bound}), then=Value(rank))
        for rank, bound in sorted(zip(range(2, 2 + len(bounds)), bounds, strict=True), reverse=True)
    ]
    return Case(*whens, default=Value(1), output_field=IntegerField())


def rank_expressions(*, thresholds: Thresholds, last: str, count: str, spend: str) -> dict[str, Case]:
    """``{"r": ..., "f": ..., "m": ...}`` for ``QuerySet.annotate``."""
    # Recency boundaries are days from newest to oldest: R5 on or after the first, R2 on or after the fourth.
    recency = [When(Q(**{f"{last}__gte": day}), then=Value(5 - index)) for index, day in enumerate(thresholds.recency)]
    return {
        "r": Case(*recency, default=Value(1), output_field=IntegerField()),
        "f": _rank(count, thresholds.frequency, "gt" if thresholds.frequency_strict else "gte"),
        "m": _rank(spend, thresholds.monetary, "gt" if thresholds.monetary_strict else "gte"),
    }


def group_expression(rules: RfmRules) -> Case:
    """The index of the group (in ``rules.groups`` order) of an R×F cell, or -1 for a cell in no group."""
    whens = []
    for index, group in enumerate(rules.groups):
        condition = Q()
        for cell_r, cell_f in sorted(group.cells):
            condition |= Q(r=cell_r, f=cell_f)
        if group.cells:
            whens.append(When(condition, then=Value(index)))
    return Case(*whens, default=Value(-1), output_field=IntegerField())
