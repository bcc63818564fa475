"""KPI goals (目的とKPI): a manager sets the month's goals, the dashboard shows how far each KPI is."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from tests.factories import CompanyFactory, ContactFactory, OrderFactory, UserFactory
from tokui.accounts.enums import Role
from tokui.analytics.kpis import GoalProgress, customer_kpis, goal_progress
from tokui.analytics.models import KpiGoal
from tokui.analytics.services import stats_recompute_all
from tokui.commerce.enums import OrderStatus
from tokui.core.models import AuditLogEntry

pytestmark = pytest.mark.django_db

# Mid-month, so that "minutes ago" is this month whenever the tests run.
MID_MONTH = time_machine.travel(dt.datetime(2026, 11, 15, 3, 0, tzinfo=dt.UTC), tick=False)


@MID_MONTH
def test_a_marketer_sets_goals_and_the_dashboard_shows_progress(client: Client) -> None:
    client.force_login(UserFactory(username="marketer", role=Role.MARKETER))
    month = timezone.localdate().replace(day=1)
    OrderFactory(company=CompanyFactory(), placed_at=timezone.now() - dt.timedelta(minutes=5), total=Decimal(30000))

    response = client.post(
        "/analysis/goals/", {"month": f"{month:%Y-%m}", "revenue": "60000", "dormant_companies": "5"}
    )
    assert response.status_code == 302
    assert dict(KpiGoal.objects.filter(month=month).values_list("kpi", "target")) == {
        "revenue": Decimal(60000),
        "dormant_companies": Decimal(5),
    }
    assert AuditLogEntry.objects.filter(target_type="analytics.KpiGoal").count() == 2

    dashboard = client.get("/").content.decode()
    assert "目標 60000 · 達成率 50.0%" in dashboard
    assert "目標 5 · 達成率 100.0%" in dashboard  # no dormant company: under the goal

    client.post("/analysis/goals/", {"month": f"{month:%Y-%m}", "revenue": "", "dormant_companies": "5"})
    assert list(KpiGoal.objects.values_list("kpi", flat=True)) == ["dormant_companies"]


def test_a_negative_goal_is_refused_in_japanese_and_nothing_changes(client: Client) -> None:
    client.force_login(UserFactory(username="marketer", role=Role.MARKETER))
    response = client.post("/analysis/goals/", {"month": "2026-12", "orders": "-3"})
    assert response.status_code == 400
    assert "0 以上" in response.content.decode() or "0以上" in response.content.decode()
    assert not KpiGoal.objects.exists()


def test_viewers_see_goals_but_cannot_set_them(client: Client) -> None:
    client.force_login(UserFactory(username="viewer", role=Role.VIEWER))
    assert "disabled" in client.get("/analysis/goals/").content.decode()
    assert client.post("/analysis/goals/", {"month": "2026-12", "orders": "3"}).status_code == 403


def test_progress_for_higher_and_lower_is_better() -> None:
    goals = {"orders": Decimal(200), "abandoned_carts": Decimal(10)}
    assert goal_progress(values={"orders": 150, "abandoned_carts": 20}, goals=goals) == {
        "orders": GoalProgress(target=Decimal(200), progress=Decimal("75.0"), met=False),
        "abandoned_carts": GoalProgress(target=Decimal(10), progress=Decimal("50.0"), met=False),
    }
    assert goal_progress(values={"orders": 250, "abandoned_carts": 4}, goals=goals)["abandoned_carts"].met


@MID_MONTH
def test_repeat_rate_and_dormant_companies_on_hand_made_customers() -> None:
    owner = UserFactory(username="owner", role=Role.ADMIN)
    now = timezone.now()
    regular, new, sleeping = CompanyFactory(), CompanyFactory(), CompanyFactory()
    OrderFactory(company=regular, placed_at=now - dt.timedelta(days=70))
    OrderFactory(company=regular, placed_at=now - dt.timedelta(minutes=10))
    OrderFactory(company=new, placed_at=now - dt.timedelta(minutes=5))
    OrderFactory(company=sleeping, placed_at=now - dt.timedelta(days=400))
    OrderFactory(company=None, contact=ContactFactory(company=None), placed_at=now - dt.timedelta(minutes=1))
    shopper = ContactFactory(company=None)  # a B2C customer who comes back
    OrderFactory(company=None, contact=shopper, placed_at=now - dt.timedelta(days=90))
    OrderFactory(company=None, contact=shopper, placed_at=now - dt.timedelta(minutes=2))
    cancelled_before = CompanyFactory()  # its only earlier order was cancelled: new this month
    OrderFactory(company=cancelled_before, placed_at=now - dt.timedelta(days=60), status=OrderStatus.CANCELLED)
    OrderFactory(company=cancelled_before, placed_at=now - dt.timedelta(minutes=3))

    stats_recompute_all(now=now)  # the dormant count reads the stats, which the fact consumer keeps current
    kpis = customer_kpis(user=owner, now=now)
    assert kpis.repeat_rate == Decimal("40.0")  # 2 of 5 buying customers this month had ordered before
    assert kpis.dormant_companies == 1
