"""The prediction screen's lists read by the database match the lists worked out in Python from the models fitted
now, and the overdue list follows the orders placed since the nightly run (it reads the stats kept current)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import OrderFactory, UserFactory
from tokui.accounts.enums import Role
from tokui.analytics import prediction_views
from tokui.analytics.clv import CustomerPrediction, customer_predictions
from tokui.analytics.enums import OverdueOrder
from tokui.analytics.models import CustomerPrediction as StoredPrediction
from tokui.analytics.models import CustomerStats
from tokui.analytics.prediction_lists import prediction_lists
from tokui.analytics.services import predictions_store, stats_recompute_all, stats_refresh
from tokui.customers.models import Company, Contact
from tokui.demo.generator import load_demo_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def today() -> dt.date:
    load_demo_data(seed=11, scale=0.1)
    stats_recompute_all()
    today = timezone.localdate()
    predictions_store(today=today)
    return today


def _overdue_by(p: CustomerPrediction) -> float:
    return p.days_since_last_order - (p.usual_interval_days or 0)


def _same(got: CustomerPrediction, expected: CustomerPrediction) -> None:
    assert (got.key, got.last_order, got.days_since_last_order) == (
        expected.key,
        expected.last_order,
        expected.days_since_last_order,
    )
    # The lists show the customer's orders; the models count their days with an order.
    kind, pk = got.key
    assert got.orders == CustomerStats.objects.get(**{f"{kind}_id": pk}).order_count >= expected.orders
    assert got.usual_interval_days == pytest.approx(expected.usual_interval_days)
    assert got.probability_alive == pytest.approx(expected.probability_alive)
    assert got.expected_orders_90_days == pytest.approx(expected.expected_orders_90_days)
    # Stored as money: rounded to the currency's places (none for yen).
    assert got.clv_365_days == pytest.approx(expected.clv_365_days, abs=0.5)


def test_the_lists_match_the_predictions_worked_out_in_python(today: dt.date) -> None:
    owner = UserFactory(username="owner", role=Role.ADMIN)
    fitted = {p.key: p for p in customer_predictions(today=today)}
    orders = {
        (("company", c) if c else ("contact", k)): n
        for c, k, n in CustomerStats.objects.values_list("company_id", "contact_id", "order_count")
    }
    # By default those just past their interval come first (then more orders); the other order is the reverse.
    expected_overdue = sorted((p for p in fitted.values() if p.overdue), key=lambda p: (_overdue_by(p), -orders[p.key]))
    longest_first = sorted((p for p in fitted.values() if p.overdue), key=lambda p: (-_overdue_by(p), -orders[p.key]))

    every = prediction_lists(user=owner, today=today, overdue_limit=None, valuable_limit=20)
    assert every is not None and every.model_ready
    assert every.overdue_total == len(expected_overdue) == len(every.overdue) > 20
    assert {p.key for p in every.overdue} == {p.key for p in expected_overdue}
    assert [(_overdue_by(p), -p.orders) for p in every.overdue] == [
        (_overdue_by(p), -orders[p.key]) for p in expected_overdue
    ]
    for got in every.overdue:
        _same(got, fitted[got.key])
    longest = prediction_lists(
        user=owner, today=today, overdue_limit=None, valuable_limit=20, overdue_order=OverdueOrder.LONGEST_PAST
    )
    assert longest is not None and longest.overdue_total == every.overdue_total
    assert [(-_overdue_by(p), -p.orders) for p in longest.overdue] == [
        (-_overdue_by(p), -orders[p.key]) for p in longest_first
    ]
    assert _overdue_by(longest.overdue[0]) > _overdue_by(every.overdue[0])

    shown = prediction_lists(user=owner, today=today, overdue_limit=5, valuable_limit=20)
    assert shown is not None
    assert shown.overdue_total == len(expected_overdue)
    assert [p.key for p in shown.overdue] == [p.key for p in every.overdue[:5]]

    values = sorted((p.clv_365_days or 0 for p in fitted.values() if p.clv_365_days is not None), reverse=True)
    assert [p.clv_365_days for p in every.valuable] == pytest.approx(values[:20], abs=0.5)
    for got in every.valuable:
        _same(got, fitted[got.key])


def test_a_rep_sees_only_their_companies_in_both_lists(today: dt.date) -> None:
    rep_company = Company.objects.filter(prediction__overdue=True).exclude(assigned_rep=None).first()
    assert rep_company is not None and rep_company.assigned_rep is not None
    rep = rep_company.assigned_rep
    mine = set(Company.objects.filter(assigned_rep=rep).values_list("pk", flat=True))
    lists = prediction_lists(user=rep, today=today, overdue_limit=None, valuable_limit=20)
    assert lists is not None
    assert ("company", rep_company.pk) in {p.key for p in lists.overdue}
    assert lists.overdue_total == StoredPrediction.objects.filter(overdue=True, company__assigned_rep=rep).count()
    assert lists.valuable and all(p.key[0] == "company" and p.key[1] in mine for p in lists.overdue + lists.valuable)


def test_an_order_placed_since_the_nightly_run_takes_its_customer_off_the_overdue_list(today: dt.date) -> None:
    owner = UserFactory(username="owner", role=Role.ADMIN)
    before = prediction_lists(user=owner, today=today, overdue_limit=None, valuable_limit=20)
    assert before is not None
    kind, pk = next(p.key for p in before.overdue if p.key[0] == "company")
    OrderFactory(company_id=pk, placed_at=timezone.now() - dt.timedelta(minutes=5), total=Decimal(5000))
    stats_refresh(company_ids=[pk])  # what the fact consumer does when the order arrives

    after = prediction_lists(user=owner, today=today, overdue_limit=None, valuable_limit=20)
    assert after is not None
    assert (kind, pk) not in {p.key for p in after.overdue}
    assert after.overdue_total == before.overdue_total - 1


def test_the_csv_export_lists_every_overdue_customer_by_name_in_the_order_asked(
    today: dt.date, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = UserFactory(username="owner", role=Role.ADMIN)
    lists = prediction_lists(
        user=owner, today=today, overdue_limit=None, valuable_limit=20, overdue_order=OverdueOrder.LONGEST_PAST
    )
    monkeypatch.setattr(prediction_views, "ROWS_SHOWN", 5)
    assert lists is not None and lists.overdue_total > 5  # more than the page shows
    client.force_login(owner)
    response = client.get("/analysis/repeat/prediction/?export=csv&order=longest_past")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 1 + lists.overdue_total
    names = {("company", pk): name for pk, name in Company.objects.values_list("pk", "name")}
    names |= {("contact", pk): name for pk, name in Contact.objects.values_list("pk", "name")}
    assert [row[0] for row in rows[1:]] == [names[p.key] for p in lists.overdue]
    assert [int(row[4]) for row in rows[1:]] == [p.days_since_last_order for p in lists.overdue]


def test_the_page_lists_those_just_past_their_interval_first_and_rejects_an_unknown_order(
    today: dt.date, client: Client
) -> None:
    client.force_login(UserFactory(username="owner", role=Role.ADMIN))
    page = client.get("/analysis/repeat/prediction/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "超過日数の少ない順" in body and 'value="longest_past"' in body
    assert "export=csv&amp;order=just_past" in body

    wrong = client.get("/analysis/repeat/prediction/", {"order": "by-magic"})
    assert wrong.status_code == 400
    assert "並べ替えは一覧から選んでください。" in wrong.content.decode()
    export = client.get("/analysis/repeat/prediction/", {"order": "by-magic", "export": "csv"})
    assert export.status_code == 400 and "並べ替え" in export.content.decode()


def test_a_half_day_interval_is_shown_as_it_is_not_rounded_to_zero_days_past(client: Client) -> None:
    company = Company.objects.create(name="株式会社半日商事")
    now = timezone.now()
    for days_ago in (29, 20, 10):  # gaps of 9 and 10 days: a usual interval of 9.5
        OrderFactory(company=company, placed_at=now - dt.timedelta(days=days_ago), total=Decimal(10000))
    stats_refresh(company_ids=[company.pk])
    client.force_login(UserFactory(username="owner", role=Role.ADMIN))

    page = client.get("/analysis/repeat/prediction/").content.decode()
    row = page[page.index("株式会社半日商事") :].split("</tr>")[0]
    assert ">9.5日<" in row and ">0.5日<" in row
