"""Bulk upserts of orders (the hot path), carts and favourites."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import Api, outcomes
from tests.factories import CompanyFactory, ContactFactory, ProductFactory
from tokui.commerce.enums import CartState
from tokui.commerce.models import Cart, Favorite, Order
from tokui.tracking.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(api: Api) -> None:
    """A company with a buyer and two products, all known to the source "erp"."""
    company = CompanyFactory(source="erp", external_id="C-1")
    ContactFactory(source="erp", external_id="P-1", company=company)
    ProductFactory(source="erp", external_id="PR-1", sku="LINEN-M", name="リネンシャツ M", price=Decimal("4900"))
    ProductFactory(source="erp", external_id="PR-2", sku="LINEN-L", name="リネンシャツ L", price=Decimal("5200"))


def order(external_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "company_external_id": "C-1",
        "contact_external_id": "P-1",
        "placed_at": "2026-04-01T23:30:00+09:00",
        "number": f"TK-{external_id}",
        "tax_total": "980",
        "lines": [
            {"sku": "LINEN-M", "quantity": 2, "unit_price": 4900},
            {"product_external_id": "PR-2", "quantity": 1, "unit_price": "5200"},
        ],
        **fields,
    }


def test_orders_are_created_with_lines_totals_and_one_fact_then_unchanged_on_replay(api: Api, shop: None) -> None:
    records = [order("O-1"), order("O-2", channel="fax")]
    first = api.bulk("/orders/bulk", records)
    assert outcomes(first) == ["created", "created"]
    stored = Order.objects.get(external_id="O-1")
    assert stored.subtotal == Decimal("15000") and stored.total == Decimal("15980")
    assert [line.product.sku for line in stored.lines.order_by("line_no") if line.product] == ["LINEN-M", "LINEN-L"]
    assert stored.company is not None and stored.contact is not None
    assert Event.objects.filter(type="order_placed").count() == 2
    again = api.bulk("/orders/bulk", records)
    assert outcomes(again) == ["unchanged", "unchanged"]
    assert Event.objects.filter(type="order_placed").count() == 2


def test_a_replayed_batch_of_orders_is_read_in_a_few_queries_and_writes_nothing(api: Api, shop: None) -> None:
    records = [order(f"O-{n}") for n in range(50)]
    api.bulk("/orders/bulk", records)
    with CaptureQueriesContext(connection) as queries:
        assert set(outcomes(api.bulk("/orders/bulk", records))) == {"unchanged"}
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "UPDATE", "DELETE"))]
    assert [sql for sql in writes if "accounts_api" not in sql] == []
    assert len(queries.captured_queries) <= 15


def test_new_orders_are_inserted_in_bulk_not_one_by_one(api: Api, shop: None) -> None:
    with CaptureQueriesContext(connection) as queries:
        api.bulk("/orders/bulk", [order(f"O-{n}") for n in range(50)])
    assert Order.objects.count() == 50
    assert len(queries.captured_queries) <= 25


def test_a_changed_order_is_updated_and_its_cancellation_is_a_fact(api: Api, shop: None) -> None:
    api.bulk("/orders/bulk", [order("O-1")])
    body = api.bulk("/orders/bulk", [order("O-1", status="cancelled")])
    assert outcomes(body) == ["updated"]
    assert Order.objects.get(external_id="O-1").status == "cancelled"
    assert Event.objects.filter(type="order_cancelled").count() == 1
    changed_lines = order("O-1", status="cancelled", lines=[{"sku": "LINEN-M", "quantity": 3, "unit_price": 4900}])
    assert outcomes(api.bulk("/orders/bulk", [changed_lines])) == ["updated"]
    assert Order.objects.get(external_id="O-1").lines.get().quantity == 3


def test_unknown_references_refuse_only_their_order(api: Api, shop: None) -> None:
    body = api.bulk(
        "/orders/bulk",
        [
            order("O-1", company_external_id="C-404"),
            order("O-2", lines=[{"product_external_id": "PR-404", "quantity": 1, "unit_price": 100}]),
            order("O-3", lines=[{"quantity": 1, "unit_price": 100}]),
            order("O-4", lines=[{"sku": "NOT-IN-CATALOG", "quantity": 1, "unit_price": 100}]),
            order("O-5"),
        ],
    )
    assert outcomes(body) == ["error", "error", "error", "created", "created"]
    assert [r["error"]["field"] for r in body["results"][:3]] == [
        "company_external_id",
        "lines[0].product_external_id",
        "lines[0].sku",
    ]
    unlinked = Order.objects.get(external_id="O-4").lines.get()
    assert unlinked.product is None and unlinked.sku == "NOT-IN-CATALOG"


def test_bad_values_are_reported_with_the_line_and_field(api: Api, shop: None) -> None:
    body = api.bulk(
        "/orders/bulk",
        [
            order("O-1", lines=[{"sku": "LINEN-M", "quantity": 0, "unit_price": 4900}]),
            order("O-2", lines=[{"sku": "LINEN-M", "quantity": 1, "unit_price": -5}]),
            order("O-3", channel="carrier pigeon"),
            order("O-4", lines=[{"sku": "LINEN-M", "quantity": "two", "unit_price": 1}]),
            order("O-5", placed_at="yesterday"),
            order("O-6", company_external_id=None, contact_external_id=None),
            order("O-7", lines=[]),
        ],
    )
    assert set(outcomes(body)) == {"error"}
    assert [r["error"]["field"] for r in body["results"]] == [
        "lines[0].quantity",
        "lines[0].unit_price",
        "channel",
        "lines[0].quantity",
        "placed_at",
        "company_id",
        "lines",
    ]
    assert not Order.objects.exists()


def test_an_order_for_a_contact_alone_gets_the_contacts_company_and_converts_their_open_cart(
    api: Api, shop: None
) -> None:
    api.bulk(
        "/carts/bulk",
        [
            {
                "external_id": "cart-1",
                "contact_external_id": "P-1",
                "last_activity_at": "2026-04-01T20:00:00+09:00",
                "lines": [{"sku": "LINEN-M", "quantity": 1}],
            }
        ],
    )
    api.bulk("/orders/bulk", [order("O-1", company_external_id=None)])
    stored = Order.objects.get(external_id="O-1")
    assert stored.company is not None and stored.company.external_id == "C-1"
    cart = Cart.objects.get(external_id="cart-1")
    assert cart.state == CartState.CONVERTED and cart.converted_order == stored


def test_carts_are_stored_as_reported_with_list_prices_by_default(api: Api, shop: None) -> None:
    record = {
        "external_id": "cart-1",
        "company_external_id": "C-1",
        "last_activity_at": "2026-04-01T20:00:00+09:00",
        "lines": [
            {"sku": "LINEN-M", "quantity": 2},
            {"product_external_id": "PR-2", "quantity": 1, "unit_price": 5000},
        ],
    }
    assert outcomes(api.bulk("/carts/bulk", [record])) == ["created"]
    assert outcomes(api.bulk("/carts/bulk", [record])) == ["unchanged"]
    cart = Cart.objects.get(external_id="cart-1")
    assert sorted((line.product.sku, line.unit_price) for line in cart.lines.all()) == [
        ("LINEN-L", Decimal("5000")),
        ("LINEN-M", Decimal("4900")),
    ]
    body = api.bulk("/carts/bulk", [{**record, "external_id": "cart-2", "lines": [{"sku": "NOPE", "quantity": 1}]}])
    assert body["results"][0]["error"]["field"] == "lines[0].sku"


def test_favourites_are_added_once_and_removed_on_request(api: Api, shop: None) -> None:
    record = {"contact_external_id": "P-1", "sku": "LINEN-M", "added_at": "2026-04-01T10:00:00+09:00"}
    assert outcomes(api.bulk("/favorites/bulk", [record])) == ["created"]
    assert outcomes(api.bulk("/favorites/bulk", [record])) == ["unchanged"]
    assert Favorite.objects.count() == 1
    assert outcomes(api.bulk("/favorites/bulk", [{**record, "removed": True}])) == ["updated"]
    assert not Favorite.objects.exists()
    body = api.bulk("/favorites/bulk", [record, record, {"contact_external_id": "P-404", "sku": "LINEN-M"}])
    assert outcomes(body) == ["error", "error", "error"]
    assert [r["error"]["code"] for r in body["results"]] == ["duplicate", "duplicate", "unknown_reference"]
