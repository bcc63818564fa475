"""The RFM screens: the grid and movement, the cell links into the customer lists, the settings form, and scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import CompanyFactory, ContactFactory, UserFactory
from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.analytics.enums import CustomerLevel
from tokui.analytics.selectors import rfm_rules
from tokui.analytics.services import rfm_snapshots_take, stats_recompute_all
from tokui.commerce.models import Order
from tokui.core.time import local_today

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep() -> User:
    return UserFactory(username="rep", role=Role.SALES_REP)


@pytest.fixture
def accounts(order_on: Callable[..., Order], rep: User) -> dict[str, object]:
    """A recent new customer of the rep, a dormant customer of nobody, and an individual (B2C) customer."""
    today = local_today()
    mine = CompanyFactory(name="自分の取引先", assigned_rep=rep)
    other = CompanyFactory(name="他の取引先")
    individual = ContactFactory(company=None, name="個人 太郎")
    order_on(today - dt.timedelta(days=3), company=mine, total=50000)
    order_on(today - dt.timedelta(days=400), company=other, total=80000)
    order_on(today - dt.timedelta(days=10), company=None, contact=individual, total=9000)
    stats_recompute_all()
    return {"mine": mine, "other": other, "individual": individual}


def test_grid_shows_counts_revenue_and_links_each_cell_to_its_customers(
    marketer_client: Client, accounts: dict[str, object]
) -> None:
    response = marketer_client.get(reverse("analytics:rfm"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "R×Fグリッド" in html
    assert 'data-cell="R5F1"' in html and "?rfm_r=5&amp;rfm_f=1" in html
    assert "¥50,000" in html and "¥80,000" in html
    assert response.context["grid"].customers == 2

    listed = marketer_client.get(reverse("web:company_list"), {"rfm_r": 5, "rfm_f": 1})
    assert [company.name for company, _summary in listed.context["rows"]] == ["自分の取引先"]
    assert "RFMセル：R5×F1" in listed.content.decode()
    dormant = marketer_client.get(reverse("web:company_list"), {"rfm_group": "休眠"})
    assert [company.name for company, _summary in dormant.context["rows"]] == ["他の取引先"]


def test_b2c_grid_counts_individuals_and_links_to_the_individual_list(
    marketer_client: Client, accounts: dict[str, object]
) -> None:
    response = marketer_client.get(reverse("analytics:rfm"), {"level": CustomerLevel.CONTACT})
    assert response.context["grid"].customers == 1
    assert reverse("web:contact_list") + "?rfm_r=5" in response.content.decode()
    listed = marketer_client.get(reverse("web:contact_list"), {"rfm_group": "新規"})
    assert [contact.name for contact, _summary in listed.context["rows"]] == ["個人 太郎"]


def test_a_sales_rep_sees_only_their_own_accounts(client: Client, rep: User, accounts: dict[str, object]) -> None:
    client.force_login(rep)
    response = client.get(reverse("analytics:rfm"))
    assert response.context["grid"].customers == 1
    assert "¥80,000" not in response.content.decode()
    listed = client.get(reverse("web:company_list"), {"rfm_group": "休眠"})
    assert list(listed.context["rows"]) == []
    assert client.get(reverse("analytics:rfm_settings")).status_code == 403


def test_settings_form_saves_and_shows_japanese_errors(marketer_client: Client) -> None:
    url = reverse("analytics:rfm_settings")
    form = marketer_client.get(url).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update({"level": "company", "recency_bounds": "30, 90, 60, 180"})
    response = marketer_client.post(url, data)
    assert response.status_code == 400
    assert "昇順" in response.content.decode()

    data.update({"recency_bounds": "14、30、60、120", "group_5": "VIP", "cell_5_5": "5"})
    response = marketer_client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    rules = rfm_rules(level=CustomerLevel.COMPANY)
    assert rules.recency_bounds == (14, 30, 60, 120)
    assert [g.name for g in rules.groups][-1] == "VIP" and (5, 5) in rules.groups[-1].cells
    assert (5, 5) not in rules.groups[1].cells

    data.update({"group_6": "", "cell_1_1": "6"})
    response = marketer_client.post(url, data)
    assert response.status_code == 400
    assert "名前" in response.content.decode()


def test_navigation_opens_the_rfm_screen(marketer_client: Client) -> None:
    html = marketer_client.get(reverse("web:dashboard")).content.decode()
    assert f'href="{reverse("analytics:rfm")}"' in html


def test_a_movement_cell_lists_the_customers_who_moved(marketer_client: Client, accounts: dict[str, object]) -> None:
    # The dormant company was dormant at the end of last month too; the rep's new company had no orders yet then
    # unless its order is older than this month, so only the dormant company is sure to stay put.
    rfm_snapshots_take(today=local_today())
    html = marketer_client.get(reverse("analytics:rfm")).content.decode()
    assert "rfm_from=" in html
    listed = marketer_client.get(reverse("web:company_list"), {"rfm_from": "休眠", "rfm_to": "休眠"})
    assert [company.name for company, _summary in listed.context["rows"]] == ["他の取引先"]
    assert "RFMの移動：休眠 → 休眠" in listed.content.decode()
    nobody = marketer_client.get(reverse("web:company_list"), {"rfm_from": "優良", "rfm_to": "離脱懸念"})
    assert list(nobody.context["rows"]) == []
