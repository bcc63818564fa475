"""One customer seen through the analysis, for the 顧客カルテ: their stats, RFM ranks and group, and the models'
prediction (still active, orders expected, value of a year, past the usual reorder interval)."""

from __future__ import annotations

from dataclasses import dataclass

from tokui.analytics.enums import CustomerLevel
from tokui.analytics.models import CustomerPrediction, CustomerStats
from tokui.analytics.ranks import group_expression
from tokui.analytics.selectors import ranked_rows, rfm_rules, stats_rows
from tokui.core.time import local_today


@dataclass(frozen=True, slots=True)
class CustomerInsight:
    stats: CustomerStats | None
    r: int | None
    f: int | None
    m: int | None
    group: str
    prediction: CustomerPrediction | None

    @property
    def overdue(self) -> bool:
        """発注遅延予備軍 as of today, from the stats kept current as orders arrive (as the prediction page's list
        reads it, ADR 0050): an order placed since last night's predictions takes the flag off at once."""
        stats = self.stats
        if stats is None or stats.median_interval_days is None:
            return False
        return stats.days_since_last_order > stats.median_interval_days


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
