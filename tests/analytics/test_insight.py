"""The 顧客カルテ shows the customer's analysis: RFM ranks and group, usual interval, next order, predictions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import CompanyFactory, OrderFactory, UserFactory
from tokui.accounts.enums import Role
from tokui.analytics.insight import customer_insight
from tokui.analytics.models import CustomerPrediction, CustomerStats
from tokui.analytics.services import predictions_store, stats_recompute_all, stats_refresh
from tokui.customers.models import Company, Contact
from tokui.demo.generator import load_demo_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo() -> None:
    load_demo_data(seed=7, scale=0.1)
    stats_recompute_all()
    predictions_store(today=timezone.localdate())


def test_predictions_are_stored_for_every_customer_with_orders(demo: None) -> None:
    assert CustomerPrediction.objects.count() == CustomerStats.objects.count() > 0
    assert (
        CustomerPrediction.objects.filter(probability_alive__isnull=False).count() == CustomerPrediction.objects.count()
    )
    overdue = CustomerPrediction.objects.filter(overdue=True).select_related("company").first()
    assert overdue is not None  # the demo has companies slipping into dormancy


def test_the_company_page_shows_rfm_and_prediction(demo: None, client: Client) -> None:
    client.force_login(UserFactory(username="marketer", role=Role.MARKETER))
    company = Company.objects.filter(prediction__overdue=True).first()
    assert company is not None
    insight = customer_insight(company_id=company.pk)
    assert insight.stats is not None and insight.r is not None and insight.group
    page = client.get(f"/companies/{company.pk}/").content.decode()
    assert 'data-testid="customer-insight"' in page
    assert f"R{insight.r} F{insight.f} M{insight.m}" in page
    assert insight.group in page
    assert 'data-testid="overdue"' in page


def test_an_order_since_the_nightly_run_takes_the_overdue_badge_off_at_once(demo: None, client: Client) -> None:
    client.force_login(UserFactory(username="marketer", role=Role.MARKETER))
    company = Company.objects.filter(prediction__overdue=True).first()
    assert company is not None and customer_insight(company_id=company.pk).overdue
    OrderFactory(company=company, placed_at=timezone.now() - dt.timedelta(minutes=5), total=Decimal(8000))
    stats_refresh(company_ids=[company.pk])  # what the fact consumer does when the order arrives

    assert CustomerPrediction.objects.get(company=company).overdue  # last night's flag
    assert not customer_insight(company_id=company.pk).overdue
    assert 'data-testid="overdue"' not in client.get(f"/companies/{company.pk}/").content.decode()


def test_an_individual_customer_page_shows_their_own_analysis(demo: None, client: Client) -> None:
    client.force_login(UserFactory(username="marketer", role=Role.MARKETER))
    person = Contact.objects.filter(company__isnull=True, prediction__isnull=False).first()
    assert person is not None
    page = client.get(f"/contacts/{person.pk}/").content.decode()
    assert 'data-testid="customer-insight"' in page
    member = Contact.objects.filter(company__isnull=False).first()
    assert member is not None
    assert 'data-testid="customer-insight"' not in client.get(f"/contacts/{member.pk}/").content.decode()


def test_a_customer_without_orders_says_so(client: Client) -> None:
    company = CompanyFactory()
    insight = customer_insight(company_id=company.pk)
    assert insight.stats is None and insight.prediction is None and insight.r is None
    client.force_login(UserFactory(username="marketer", role=Role.MARKETER))
    assert "まだ集計対象の注文がない" in client.get(f"/companies/{company.pk}/").content.decode()


def test_the_prediction_page_lists_the_stored_overdue_customers_a_rep_only_theirs(demo: None, client: Client) -> None:
    overdue = Company.objects.filter(prediction__overdue=True).exclude(assigned_rep=None).first()
    assert overdue is not None and overdue.assigned_rep is not None
    client.force_login(overdue.assigned_rep)
    page = client.get("/analysis/repeat/prediction/").content.decode()
    assert overdue.name in page
    others = Company.objects.filter(prediction__overdue=True).exclude(assigned_rep=overdue.assigned_rep)
    assert all(f'href="/companies/{company.pk}/"' not in page for company in others)


def test_the_prediction_page_shows_the_stored_model_check_and_makes_it_once_when_missing(
    demo: None, client: Client
) -> None:
    from tokui.analytics.models import PredictionCalibration
    from tokui.analytics.services import prediction_calibration_store

    stored = prediction_calibration_store(today=timezone.localdate())
    assert stored is not None and stored.customers > 0 and stored.rows[0]["repeat_purchases"] == "0"
    client.force_login(UserFactory(username="manager", role=Role.MARKETER))
    # What the page shows is what was stored (here made visibly different), not a fit made per view.
    PredictionCalibration.objects.filter(pk=stored.pk).update(actual_total=123456)
    assert 'data-testid="calibration"' in (page := client.get("/analysis/repeat/prediction/").content.decode())
    assert "123456" in page.replace(",", "")

    PredictionCalibration.objects.all().delete()
    client.get("/analysis/repeat/prediction/")
    assert PredictionCalibration.objects.count() == 1
