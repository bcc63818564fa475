"""The repeat screen: KPIs, the F2 days, the cohort triangle and LTV tables, exports, and a clear error."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import CompanyFactory, OrderFactory, UserFactory
from tokui.accounts.enums import Role
from tokui.core.time import add_months

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer_client(client: Client) -> Client:
    client.force_login(UserFactory(username="marketer", role=Role.MARKETER))
    return client


def test_the_screen_shows_kpis_triangle_and_channels(marketer_client: Client) -> None:
    now = timezone.now()
    twice = CompanyFactory()
    OrderFactory(company=twice, placed_at=now - dt.timedelta(days=40), total=Decimal(30000), channel="fax")
    OrderFactory(company=twice, placed_at=now - dt.timedelta(days=5), total=Decimal(10000))
    OrderFactory(company=CompanyFactory(), placed_at=now - dt.timedelta(days=3), total=Decimal(8000))

    page = marketer_client.get("/analysis/repeat/").content.decode()
    assert 'data-testid="kpi-customers">2<' in page
    assert 'data-testid="kpi-repeat">50.0%<' in page
    assert 'data-testid="kpi-f2">50.0%<' in page
    assert 'data-testid="cohort-table"' in page and 'data-testid="ltv-table"' in page
    assert "FAX" in page
    assert "¥40,000" in page  # the FAX customer's revenue to date


def test_exports_open_in_excel(marketer_client: Client) -> None:
    OrderFactory(company=CompanyFactory(), placed_at=timezone.now() - dt.timedelta(days=3))
    csv = marketer_client.get("/analysis/repeat/", {"export": "csv", "table": "retention"})
    assert csv.content.startswith(b"\xef\xbb\xbf")
    assert csv.content.decode("utf-8-sig").splitlines()[0].startswith("初回購入月,")
    assert 'filename="repeat_' in csv["Content-Disposition"]
    assert marketer_client.get("/analysis/repeat/", {"export": "xlsx"}).content[:2] == b"PK"


def test_months_in_the_wrong_order_get_a_japanese_error(marketer_client: Client) -> None:
    response = marketer_client.get("/analysis/repeat/", {"first": "2026-05", "last": "2026-01"})
    assert response.status_code == 400
    assert "開始月は終了月以前にしてください" in response.content.decode()


def test_this_months_cells_are_marked_as_counted_so_far(marketer_client: Client) -> None:
    first_month = add_months(timezone.localdate().replace(day=1), -2)
    company = CompanyFactory()
    placed = timezone.make_aware(dt.datetime(first_month.year, first_month.month, 2, 12))
    OrderFactory(company=company, placed_at=placed, total=Decimal(20000))
    OrderFactory(company=company, placed_at=placed + dt.timedelta(days=31), total=Decimal(5000))

    page = marketer_client.get("/analysis/repeat/").content.decode()
    # One cohort, three months old: months 0 and 1 are whole, month 2 is this month, in both tables.
    marked = re.findall(r'<td class="text-end[^"]*cohort-now[^"]*" title="今月（途中まで）">([^<]*)</td>', page)
    assert marked == ["0.0%", "¥25,000"]
    assert page.count("cohort-now") == 2
    assert "斜体・斜線のセルは今月で、今日までの集計です。" in page
