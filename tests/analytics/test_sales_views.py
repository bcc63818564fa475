"""The sales analysis and ranking screens: they render in Japanese, validate the range, scope a rep, and export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from decimal import Decimal

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import CompanyFactory, ContactFactory, OrderLineFactory, ProductFactory, UserFactory
from tokui.accounts.enums import Role
from tokui.commerce.models import Order
from tokui.core.time import local_today

pytestmark = pytest.mark.django_db


@pytest.fixture
def sales(order_on: Callable[..., Order]) -> None:
    today = local_today()
    rep = UserFactory(username="rep", role=Role.SALES_REP, display_name="営業 一郎")
    order_on(today, company=CompanyFactory(name="自社担当", assigned_rep=rep), total=12000)
    order_on(today, company=CompanyFactory(name="他社"), total=30000)
    order_on(today, company=None, contact=ContactFactory(company=None), total=5000)
    order_on(today, total=999, currency="USD")
    # A product name made to run as a formula in a spreadsheet (CSV injection).
    evil = ProductFactory(name='=HYPERLINK("http://x")', sku="@EVIL")
    OrderLineFactory(order=order_on(today, total=100), product=evil, quantity=1, amount=Decimal(100))


def test_sales_page_shows_the_figures_the_chart_data_and_the_notes_in_japanese(
    marketer_client: Client, sales: None
) -> None:
    response = marketer_client.get(reverse("analytics:sales"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "売上分析" in page
    assert "キャンセル" in page
    assert 'data-testid="other-currency"' in page
    assert "¥47,100" in page  # 12,000 + 30,000 + 5,000 + 100; the USD order is left out
    chart = json.loads(json.dumps(response.context["chart"]))
    assert sum(chart["series"][0]["data"]) == 47100
    assert len(chart["labels"]) == 13  # 12 full months and this month
    assert '<script id="sales-chart-data" type="application/json">' in page
    assert "style=" not in page.split("<main")[1]  # the CSP forbids inline styles


def test_changing_the_breakdown_shows_its_rows_with_shares(marketer_client: Client, sales: None) -> None:
    response = marketer_client.get(reverse("analytics:sales"), {"breakdown": "sales_rep"})
    rows = {row.label: row for row in response.context["report"].breakdown_rows}
    assert rows["営業 一郎"].current.revenue == Decimal(12000)
    assert rows["営業 一郎"].share == pytest.approx(12000 / 47100)
    by_product = marketer_client.get(reverse("analytics:sales"), {"breakdown": "product"})
    assert "明細" in by_product.content.decode()  # the page says line amounts are used


def test_a_range_ending_before_it_starts_is_refused_with_a_message(marketer_client: Client) -> None:
    response = marketer_client.get(reverse("analytics:sales"), {"start": "2026-03-10", "end": "2026-03-01"})
    assert response.status_code == 200
    assert "report" not in response.context
    assert "終了日" in response.content.decode()
    daily = marketer_client.get(
        reverse("analytics:sales"), {"start": "2024-01-01", "end": "2026-03-01", "granularity": "day"}
    )
    assert "400" in daily.content.decode()


def test_a_sales_rep_sees_their_companies_only_and_is_told_so(client: Client, sales: None) -> None:
    from tokui.accounts.models import User

    client.force_login(User.objects.get(username="rep"))
    response = client.get(reverse("analytics:sales"))
    assert response.context["report"].totals.current.revenue == Decimal(12000)
    assert 'data-testid="rep-scope"' in response.content.decode()
    assert "sales_rep" not in response.context["form"].fields


def test_csv_export_has_a_bom_and_neutralises_formulas(marketer_client: Client, sales: None) -> None:
    response = marketer_client.get(
        reverse("analytics:sales"), {"breakdown": "product", "export": "csv", "table": "breakdown"}
    )
    assert response["Content-Disposition"].startswith("attachment;")
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == "商品"
    labels = [row[0] for row in rows[1:]]
    assert '\'=HYPERLINK("http://x") (@EVIL)' in labels
    assert rows[-1][0] == "合計"
    periods = marketer_client.get(reverse("analytics:sales"), {"export": "csv"})
    period_rows = list(csv.reader(io.StringIO(periods.content.decode("utf-8-sig"))))
    assert period_rows[-1][:3] == ["合計", "", "47100"]


def test_excel_export_has_both_tables_with_numbers_and_text_that_never_runs(
    marketer_client: Client, sales: None
) -> None:
    response = marketer_client.get(reverse("analytics:sales"), {"breakdown": "product", "export": "xlsx"})
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert len(workbook.sheetnames) == 2
    periods, products = (workbook[name] for name in workbook.sheetnames)
    last = [cell.value for cell in list(periods.iter_rows())[-1]]
    assert last[0] == "合計" and last[2] == 47100
    cells = {cell.value: cell.data_type for row in products.iter_rows() for cell in row if isinstance(cell.value, str)}
    assert cells['=HYPERLINK("http://x") (@EVIL)'] == "s"


def test_rankings_page_lists_products_with_movement_and_exports(
    marketer_client: Client, order_on: Callable[..., Order]
) -> None:
    today = local_today()
    shirt = ProductFactory(name="リネンシャツ", sku="LN-1")
    order = order_on(today, total=100)
    OrderLineFactory(order=order, product=shirt, quantity=7, amount=Decimal(35000))
    response = marketer_client.get(reverse("analytics:rankings"), {"period": "week", "day": today.isoformat()})
    page = response.content.decode()
    assert response.status_code == 200
    assert "ランキング" in page and "リネンシャツ" in page and "NEW" in page
    assert response.context["rows"][0].sku == "LN-1"
    exported = marketer_client.get(
        reverse("analytics:rankings"), {"export": "csv", "period": "day", "day": today.isoformat()}
    )
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "順位"
    assert rows[1][:5] == ["1", "NEW", "", "LN-1", "リネンシャツ"]
    workbook = openpyxl.load_workbook(
        io.BytesIO(
            marketer_client.get(
                reverse("analytics:rankings"), {"export": "xlsx", "period": "day", "day": today.isoformat()}
            ).content
        )
    )
    assert workbook.active is not None
    assert [c.value for c in next(workbook.active.iter_rows(min_row=2, max_row=2))][3:5] == ["LN-1", "リネンシャツ"]
    yesterday = marketer_client.get(
        reverse("analytics:rankings"), {"period": "day", "day": (today - dt.timedelta(days=1)).isoformat()}
    )
    assert yesterday.context["rows"] == []


def test_the_sidebar_opens_both_screens(marketer_client: Client) -> None:
    page = marketer_client.get(reverse("web:dashboard")).content.decode()
    assert f'href="{reverse("analytics:sales")}"' in page
    assert f'href="{reverse("analytics:rankings")}"' in page


def test_both_screens_read_in_english_too(marketer_client: Client, sales: None) -> None:
    from django.utils import translation

    translation.activate("en")
    marketer_client.cookies["django_language"] = "en"
    sales_page = marketer_client.get(reverse("analytics:sales"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Sales by period" in sales_page and "Buying customers" in sales_page
    ranking_page = marketer_client.get(reverse("analytics:rankings"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Rank by" in ranking_page
