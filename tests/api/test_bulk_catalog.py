"""Bulk upserts of categories and products."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.api.conftest import Api, outcomes
from tests.factories import ProductFactory
from tokui.catalog.models import Category, Product

pytestmark = pytest.mark.django_db


def product(external_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "sku": f"SKU-{external_id}",
        "name": f"リネンシャツ {external_id}",
        "price": 4900,
        **fields,
    }


def test_a_category_may_name_a_parent_sent_earlier_in_the_same_batch(api: Api) -> None:
    body = api.bulk(
        "/categories/bulk",
        [
            {"external_id": "tops", "name": "トップス", "slug": "tops"},
            {"external_id": "tshirts", "name": "Tシャツ", "slug": "tシャツ", "parent_external_id": "tops"},
            {"external_id": "socks", "name": "靴下", "slug": "socks", "parent_external_id": "nope"},
        ],
    )
    assert outcomes(body) == ["created", "created", "error"]
    assert Category.objects.get(external_id="tshirts").parent == Category.objects.get(external_id="tops")
    assert body["results"][2]["error"]["field"] == "parent_external_id"
    again = api.bulk(
        "/categories/bulk",
        [{"external_id": "tshirts", "name": "Tシャツ", "slug": "tシャツ", "parent_external_id": "tops"}],
    )
    assert outcomes(again) == ["unchanged"]


def test_a_category_cannot_be_put_under_its_own_subcategory(api: Api) -> None:
    api.bulk(
        "/categories/bulk",
        [
            {"external_id": "a", "name": "A", "slug": "a"},
            {"external_id": "b", "name": "B", "slug": "b", "parent_external_id": "a"},
        ],
    )
    body = api.bulk("/categories/bulk", [{"external_id": "a", "name": "A", "slug": "a", "parent_external_id": "b"}])
    assert outcomes(body) == ["error"] and body["results"][0]["error"]["field"] == "parent_external_id"


def test_a_slug_taken_by_another_category_or_not_a_slug_is_refused(api: Api) -> None:
    api.bulk("/categories/bulk", [{"external_id": "a", "name": "A", "slug": "tops"}])
    body = api.bulk(
        "/categories/bulk",
        [{"external_id": "b", "name": "B", "slug": "tops"}, {"external_id": "c", "name": "C", "slug": "a b/c"}],
    )
    assert [r["error"]["field"] for r in body["results"]] == ["slug", "slug"]


def test_products_are_created_then_unchanged_then_updated(api: Api) -> None:
    api.bulk("/categories/bulk", [{"external_id": "tops", "name": "トップス", "slug": "tops"}])
    records = [product("P-1", category_external_id="tops", stock=12, launched_at="2026-03-01T09:00:00+09:00")]
    assert outcomes(api.bulk("/products/bulk", records)) == ["created"]
    assert outcomes(api.bulk("/products/bulk", records)) == ["unchanged"]
    assert outcomes(api.bulk("/products/bulk", [{**records[0], "price": "5200"}])) == ["updated"]
    stored = Product.objects.get(external_id="P-1")
    assert stored.price == Decimal("5200") and stored.stock == 12 and stored.category is not None


def test_a_negative_price_is_refused_for_that_product_and_the_others_are_kept(api: Api) -> None:
    body = api.bulk("/products/bulk", [product("P-1"), product("P-2", price=-1), product("P-3")])
    assert outcomes(body) == ["created", "error", "created"]
    assert body["results"][1]["error"]["field"] == "price"
    assert Product.objects.count() == 2


def test_a_sku_held_by_another_product_is_refused_with_the_reason(api: Api) -> None:
    ProductFactory(sku="SKU-TAKEN", source="shopify", external_id="999")
    body = api.bulk("/products/bulk", [product("P-1", sku="SKU-TAKEN")])
    assert body["results"][0]["error"]["field"] == "sku" and "shopify" in body["results"][0]["error"]["message"]


def test_an_unknown_status_a_bad_url_and_a_naive_time_are_reported_per_record(api: Api) -> None:
    body = api.bulk(
        "/products/bulk",
        [
            product("P-1", status="sold"),
            product("P-2", url="javascript:alert(1)"),
            product("P-3", launched_at="2026-03-01T09:00:00"),
            product("P-4", price="NaN"),
            product("P-5"),
        ],
    )
    assert outcomes(body) == ["error", "error", "error", "error", "created"]
    assert [r["error"]["field"] for r in body["results"][:4]] == ["status", "url", "launched_at", "price"]
