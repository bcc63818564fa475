"""Repeat metrics (リピート分析): repeat rate, F2 conversion with the days to the second order, cohort retention by
first-order month (the triangle), and historical LTV by cohort and by the channel of the first order.

A customer is the company of a B2B order, or the contact of a B2C order without a company (as in the sales
analysis). Counted orders only: cancelled and refunded orders and orders in another currency than the shop's are
left out. Months and days are the site's (Asia/Tokyo): an order at 23:30 JST belongs to that JST day.

Two queries feed everything: each customer's revenue and orders per JST month, and each customer's first two
orders (time and channel). The rest is arithmetic on those rows in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, F, Q, Sum, When, Window
from django.db.models.functions import RowNumber, TruncMonth

from tokui.accounts.models import User
from tokui.accounts.selectors import user_sees_all_accounts
from tokui.commerce.enums import NON_REVENUE_STATUSES, OrderChannel
from tokui.commerce.models import Order
from tokui.core.money import default_currency
from tokui.core.time import add_months, local_date, site_zone, start_of_local_day
from tokui.customers.selectors import companies_visible_to

# Days to the second order, as the F2 histogram shows them: (label key, first day, last day or None).
F2_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7),
    ("8-14", 8, 14),
    ("15-30", 15, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-180", 91, 180),
    ("181-365", 181, 365),
    ("366+", 366, None),
)
LTV_MONTHS = (3, 6, 12)

type CustomerKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class CohortRow:
    """Customers whose first order was in ``month``; per month since then, the share who ordered and the
    cumulative revenue per customer (``None`` for months not begun yet; the current month counts so far)."""

    month: dt.date
    customers: int
    retention: list[float | None]
    ltv: list[Decimal | None]
    second_order_within_90_days: int


@dataclass(frozen=True, slots=True)
class ChannelLtv:
    channel: str
    customers: int
    ltv: dict[int, Decimal | None]  # months since the first order → revenue per customer (None: too young)
    to_date: Decimal


@dataclass(slots=True)
class RepeatReport:
    first_month: dt.date
    last_month: dt.date
    months: int
    customers: int = 0
    repeaters: int = 0
    f2_converted: int = 0
    f2_days: list[tuple[str, int]] = field(default_factory=list)
    cohorts: list[CohortRow] = field(default_factory=list)
    channels: list[ChannelLtv] = field(default_factory=list)

    @property
    def repeat_rate(self) -> float | None:
        return self.repeaters / self.customers if self.customers else None

    @property
    def f2_rate(self) -> float | None:
        return self.f2_converted / self.customers if self.customers else None


def _month(value: dt.date | dt.datetime) -> dt.date:
    day = local_date(value) if isinstance(value, dt.datetime) else value
    return day.replace(day=1)


def _months_between(first: dt.date, later: dt.date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


def _counted_orders(*, user: User) -> Q:
    q = ~Q(status__in=NON_REVENUE_STATUSES) & Q(currency=default_currency())
    q &= Q(company__isnull=False) | Q(contact__isnull=False)
    if not user_sees_all_accounts(user=user):
        # A sales rep's customers are their companies (ADR 0004); B2C customers have no rep.
        q &= Q(company__in=companies_visible_to(user=user).values("pk"))
    return q


def _key(company_id: int | None, contact_id: int | None) -> CustomerKey:
    return ("company", company_id) if company_id is not None else ("contact", contact_id or 0)


def repeat_report(*, user: User, first_month: dt.date, last_month: dt.date, today: dt.date) -> RepeatReport:
    """Customers acquired (first order) from ``first_month`` to ``last_month`` (month starts, inclusive), measured
    up to ``today``: repeat rate and F2 among them, cohorts, and LTV by first channel."""
    first_month, last_month = first_month.replace(day=1), last_month.replace(day=1)
    report = RepeatReport(first_month=first_month, last_month=last_month, months=0)
    orders = Order.objects.filter(
        _counted_orders(user=user), placed_at__lt=start_of_local_day(today + dt.timedelta(days=1))
    )

    # The first two orders of every customer (window functions run on PostgreSQL and SQLite alike). A company's
    # orders by any of its buyers are one customer: partition by the company, or by the contact of a B2C order.
    b2c_contact = Case(When(company_id__isnull=True, then=F("contact_id")))
    ranked = orders.annotate(
        position=Window(
            RowNumber(), partition_by=[F("company_id"), b2c_contact], order_by=[F("placed_at").asc(), F("id").asc()]
        )
    ).filter(position__lte=2)
    firsts: dict[CustomerKey, tuple[dt.datetime, str]] = {}
    seconds: dict[CustomerKey, dt.datetime] = {}
    for company_id, contact_id, placed_at, channel, position in ranked.values_list(
        "company_id", "contact_id", "placed_at", "channel", "position"
    ):
        key = _key(company_id, contact_id)
        if position == 1:
            firsts[key] = (placed_at, channel)
        else:
            seconds[key] = placed_at

    # Revenue per customer and JST month.
    monthly: dict[CustomerKey, dict[dt.date, Decimal]] = defaultdict(dict)
    order_counts: dict[CustomerKey, int] = defaultdict(int)
    per_month = (
        orders.annotate(month=TruncMonth("placed_at", tzinfo=site_zone()))
        .values("company_id", "contact_id", "month")
        .annotate(revenue=Sum("total"), count=Count("id"))
    )
    for row in per_month:
        key = _key(row["company_id"], row["contact_id"])
        month = _month(row["month"])
        monthly[key][month] = monthly[key].get(month, Decimal(0)) + row["revenue"]
        order_counts[key] += row["count"]

    today_month = today.replace(day=1)
    report.months = _months_between(first_month, last_month) + 1
    cohort_members: dict[dt.date, list[CustomerKey]] = defaultdict(list)
    f2_buckets = dict.fromkeys((label for label, _low, _high in F2_BUCKETS), 0)
    channel_members: dict[str, list[CustomerKey]] = defaultdict(list)
    for key, (first_at, channel) in firsts.items():
        month = _month(first_at)
        if not first_month <= month <= last_month:
            continue
        cohort_members[month].append(key)
        channel_members[channel].append(key)
        report.customers += 1
        if order_counts[key] >= 2:
            report.repeaters += 1
        if key in seconds:
            report.f2_converted += 1
            days = (local_date(seconds[key]) - local_date(first_at)).days
            for label, low, high in F2_BUCKETS:
                if days >= low and (high is None or days <= high):
                    f2_buckets[label] += 1
                    break
    report.f2_days = list(f2_buckets.items())

    for offset in range(report.months):
        month = add_months(first_month, offset)
        members = cohort_members.get(month, [])
        span = _months_between(month, today_month) + 1  # months since the first order that have begun
        retention: list[float | None] = []
        ltv: list[Decimal | None] = []
        cumulative = Decimal(0)
        for age in range(report.months):
            if age >= span or not members:
                retention.append(None)
                ltv.append(None)
                continue
            at = add_months(month, age)
            active = sum(1 for key in members if at in monthly[key])
            cumulative += sum((monthly[key].get(at, Decimal(0)) for key in members), Decimal(0))
            retention.append(active / len(members))
            ltv.append((cumulative / len(members)).quantize(Decimal("1")))
        within_90 = sum(
            1
            for key in members
            if key in seconds and (local_date(seconds[key]) - local_date(firsts[key][0])).days <= 90
        )
        report.cohorts.append(
            CohortRow(
                month=month, customers=len(members), retention=retention, ltv=ltv, second_order_within_90_days=within_90
            )
        )

    for channel in OrderChannel.values:
        members = channel_members.get(channel, [])
        if not members:
            continue
        ltv_at: dict[int, Decimal | None] = {}
        for months in LTV_MONTHS:
            # Only customers whose first order is at least that many whole months ago count towards it.
            old_enough = [key for key in members if _months_between(_month(firsts[key][0]), today_month) >= months]
            if not old_enough:
                ltv_at[months] = None
                continue
            total = Decimal(0)
            for key in old_enough:
                start = _month(firsts[key][0])
                total += sum(
                    (value for month, value in monthly[key].items() if _months_between(start, month) < months),
                    Decimal(0),
                )
            ltv_at[months] = (total / len(old_enough)).quantize(Decimal("1"))
        to_date = sum((sum(monthly[key].values(), Decimal(0)) for key in members), Decimal(0)) / len(members)
        report.channels.append(
            ChannelLtv(channel=channel, customers=len(members), ltv=ltv_at, to_date=to_date.quantize(Decimal("1")))
        )
    return report
