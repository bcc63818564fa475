"""Repeat metrics checked against a plain count over the same orders, on hand-made customers and the demo data."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest

from tests.analytics.conftest import jst
from tests.factories import CompanyFactory, ContactFactory, OrderFactory, UserFactory
from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.analytics.repeat import repeat_report
from tokui.commerce.enums import NON_REVENUE_STATUSES, OrderStatus
from tokui.commerce.models import Order
from tokui.core.time import site_zone
from tokui.demo.generator import load_demo_data

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def owner(db: None) -> User:
    return UserFactory(username="owner", role=Role.ADMIN)


def order(day: dt.date, *, hour: int = 12, minute: int = 0, total: int = 10000, **fields: object) -> Order:
    return OrderFactory(placed_at=jst(day, hour, minute), total=Decimal(total), **fields)


def test_first_and_second_orders_make_f2_and_cohorts(owner: User) -> None:
    once, twice, same_day = CompanyFactory(), CompanyFactory(), CompanyFactory()
    order(dt.date(2026, 1, 10), company=once)
    order(dt.date(2026, 1, 20), company=twice, total=20000)
    order(dt.date(2026, 3, 5), company=twice, total=5000)
    order(dt.date(2026, 2, 1), company=same_day)
    order(dt.date(2026, 2, 1), hour=18, company=same_day)

    report = repeat_report(user=owner, first_month=dt.date(2026, 1, 1), last_month=dt.date(2026, 3, 1), today=TODAY)

    assert (report.customers, report.repeaters, report.f2_converted) == (3, 2, 2)
    assert dict(report.f2_days)["0-7"] == 1  # the same day
    assert dict(report.f2_days)["31-60"] == 1  # 20 Jan → 5 Mar is 44 days
    january, february, march = report.cohorts
    assert (january.customers, february.customers, march.customers) == (2, 1, 0)
    assert january.retention[:3] == [1.0, 0.0, 0.5]
    assert january.ltv[:3] == [Decimal(15000), Decimal(15000), Decimal(17500)]
    assert february.retention[0] == 1.0 and february.ltv[0] == Decimal(20000)


def test_cancelled_and_foreign_currency_orders_do_not_count(owner: User) -> None:
    buyer = CompanyFactory()
    order(dt.date(2026, 1, 10), company=buyer)
    order(dt.date(2026, 1, 12), company=buyer, status=OrderStatus.CANCELLED)
    order(dt.date(2026, 1, 14), company=buyer, currency="USD")

    report = repeat_report(user=owner, first_month=dt.date(2026, 1, 1), last_month=dt.date(2026, 1, 1), today=TODAY)
    assert (report.customers, report.repeaters, report.f2_converted) == (1, 0, 0)
    assert report.cohorts[0].ltv[0] == Decimal(10000)


def test_an_order_at_2330_jst_belongs_to_that_jst_month(owner: User) -> None:
    order(dt.date(2026, 1, 31), hour=23, minute=30, company=CompanyFactory())  # 14:30 UTC on 31 Jan
    order(dt.date(2026, 2, 1), hour=0, minute=30, company=CompanyFactory())  # 15:30 UTC on 31 Jan

    report = repeat_report(user=owner, first_month=dt.date(2026, 1, 1), last_month=dt.date(2026, 2, 1), today=TODAY)
    assert [cohort.customers for cohort in report.cohorts] == [1, 1]


def test_a_company_is_one_customer_whoever_orders_and_b2c_contacts_count_alone(owner: User) -> None:
    shop = CompanyFactory()
    order(dt.date(2026, 1, 5), company=shop, contact=ContactFactory(company=shop))
    order(dt.date(2026, 1, 25), company=shop, contact=ContactFactory(company=shop))
    individual = ContactFactory(company=None)
    order(dt.date(2026, 1, 7), company=None, contact=individual)

    report = repeat_report(user=owner, first_month=dt.date(2026, 1, 1), last_month=dt.date(2026, 1, 1), today=TODAY)
    assert (report.customers, report.repeaters, report.f2_converted) == (2, 1, 1)
    assert dict(report.f2_days)["15-30"] == 1


def test_months_not_begun_are_left_empty_and_ltv_waits_for_old_enough_customers(owner: User) -> None:
    order(dt.date(2026, 5, 10), company=CompanyFactory(), channel="fax")
    report = repeat_report(user=owner, first_month=dt.date(2026, 5, 1), last_month=dt.date(2026, 6, 1), today=TODAY)
    may = report.cohorts[0]
    assert may.retention == [1.0, 0.0]
    fax = next(row for row in report.channels if row.channel == "fax")
    assert fax.ltv == {3: None, 6: None, 12: None}
    assert fax.to_date == Decimal(10000)


def test_a_sales_rep_sees_only_their_companies(owner: User) -> None:
    rep = UserFactory(username="rep", role=Role.SALES_REP)
    order(dt.date(2026, 1, 5), company=CompanyFactory(assigned_rep=rep))
    order(dt.date(2026, 1, 6), company=CompanyFactory())
    order(dt.date(2026, 1, 7), company=None, contact=ContactFactory(company=None))

    first, last = dt.date(2026, 1, 1), dt.date(2026, 1, 1)
    assert repeat_report(user=rep, first_month=first, last_month=last, today=TODAY).customers == 1
    assert repeat_report(user=owner, first_month=first, last_month=last, today=TODAY).customers == 3


def _reference(today: dt.date) -> tuple[dict[tuple[str, int], list[tuple[dt.datetime, Decimal]]], dt.tzinfo]:
    zone = site_zone()
    orders: dict[tuple[str, int], list[tuple[dt.datetime, Decimal]]] = defaultdict(list)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    for company_id, contact_id, placed_at, total, status, currency in Order.objects.values_list(
        "company_id", "contact_id", "placed_at", "total", "status", "currency"
    ):
        if status in NON_REVENUE_STATUSES or currency != "JPY" or placed_at >= end:
            continue
        key = ("company", company_id) if company_id else ("contact", contact_id)
        orders[key].append((placed_at.astimezone(zone), total))
    for rows in orders.values():
        rows.sort()
    return orders, zone


def test_cohorts_on_the_demo_data_match_a_count_customer_by_customer(owner: User) -> None:
    load_demo_data(seed=7, scale=0.05)
    today = dt.date.today()
    first = dt.date(today.year - 1, today.month, 1)
    report = repeat_report(user=owner, first_month=first, last_month=today.replace(day=1), today=today)
    orders, _zone = _reference(today)

    def month_index(at: dt.datetime) -> int:
        return at.year * 12 + at.month - 1

    cohort = defaultdict(list)
    for key, rows in orders.items():
        cohort[rows[0][0].date().replace(day=1)].append(key)
    acquired = [key for month, keys in cohort.items() if first <= month for key in keys]
    assert report.customers == len(acquired) > 0
    assert report.repeaters == sum(1 for key in acquired if len(orders[key]) >= 2)
    assert report.f2_converted == report.repeaters
    for row in report.cohorts:
        members = cohort.get(row.month, [])
        assert row.customers == len(members)
        for age, share in enumerate(row.retention):
            if share is None:
                continue
            target = month_index(dt.datetime(row.month.year, row.month.month, 1)) + age
            active = sum(1 for key in members if any(month_index(at) == target for at, _ in orders[key]))
            assert share == pytest.approx(active / len(members)), (row.month, age)
            revenue = sum(total for key in members for at, total in orders[key] if month_index(at) <= target) / len(
                members
            )
            assert row.ltv[age] == revenue.quantize(Decimal("1")), (row.month, age)
