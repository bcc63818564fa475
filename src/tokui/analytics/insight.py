"""One customer seen through the analysis, for the 顧客カルテ: their stats, RFM ranks and group, and the models'
prediction (still active, orders expected, value of a year, past the usual reorder interval)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tokui.accounts.models import User
from tokui.accounts.selectors import user_sees_all_accounts
from tokui.analytics import clv
from tokui.analytics.enums import CustomerLevel
from tokui.analytics.models import CustomerPrediction, CustomerStats
from tokui.analytics.ranks import group_expression
from tokui.analytics.selectors import ranked_rows, rfm_rules, stats_rows
from tokui.core.time import local_today
from tokui.customers.selectors import companies_visible_to


@dataclass(frozen=True, slots=True)
class CustomerInsight:
    stats: CustomerStats | None
    r: int | None
    f: int | None
    m: int | None
    group: str
    prediction: CustomerPrediction | None


def customer_insight(*, company_id: int | None = None, contact_id: int | None = None) -> CustomerInsight:
    """A company (B2B) or a contact without a company (B2C); ranks use the level's RFM settings and thresholds."""
    level = CustomerLevel.COMPANY if company_id is not None else CustomerLevel.CONTACT
    customer = company_id if company_id is not None else contact_id
    key = "company_id" if level == CustomerLevel.COMPANY else "contact_id"
    stats = (
        CustomerStats.objects.filter(**{key: customer})
        .select_related("favourite_category_1", "favourite_category_2", "favourite_category_3")
        .first()
    )
    prediction = CustomerPrediction.objects.filter(**{key: customer}).first()
    r = f = m = None
    group = ""
    if stats is not None:
        rules = rfm_rules(level=level)
        # Quintile thresholds are taken over every customer of the level, then this one is looked up.
        ranked = ranked_rows(rules=rules, rows=stats_rows(level=level), as_of=local_today())
        row = (
            ranked.annotate(group_index=group_expression(rules))
            .filter(customer=customer)
            .values("r", "f", "m", "group_index")
            .first()
        )
        if row is not None:
            r, f, m = row["r"], row["f"], row["m"]
            index = row["group_index"]
            group = rules.groups[index].name if 0 <= index < len(rules.groups) else ""
    return CustomerInsight(stats=stats, r=r, f=f, m=m, group=group, prediction=prediction)


def predictions_stored(*, user: User, today: dt.date) -> list[clv.CustomerPrediction]:
    """The nightly predictions of the customers ``user`` may see, with their orders and last order from the stats
    (a sales rep: their own companies)."""
    rows = CustomerPrediction.objects.all()
    if not user_sees_all_accounts(user=user):
        rows = rows.filter(company__in=companies_visible_to(user=user).values("pk"))
    stats = {
        (("company", s.company_id) if s.company_id else ("contact", s.contact_id)): s
        for s in CustomerStats.objects.only("company_id", "contact_id", "order_count", "last_order_on")
    }
    found = []
    for row in rows:
        key: clv.CustomerKey = ("company", row.company_id) if row.company_id else ("contact", row.contact_id or 0)
        customer_stats = stats.get(key)
        if customer_stats is None:
            continue
        found.append(
            clv.CustomerPrediction(
                key=key,
                orders=customer_stats.order_count,
                last_order=customer_stats.last_order_on,
                probability_alive=row.probability_alive,
                expected_orders_90_days=row.expected_orders_90_days,
                expected_order_value=float(row.expected_order_value) if row.expected_order_value is not None else None,
                clv_365_days=float(row.clv_365_days) if row.clv_365_days is not None else None,
                usual_interval_days=row.usual_interval_days,
                days_since_last_order=(today - customer_stats.last_order_on).days,
            )
        )
    return found
