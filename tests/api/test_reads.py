"""Reads: paginated, filterable, money as decimal strings, times in ISO 8601 with an offset; timelines newest first."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.test import Client

from tests.api.conftest import Api
from tests.factories import CompanyFactory, ContactFactory, OrderFactory, OrderLineFactory, ProductFactory
from tokui.core.time import site_zone
from tokui.customers.models import Company
from tokui.tracking.services import event_record

pytestmark = pytest.mark.django_db
JST = site_zone()


def test_companies_are_paged_with_limit_and_offset_until_next_offset_is_null(read_api: Api) -> None:
    for n in range(7):
        CompanyFactory(name=f"店{n}")
    first = read_api.get("/companies", {"limit": 3}).json()
    assert [c["name"] for c in first["items"]] == ["店0", "店1", "店2"] and first["next_offset"] == 3
    last = read_api.get("/companies", {"limit": 3, "offset": 6}).json()
    assert [c["name"] for c in last["items"]] == ["店6"] and last["next_offset"] is None


def test_companies_filter_by_source_external_id_prefecture_and_change_time(read_api: Api) -> None:
    with time_machine.travel(dt.datetime(2026, 4, 1, 9, tzinfo=JST), tick=False):
        CompanyFactory(name="古い大阪の店", prefecture="27", source="erp", external_id="C-1")
    with time_machine.travel(dt.datetime(2026, 4, 10, 9, tzinfo=JST), tick=False):
        CompanyFactory(name="新しい大阪の店", prefecture="27", source="erp", external_id="C-2")
        CompanyFactory(name="東京の店", prefecture="13", source="shopify", external_id="C-2")

    def names(**params: str) -> list[str]:
        return [c["name"] for c in read_api.get("/companies", params).json()["items"]]

    assert names(prefecture="27") == ["古い大阪の店", "新しい大阪の店"]
    assert names(source="erp", external_id="C-2") == ["新しい大阪の店"]
    assert names(updated_since="2026-04-05") == ["新しい大阪の店", "東京の店"]
    assert names(updated_since="2026-04-05T00:00:00+09:00", prefecture="27") == ["新しい大阪の店"]


def test_a_bad_filter_is_a_422_naming_the_parameter(read_api: Api) -> None:
    response = read_api.get("/companies", {"limit": 0})
    assert response.status_code == 422 and response.json()["field"] == "limit"
    assert read_api.get("/companies", {"updated_since": "last week"}).json()["field"] == "updated_since"


def test_times_have_an_offset_and_money_is_a_decimal_string(read_api: Api) -> None:
    order = OrderFactory(
        placed_at=dt.datetime(2026, 4, 1, 23, 30, tzinfo=JST), total=Decimal("11000"), subtotal=Decimal("10000")
    )
    OrderLineFactory(order=order, line_no=1, unit_price=Decimal("5000"), amount=Decimal("10000"))
    ProductFactory(price=Decimal("4900.50"), currency="USD")
    body = read_api.get(f"/orders/{order.pk}").json()
    assert body["placed_at"] == "2026-04-01T23:30:00+09:00"
    assert body["total"] == "11000" and body["lines"][0]["unit_price"] == "5000"
    product = read_api.get("/products").json()["items"][-1]
    assert product["price"] == "4900.50"
    assert dt.datetime.fromisoformat(product["created_at"]).utcoffset() == dt.timedelta(hours=9)


def test_orders_filter_by_time_placed_and_company(read_api: Api) -> None:
    sakura, other = CompanyFactory(), CompanyFactory()
    OrderFactory(company=sakura, number="A", placed_at=dt.datetime(2026, 3, 31, 23, 59, tzinfo=JST))
    OrderFactory(company=sakura, number="B", placed_at=dt.datetime(2026, 4, 1, 0, 0, tzinfo=JST))
    OrderFactory(company=other, number="C", placed_at=dt.datetime(2026, 4, 2, tzinfo=JST))

    def numbers(**params: object) -> list[str]:
        return [o["number"] for o in read_api.get("/orders", params).json()["items"]]

    assert numbers(placed_since="2026-04-01") == ["B", "C"]
    assert numbers(placed_since="2026-04-01", company_id=sakura.pk) == ["B"]
    assert numbers(placed_before="2026-04-01T00:00:00+09:00") == ["A"]


def test_a_missing_record_is_a_json_404(read_api: Api) -> None:
    for path in ("/companies/424242", "/orders/1", "/contacts/9/timeline", "/no/such/endpoint"):
        response = read_api.get(path)
        assert response.status_code == 404, path
        assert response.json()["code"] == "not_found"


def test_the_timeline_of_a_company_is_newest_first_and_includes_its_contacts_facts(read_api: Api) -> None:
    company = CompanyFactory()
    contact = ContactFactory(company=company)
    other = CompanyFactory()
    base = dt.datetime(2026, 4, 1, 10, tzinfo=JST)
    event_record(type="page_viewed", occurred_at=base, company_id=company.pk)
    event_record(type="order_placed", occurred_at=base + dt.timedelta(days=2), contact_id=contact.pk)
    event_record(type="mail_opened", occurred_at=base + dt.timedelta(days=1), contact_id=contact.pk)
    event_record(type="page_viewed", occurred_at=base, company_id=other.pk)
    body = read_api.get(f"/companies/{company.pk}/timeline").json()
    assert [e["type"] for e in body["items"]] == ["order_placed", "mail_opened", "page_viewed"]
    assert body["items"][0]["label"] == "注文"
    assert body["items"][0]["occurred_at"] == "2026-04-03T10:00:00+09:00"
    contact_body = read_api.get(f"/contacts/{contact.pk}/timeline", {"limit": 1}).json()
    assert [e["type"] for e in contact_body["items"]] == ["order_placed"] and contact_body["next_offset"] == 1


def test_errors_are_english_when_the_caller_asks_for_english(read_api: Api, client: Client) -> None:
    response = read_api.get("/companies/424242", language="en")
    assert response.json()["message"].startswith("Nothing was found")
    japanese = read_api.get("/companies/424242")
    assert japanese.json()["message"] != response.json()["message"]


def test_contacts_products_categories_carts_favourites_and_events_can_be_listed(read_api: Api) -> None:
    ContactFactory()
    ProductFactory()
    for path in ("/contacts", "/products", "/categories", "/carts", "/favorites", "/events"):
        response = read_api.get(path)
        assert response.status_code == 200, path
        assert set(response.json()) == {"items", "limit", "offset", "next_offset"}
    assert read_api.get("/contacts").json()["items"][0]["company_id"] == Company.objects.get().pk


def test_the_api_docs_page_loads_swagger_ui_from_this_server_without_inline_script(client: Client) -> None:
    page = client.get("/api/docs")
    body = page.content.decode()
    assert page.status_code == 200 and "cdn." not in body
    scripts = body.split("<script")[1:]
    assert all('type="application/json"' in tag or "src=" in tag.split(">")[0] for tag in scripts)
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/docs/assets/..%2Fsettings.py").status_code == 404
    assert "/api/companies/bulk" in client.get("/api/openapi.json").json()["paths"]
