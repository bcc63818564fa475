"""Reads of the per-customer stats and the RFM analysis. Ranks are computed when read (see ``ranks``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, Count, F, Max, QuerySet, Sum, When
from django.db.models.functions import TruncDate
from django.utils.translation import gettext as _

from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.accounts.selectors import user_sees_all_accounts
from tokui.analytics.basket import BoughtTogether
from tokui.analytics.enums import CustomerLevel
from tokui.analytics.models import (
    BasketPartner,
    BasketPartnerBuild,
    CustomerStats,
    PredictionCalibration,
    RfmSettings,
    RfmSnapshot,
    StatsRecompute,
)
from tokui.analytics.ranks import group_expression, rank_expressions, thresholds_resolve
from tokui.analytics.rfm_defaults import default_rules
from tokui.analytics.types import RfmCell, RfmGrid, RfmGroupDef, RfmMovement, RfmRules
from tokui.commerce.enums import NON_REVENUE_STATUSES
from tokui.commerce.models import Order
from tokui.core.lookups import in_ids_sql
from tokui.core.money import default_currency
from tokui.core.time import add_months, local_today, site_zone, start_of_local_day
from tokui.customers.selectors import companies_visible_to, contacts_visible_to

RANKS = (5, 4, 3, 2, 1)


def user_edits_rfm_settings(*, user: User) -> bool:
    """Boundaries and groups change every report and segment built on them: administrators and marketers only."""
    return bool(user.is_active and (user.is_superuser or user.role in (Role.ADMIN, Role.MARKETER)))


def rfm_settings_get(*, level: str) -> RfmSettings | None:
    return RfmSettings.objects.filter(level=level).prefetch_related("groups").first()


def rfm_rules(*, level: str) -> RfmRules:
    """The boundaries and groups of ``level``: the saved ones, else the defaults."""
    stored = rfm_settings_get(level=level)
    if stored is None:
        return default_rules(level)
    return RfmRules(
        level=level,
        recency_method=stored.recency_method,
        recency_bounds=tuple(int(v) for v in stored.recency_bounds),
        frequency_method=stored.frequency_method,
        frequency_bounds=tuple(int(v) for v in stored.frequency_bounds),
        monetary_method=stored.monetary_method,
        monetary_bounds=tuple(Decimal(str(v)) for v in stored.monetary_bounds),
        groups=tuple(
            RfmGroupDef(id=group.pk, name=group.name, cells=frozenset((int(r), int(f)) for r, f in group.cells))
            for group in stored.groups.all()
        ),
    )


def customer_stats_of_company(*, company_id: int) -> CustomerStats | None:
    return CustomerStats.objects.filter(company_id=company_id).first()


def customer_stats_of_contact(*, contact_id: int) -> CustomerStats | None:
    return CustomerStats.objects.filter(contact_id=contact_id).first()


def stats_last_recompute() -> StatsRecompute | None:
    return StatsRecompute.objects.order_by("-finished_at").first()


# --- Rows to rank: the maintained stats (today), or the orders up to a past day (snapshots of past months) --------


def stats_rows(*, level: str) -> QuerySet[CustomerStats]:
    """The stats of one level as rows with ``customer``, ``last``, ``n`` and ``spend``."""
    key = "company_id" if level == CustomerLevel.COMPANY else "contact_id"
    return CustomerStats.objects.filter(**{f"{key}__isnull": False}).annotate(
        customer=F(key), last=F("last_order_on"), n=F("order_count"), spend=F("total_spend")
    )


def order_rows_as_of(*, level: str, as_of: dt.date) -> QuerySet[Any]:
    """What ``stats_rows`` would have been at the end of ``as_of``, computed from the orders (same rules)."""
    orders = Order.objects.filter(
        placed_at__lt=start_of_local_day(as_of + dt.timedelta(days=1)), currency=default_currency()
    ).exclude(status__in=NON_REVENUE_STATUSES)
    if level == CustomerLevel.COMPANY:
        orders, key = orders.filter(company_id__isnull=False), "company_id"
    else:
        orders, key = orders.filter(company_id__isnull=True), "contact_id"
    return (
        orders.values(customer=F(key))
        .annotate(last=Max(TruncDate("placed_at", tzinfo=site_zone())), n=Count("id"), spend=Sum("total"))
        .order_by()
    )


def ranked_rows(*, rules: RfmRules, rows: QuerySet[Any], as_of: dt.date) -> QuerySet[Any]:
    """``rows`` with their ``r``, ``f`` and ``m`` ranks (quintiles taken over all of ``rows``)."""
    thresholds = thresholds_resolve(rules=rules, as_of=as_of, rows=rows, last="last", count="n", spend="spend")
    ranked: QuerySet[Any] = rows.annotate(
        **rank_expressions(thresholds=thresholds, last="last", count="n", spend="spend")
    )
    return ranked


def _visible(rows: QuerySet[Any], *, level: str, user: User | None, field: str = "customer") -> QuerySet[Any]:
    """Only the customers ``user`` may see (a sales rep: their own companies and those companies' contacts)."""
    if user is None or user_sees_all_accounts(user=user):
        return rows
    visible = companies_visible_to(user=user) if level == CustomerLevel.COMPANY else contacts_visible_to(user=user)
    return rows.filter(**{f"{field}__in": visible.values("pk")})


# --- The R×F grid, a group's customers, movement between months -------------------------------------------------


def rfm_grid(*, level: str, user: User | None = None, as_of: dt.date | None = None) -> RfmGrid:
    """Customers and their total spend per R×F cell, with each cell's share and group, and per group."""
    as_of = as_of or local_today()
    rules = rfm_rules(level=level)
    ranked = _visible(ranked_rows(rules=rules, rows=stats_rows(level=level), as_of=as_of), level=level, user=user)
    counts = {
        (row["r"], row["f"]): (row["customers"], row["revenue"] or Decimal(0))
        for row in ranked.values("r", "f").annotate(customers=Count("pk"), revenue=Sum("spend")).order_by()
    }
    total_customers = sum(count for count, _revenue in counts.values())
    total_revenue = sum((revenue for _count, revenue in counts.values()), Decimal(0))
    group_of = {cell: group.name for group in rules.groups for cell in group.cells}
    rows = [
        [
            RfmCell(
                r=r,
                f=f,
                customers=counts.get((r, f), (0, Decimal(0)))[0],
                revenue=Decimal(counts.get((r, f), (0, Decimal(0)))[1]),
                customer_share=counts.get((r, f), (0, 0))[0] / total_customers if total_customers else 0.0,
                revenue_share=float(Decimal(counts.get((r, f), (0, Decimal(0)))[1]) / total_revenue)
                if total_revenue
                else 0.0,
                group=group_of.get((r, f), ""),
            )
            for f in reversed(RANKS)
        ]
        for r in RANKS
    ]
    groups: list[tuple[str, int, Decimal]] = []
    for group in [*rules.groups, RfmGroupDef(name="", cells=frozenset())]:
        cells = [cell for row in rows for cell in row if cell.group == group.name]
        groups.append((group.name, sum(c.customers for c in cells), sum((c.revenue for c in cells), Decimal(0))))
    return RfmGrid(
        level=level,
        as_of=as_of,
        rows=rows,
        customers=total_customers,
        revenue=total_revenue,
        groups=groups,
    )


def rfm_customer_ids(
    *,
    level: str,
    group: str | None = None,
    r: int | None = None,
    f: int | None = None,
    user: User | None = None,
    as_of: dt.date | None = None,
) -> QuerySet[Any]:
    """The ids (company ids, or contact ids for B2C) of the customers in a group or an R×F cell, as a lazy query.

    Use it as a subquery (``Company.objects.filter(pk__in=rfm_customer_ids(...))``); segments build on it. An unknown
    group matches nobody.
    """
    as_of = as_of or local_today()
    rules = rfm_rules(level=level)
    rows = _visible(ranked_rows(rules=rules, rows=stats_rows(level=level), as_of=as_of), level=level, user=user)
    if r is not None:
        rows = rows.filter(r=r)
    if f is not None:
        rows = rows.filter(f=f)
    if group is not None:
        index = next((i for i, g in enumerate(rules.groups) if g.name == group), None)
        rows = rows.annotate(group_index=group_expression(rules)).filter(group_index=-2 if index is None else index)
    return rows.values_list("customer", flat=True)


def rfm_moved_customer_ids(
    *,
    level: str,
    from_group: str,
    to_group: str,
    to_month: dt.date | None = None,
    user: User | None = None,
) -> QuerySet[Any]:
    """The ids of the customers in ``from_group`` last month and in ``to_group`` this month (who slipped from 優良 to
    離脱懸念), from the monthly snapshots; ``""`` names "in no group". A lazy query, like ``rfm_customer_ids``."""
    to_month = (to_month or local_today()).replace(day=1)
    rules = rfm_rules(level=level)
    names = [group.name for group in rules.groups]

    def index(name: str) -> int:
        return -1 if name == "" else names.index(name) if name in names else -2

    snapshots = RfmSnapshot.objects.filter(level=level).annotate(group_index=group_expression(rules))
    before = snapshots.filter(month=add_months(to_month, -1), group_index=index(from_group)).values("customer_id")
    moved = snapshots.filter(month=to_month, group_index=index(to_group), customer_id__in=before)
    return _visible(moved, level=level, user=user, field="customer_id").values_list("customer_id", flat=True)


def rfm_snapshot_months(*, level: str) -> list[dt.date]:
    return list(RfmSnapshot.objects.filter(level=level).values_list("month", flat=True).distinct().order_by("-month"))


def rfm_movement(*, level: str, to_month: dt.date | None = None, user: User | None = None) -> RfmMovement:
    """How many customers moved from each group last month to each group this month (from the monthly snapshots)."""
    to_month = (to_month or local_today()).replace(day=1)
    from_month = add_months(to_month, -1)
    rules = rfm_rules(level=level)
    snapshots = _visible(
        RfmSnapshot.objects.filter(level=level, month__in=[from_month, to_month]),
        level=level,
        user=user,
        field="customer_id",
    )
    expression = group_expression(rules)
    pairs = (
        snapshots.values("customer_id")
        .annotate(
            from_group=Max(Case(When(month=from_month, then=expression))),
            to_group=Max(Case(When(month=to_month, then=expression))),
        )
        .order_by()
    )
    inner, params = pairs.query.sql_with_params()
    quote = connection.ops.quote_name
    sql = (
        f"SELECT sub.{quote('from_group')}, sub.{quote('to_group')}, COUNT(*) FROM ({inner}) sub"
        f" GROUP BY sub.{quote('from_group')}, sub.{quote('to_group')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # Rows and columns: each group, then "in no group" (-1), then "not a customer that month" (None).
    keys: list[int | None] = [*range(len(rules.groups)), -1, None]
    labels = [group.name for group in rules.groups] + [_("No group"), _("No orders yet")]
    position = {key: index for index, key in enumerate(keys)}
    matrix = [[0] * len(keys) for _key in keys]
    for from_index, to_index, count in rows:
        matrix[position.get(from_index, len(keys) - 2)][position.get(to_index, len(keys) - 2)] += count
    return RfmMovement(level=level, from_month=from_month, to_month=to_month, labels=labels, matrix=matrix)


def user_sets_goals(*, user: User) -> bool:
    """The month's KPI goals are the managers' (目的とKPI): administrators and marketers."""
    return user_edits_rfm_settings(user=user)


def product_partners(*, product_ids: Sequence[int], limit: int = 5) -> dict[int, list[BoughtTogether]]:
    """「よく一緒に購入されている商品」 of each product, most often first, from the last nightly build (index reads).

    The window is the build's (the last year of orders); a product without partners is left out of the result.
    For another window, ``analytics.basket.products_bought_together`` counts from the orders.
    """
    # Hand-written SQL: the queryset cost 0.96 ms a call in Python for 0.14 ms of query, and mails with
    # recommendations call this for every recipient.
    matching, params = in_ids_sql("product_id", product_ids)
    found: dict[int, list[BoughtTogether]] = {}
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT product_id, partner_id, orders_together, confidence, lift"
            f" FROM {quote(BasketPartner._meta.db_table)}"
            f" WHERE {matching} AND {quote('rank')} <= %s ORDER BY product_id, {quote('rank')}",
            [*params, limit],
        )
        rows = cursor.fetchall()
    for product_id, partner_id, together, confidence, lift in rows:
        found.setdefault(product_id, []).append(
            BoughtTogether(product_id=partner_id, orders_together=together, confidence=confidence, lift=lift)
        )
    return found


def basket_partners_built() -> BasketPartnerBuild | None:
    """The last build of the partners (its window and size), or None before the first nightly run."""
    return BasketPartnerBuild.objects.order_by("-built_at").first()


def prediction_calibration_latest() -> PredictionCalibration | None:
    """The last stored check of the reorder model against its hold-out period."""
    return PredictionCalibration.objects.order_by("-computed_on", "-pk").first()
