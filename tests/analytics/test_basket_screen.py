"""The basket analysis screen: pairs with their figures, thresholds with clear errors, one product's partners."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import OrderFactory, OrderLineFactory, ProductFactory, UserFactory
from tokui.accounts.enums import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_client(client: Client) -> Client:
    client.force_login(UserFactory(username="viewer", role=Role.VIEWER))
    return client


def test_the_screen_lists_pairs_and_one_products_partners(viewer_client: Client) -> None:
    shirt, pants = ProductFactory(name="リネンシャツ"), ProductFactory(name="チノパンツ")
    for _ in range(3):
        order = OrderFactory(placed_at=timezone.now() - dt.timedelta(days=2))
        OrderLineFactory(order=order, product=shirt, line_no=1)
        OrderLineFactory(order=order, product=pants, line_no=2)

    page = viewer_client.get("/analysis/basket/").content.decode()
    assert "リネンシャツ" in page and "チノパンツ" in page
    assert "3件の注文" in page
    assert "100.0%" in page  # confidence both ways

    focused = viewer_client.get("/analysis/basket/", {"product": shirt.pk}).content.decode()
    assert 'data-testid="bought-together"' in focused
    assert "リネンシャツと一緒によく購入されている商品" in focused


def test_the_period_fields_are_named_as_dates_not_as_mail_headers(viewer_client: Client) -> None:
    page = viewer_client.get("/analysis/basket/").content.decode()
    assert ">開始日<" in page and ">終了日<" in page
    assert "差出人" not in page and "宛先" not in page  # "From" / "To" of a mail


def test_bad_thresholds_get_a_japanese_error_and_no_table(viewer_client: Client) -> None:
    today = timezone.localdate()
    response = viewer_client.get(
        "/analysis/basket/",
        {"start": today.isoformat(), "end": (today - dt.timedelta(days=5)).isoformat(), "min_orders": "0"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "開始日は終了日以前にしてください" in body or 'data-testid="error-min_orders"' in body
    assert 'data-testid="basket-pairs"' not in body


def test_the_pairs_export_as_csv_for_excel_and_as_xlsx(viewer_client: Client) -> None:
    shirt, pants = ProductFactory(name="=リネンシャツ", sku="TS-1"), ProductFactory(name="チノパンツ", sku="PT-1")
    for _ in range(2):
        order = OrderFactory(placed_at=timezone.now() - dt.timedelta(days=2))
        OrderLineFactory(order=order, product=shirt, line_no=1)
        OrderLineFactory(order=order, product=pants, line_no=2)

    response = viewer_client.get("/analysis/basket/", {"min_orders": "2", "export": "csv"})
    assert response["Content-Disposition"].startswith('attachment; filename="basket_')
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("商品A,品番(SKU),商品B,品番(SKU),一緒に購入された注文")
    first = lines[1].split(",")
    assert "'=リネンシャツ" in first  # never a formula in a spreadsheet
    assert first[4:6] == ["2", "100.00"]

    workbook = viewer_client.get("/analysis/basket/", {"min_orders": "2", "export": "xlsx"})
    assert workbook.content[:2] == b"PK"
