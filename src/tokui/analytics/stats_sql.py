"""The SQL that computes per-customer stats from the orders, set-based, for PostgreSQL and SQLite.

One statement computes every figure for every customer in scope (all of them, or the ones an order fact named):
no per-customer loop. Both databases run the same SQL text, with three small dialect pieces (the site-zone day of
a timestamp, the days between two dates and a date plus days), so SQLite and PostgreSQL give the same numbers.
On PostgreSQL the full recompute restates these rules over arrays instead (``stats_full``, ``stats_arrays``): it
must give the very same figures, so a change here is a change there (``tests/analytics/test_stats_full.py``).

A customer is keyed by one signed integer while computing: the company id for an order that names a company
(B2B), minus the contact id for one that names only a contact (B2C). One integer column groups and joins faster
than a pair of nullable ones, and no company id is negative.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection

from tokui.analytics.models import CustomerStats
from tokui.catalog.models import Product
from tokui.commerce.enums import NON_REVENUE_STATUSES
from tokui.commerce.models import Order, OrderLine
from tokui.core.money import DECIMAL_PLACES, minor_units
from tokui.core.time import site_zone

MONEY_SCALE = 10**DECIMAL_PLACES

STATS_COLUMNS = (
    "company_id",
    "contact_id",
    "first_order_on",
    "last_order_on",
    "order_count",
    "order_days",
    "total_spend",
    "average_spend",
    "average_interval_days",
    "median_interval_days",
    "predicted_next_order_on",
    "favourite_category_1_id",
    "favourite_category_2_id",
    "favourite_category_3_id",
    "refreshed_at",
)


@dataclass(frozen=True, slots=True)
class Scope:
    """The customers to compute: ``None`` for all, else companies and B2C contacts by id."""

    company_ids: Sequence[int]
    contact_ids: Sequence[int]


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _site_day(column: str) -> str:
    zone = _quote(str(site_zone()))
    if connection.vendor == "postgresql":
        return f"CAST(({column} AT TIME ZONE {zone}) AS date)"
    # Django's SQLite backend registers this function; it converts a stored UTC timestamp to the zone's date.
    return f"django_datetime_cast_date({column}, {zone}, 'UTC')"


def days_between(later: str, earlier: str) -> str:
    """Whole days from the date ``earlier`` to the date ``later``, in this database's SQL."""
    if connection.vendor == "postgresql":
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _date_plus_days(day: str, days: str) -> str:
    if connection.vendor == "postgresql":
        return f"({day} + CAST({days} AS integer))"
    return f"date({day}, '+' || ({days}) || ' days')"


def _hundredths(column: str) -> str:
    """A money column as an integer of hundredths (its stored scale), for exact integer sums."""
    if connection.vendor == "postgresql":
        return f"CAST({column} * {MONEY_SCALE} AS bigint)"
    # SQLite keeps decimals as floats: round before truncating.
    return f"CAST(ROUND({column} * {MONEY_SCALE}) AS INTEGER)"


def _in_list(column: str, values: Sequence[int], params: list[Any]) -> str:
    if connection.vendor == "postgresql":
        params.append(list(values))
        return f"{column} = ANY(%s)"
    params.extend(values)
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


def _scope_condition(scope: Scope | None, params: list[Any]) -> str:
    if scope is None:
        return ""
    parts = []
    if scope.company_ids:
        parts.append(_in_list("o.company_id", scope.company_ids, params))
    if scope.contact_ids:
        parts.append(f"(o.company_id IS NULL AND {_in_list('o.contact_id', scope.contact_ids, params)})")
    return f" AND ({' OR '.join(parts) or '1 = 0'})"


def stats_select_sql(*, currency: str, refreshed_at: Any, scope: Scope | None) -> tuple[str, list[Any]]:
    """``SELECT`` of the rows of ``CustomerStats`` (columns in ``STATS_COLUMNS`` order) and its parameters.

    - Cancelled and refunded orders are left out, and so are orders in any currency but ``currency``: adding yen and
      dollars would make every figure wrong, and converting needs rates Tokui does not have.
    - Intervals are the days between consecutive distinct order days: two orders on one day are one visit to the
      shop, not a zero-day interval. The median of an even count is the mean of the two middle intervals; the
      predicted next order is the last order day plus the median, rounded half up (in integers, so both databases
      agree).
    - Favourite categories are the three categories of the largest spend (ties by category id), summed in whole
      hundredths as integers: exact, so ties are the same whichever way the sum runs (``stats_arrays`` too).
    - Average and median intervals are one floating-point division of integers, correctly rounded on both
      databases and in ``stats_arrays`` alike.
    """
    order_table = Order._meta.db_table
    line_table = OrderLine._meta.db_table
    product_table = Product._meta.db_table
    params: list[Any] = [*NON_REVENUE_STATUSES, currency]
    scope_sql = _scope_condition(scope, params)
    places = minor_units(currency)
    first_to_last = days_between("c.last_day", "c.first_day")
    gap = days_between("day", "LAG(day) OVER (PARTITION BY ckey ORDER BY day)")
    float_type = "double precision" if connection.vendor == "postgresql" else "REAL"
    predicted = _date_plus_days("c.last_day", "(2 * m.middle_sum / m.middle_n + 1) / 2")
    sql = f"""
WITH eligible AS (
    SELECT o.id AS order_id,
           CASE WHEN o.company_id IS NOT NULL THEN o.company_id ELSE -o.contact_id END AS ckey,
           {_site_day("o.placed_at")} AS day,
           o.total AS total
    FROM {order_table} o
    WHERE o.status NOT IN (%s, %s) AND o.currency = %s{scope_sql}
),
customer_days AS (
    SELECT ckey, day, COUNT(*) AS orders, SUM(total) AS spend FROM eligible GROUP BY ckey, day
),
per_customer AS (
    SELECT ckey, MIN(day) AS first_day, MAX(day) AS last_day, SUM(orders) AS orders, COUNT(*) AS days,
           SUM(spend) AS spend
    FROM customer_days GROUP BY ckey
),
gaps AS (
    SELECT ckey, {gap} AS gap FROM customer_days
),
ranked_gaps AS (
    SELECT ckey, gap, ROW_NUMBER() OVER (PARTITION BY ckey ORDER BY gap) AS rn,
           COUNT(*) OVER (PARTITION BY ckey) AS n
    FROM gaps WHERE gap IS NOT NULL
),
medians AS (
    SELECT ckey, SUM(gap) AS middle_sum, COUNT(*) AS middle_n
    FROM ranked_gaps WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2 GROUP BY ckey
),
category_spend AS (
    SELECT e.ckey, p.category_id, SUM({_hundredths("l.amount")}) AS amount
    FROM eligible e
    JOIN {line_table} l ON l.order_id = e.order_id
    JOIN {product_table} p ON p.id = l.product_id
    WHERE p.category_id IS NOT NULL
    GROUP BY e.ckey, p.category_id
),
category_ranks AS (
    SELECT ckey, category_id,
           ROW_NUMBER() OVER (PARTITION BY ckey ORDER BY amount DESC, category_id) AS rn
    FROM category_spend
),
favourites AS (
    SELECT ckey,
           MAX(CASE WHEN rn = 1 THEN category_id END) AS c1,
           MAX(CASE WHEN rn = 2 THEN category_id END) AS c2,
           MAX(CASE WHEN rn = 3 THEN category_id END) AS c3
    FROM category_ranks WHERE rn <= 3 GROUP BY ckey
)
SELECT CASE WHEN c.ckey > 0 THEN c.ckey END AS company_id,
       CASE WHEN c.ckey < 0 THEN -c.ckey END AS contact_id,
       c.first_day AS first_order_on, c.last_day AS last_order_on, c.orders AS order_count,
       c.days AS order_days, c.spend AS total_spend,
       ROUND(c.spend * 1.0 / c.orders, {places}) AS average_spend,
       CASE WHEN c.days > 1 THEN CAST({first_to_last} AS {float_type}) / (c.days - 1) END AS average_interval_days,
       CAST(m.middle_sum AS {float_type}) / m.middle_n AS median_interval_days,
       CASE WHEN m.ckey IS NOT NULL THEN {predicted} END AS predicted_next_order_on,
       fav.c1 AS favourite_category_1_id, fav.c2 AS favourite_category_2_id, fav.c3 AS favourite_category_3_id,
       %s AS refreshed_at
FROM per_customer c
LEFT JOIN medians m ON m.ckey = c.ckey
LEFT JOIN favourites fav ON fav.ckey = c.ckey
"""
    params.append(refreshed_at)
    return sql, params


def stats_insert_sql(*, currency: str, refreshed_at: Any, scope: Scope | None) -> tuple[str, list[Any]]:
    select, params = stats_select_sql(currency=currency, refreshed_at=refreshed_at, scope=scope)
    columns = ", ".join(STATS_COLUMNS)
    return f"INSERT INTO {CustomerStats._meta.db_table} ({columns}) {select}", params
