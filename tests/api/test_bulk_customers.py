"""Bulk upserts of companies and contacts: idempotent, per-record results, bad records never sink the batch."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import Api, outcomes
from tests.factories import CompanyFactory, UserFactory
from tokui.accounts.enums import Role
from tokui.customers.models import Company, Contact

pytestmark = pytest.mark.django_db


def company(external_id: str, **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "name": f"株式会社{external_id}", "prefecture": "13", **fields}


def test_companies_are_created_then_unchanged_when_the_same_payload_is_sent_again(api: Api) -> None:
    records = [company("C-1", name_kana="シーイチ", phone="03-1234-5678"), company("C-2", prefecture="大阪府")]
    first = api.bulk("/companies/bulk", records)
    assert outcomes(first) == ["created", "created"]
    assert first["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "error": 0}
    assert Company.objects.get(external_id="C-2").prefecture == "27"
    updated_at = list(Company.objects.order_by("id").values_list("updated_at", flat=True))
    again = api.bulk("/companies/bulk", records)
    assert outcomes(again) == ["unchanged", "unchanged"]
    assert [r["id"] for r in again["results"]] == [r["id"] for r in first["results"]]
    assert list(Company.objects.order_by("id").values_list("updated_at", flat=True)) == updated_at


def test_a_changed_company_is_updated_and_fields_left_out_keep_their_value(api: Api) -> None:
    api.bulk("/companies/bulk", [company("C-1", phone="03-1111-1111", rank="A")])
    body = api.bulk("/companies/bulk", [{"external_id": "C-1", "name": "株式会社さくら（新）"}])
    assert outcomes(body) == ["updated"]
    stored = Company.objects.get(external_id="C-1")
    assert (stored.name, stored.phone, stored.rank, stored.prefecture) == (
        "株式会社さくら（新）",
        "03-1111-1111",
        "A",
        "13",
    )


def test_the_sales_rep_assigned_in_tokui_survives_a_sync(api: Api) -> None:
    api.bulk("/companies/bulk", [company("C-1")])
    rep = UserFactory(role=Role.SALES_REP)
    Company.objects.filter(external_id="C-1").update(assigned_rep=rep)
    assert outcomes(api.bulk("/companies/bulk", [company("C-1", phone="06-0000-0000")])) == ["updated"]
    assert Company.objects.get(external_id="C-1").assigned_rep == rep


def test_a_bad_prefecture_is_reported_for_that_record_and_the_good_records_are_kept(api: Api) -> None:
    body = api.bulk("/companies/bulk", [company("C-1"), company("C-2", prefecture="火星"), company("C-3")])
    assert outcomes(body) == ["created", "error", "created"]
    error = body["results"][1]["error"]
    assert error["field"] == "prefecture" and "火星" in error["message"]
    assert set(Company.objects.values_list("external_id", flat=True)) == {"C-1", "C-3"}


def test_wrong_types_and_unknown_fields_are_reported_per_record(api: Api) -> None:
    records: list[dict[str, Any]] = [
        company("C-1"),
        {"external_id": "C-2", "name": 12},
        {"external_id": "C-3", "name": "有限会社", "price_rate": "abc"},
        {"external_id": "C-4", "name": "有限会社", "prefecure": "13"},
        {"name": "no id"},
        company("C-6", price_rate="0.65"),
    ]
    body = api.bulk("/companies/bulk", records)
    assert outcomes(body) == ["created", "error", "error", "error", "error", "created"]
    fields = [r["error"]["field"] for r in body["results"] if r["error"]]
    assert fields == ["name", "price_rate", "prefecure", "external_id"]
    assert body["results"][1]["external_id"] == "C-2" and body["results"][4]["external_id"] is None
    assert Company.objects.get(external_id="C-6").price_rate == Decimal("0.65")


def test_a_rate_out_of_range_is_refused_with_the_reason(api: Api) -> None:
    body = api.bulk("/companies/bulk", [company("C-1", price_rate=3)])
    assert body["results"][0]["error"]["field"] == "price_rate"


def test_duplicate_external_ids_in_one_batch_are_refused_and_the_rest_is_stored(api: Api) -> None:
    body = api.bulk("/companies/bulk", [company("C-1"), company("C-2", name="一"), company("C-2", name="二")])
    assert outcomes(body) == ["created", "error", "error"]
    assert body["results"][1]["error"]["code"] == "duplicate"
    assert list(Company.objects.values_list("external_id", flat=True)) == ["C-1"]


def test_more_than_1000_records_are_refused_whole_with_413(api: Api) -> None:
    response = api.post("/companies/bulk", {"records": [company(f"C-{n}") for n in range(1001)]})
    assert response.status_code == 413
    assert response.json()["code"] == "too_many_records" and response.json()["field"] == "records"
    assert not Company.objects.exists()


def test_malformed_json_is_refused_with_a_clear_400(api: Api) -> None:
    response = api.post("/companies/bulk", b'{"records": [{"external_id": "C-1",}')
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


def test_invalid_utf8_is_refused_with_a_clear_400(api: Api) -> None:
    response = api.post("/companies/bulk", b'{"records": [{"external_id": "\xff\xfe", "name": "x"}]}')
    assert response.status_code == 400 and response.json()["code"] == "malformed_json"


def test_a_body_that_is_not_a_list_of_records_is_refused_with_422_naming_the_field(api: Api) -> None:
    response = api.post("/companies/bulk", {"records": "C-1"})
    assert response.status_code == 422
    assert response.json() == {"code": "invalid", "message": response.json()["message"], "field": "records"}


def test_the_source_must_be_a_slug(api: Api) -> None:
    response = api.post("/companies/bulk", {"records": [company("C-1")]}, source="ERP System")
    assert response.status_code == 422 and response.json()["field"] == "source"
    assert api.post("/companies/bulk", {"records": []}, source=None).status_code == 422


def test_the_same_external_id_from_two_sources_is_two_companies(api: Api) -> None:
    api.bulk("/companies/bulk", [company("100")], source="shopify")
    api.bulk("/companies/bulk", [company("100")], source="bcart")
    assert Company.objects.filter(external_id="100").count() == 2


def test_text_with_nul_characters_is_refused_per_record(api: Api) -> None:
    body = api.bulk("/companies/bulk", [company("C-1", address="東京\x00都"), company("C-2")])
    assert outcomes(body) == ["error", "created"]


def contact(external_id: str, **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "name": f"山田 {external_id}", **fields}


def test_contacts_name_their_company_by_its_external_id_in_the_same_source(api: Api) -> None:
    api.bulk("/companies/bulk", [company("C-1")])
    CompanyFactory(source="other", external_id="C-2")
    body = api.bulk(
        "/contacts/bulk",
        [
            contact("P-1", company_external_id="C-1", email="yamada@shop.example.jp"),
            contact("P-2", company_external_id="C-2"),
            contact("P-3"),
        ],
    )
    assert outcomes(body) == ["created", "error", "created"]
    assert body["results"][1]["error"] == {
        "code": "unknown_reference",
        "field": "company_external_id",
        "message": body["results"][1]["error"]["message"],
    }
    assert "C-2" in body["results"][1]["error"]["message"]
    assert Contact.objects.get(external_id="P-1").company == Company.objects.get(external_id="C-1")
    assert Contact.objects.get(external_id="P-3").company is None


def test_a_contact_sent_again_without_its_company_keeps_it(api: Api) -> None:
    api.bulk("/companies/bulk", [company("C-1")])
    api.bulk("/contacts/bulk", [contact("P-1", company_external_id="C-1")])
    assert outcomes(api.bulk("/contacts/bulk", [contact("P-1", phone="090")])) == ["updated"]
    assert Contact.objects.get(external_id="P-1").company is not None
    assert outcomes(api.bulk("/contacts/bulk", [contact("P-1", phone="090", company_external_id=None)])) == ["updated"]
    assert Contact.objects.get(external_id="P-1").company is None


def test_an_invalid_email_is_reported_for_that_contact(api: Api) -> None:
    body = api.bulk("/contacts/bulk", [contact("P-1", email="not-an-email"), contact("P-2")])
    assert outcomes(body) == ["error", "created"] and body["results"][0]["error"]["field"] == "email"


def test_references_are_resolved_with_one_query_per_type_not_per_record(api: Api) -> None:
    api.bulk("/companies/bulk", [company(f"C-{n}") for n in range(20)])
    records = [contact(f"P-{n}", company_external_id=f"C-{n}") for n in range(20)]
    with CaptureQueriesContext(connection) as queries:
        api.bulk("/contacts/bulk", records)
    company_lookups = [q for q in queries.captured_queries if 'FROM "customers_company"' in q["sql"]]
    assert len(company_lookups) == 1


def test_a_body_over_the_size_limit_is_refused_with_413(api: Api) -> None:
    response = api.post("/companies/bulk", {"records": [company("C-1", address="あ" * 1_000_000)]})
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large" and not Company.objects.exists()


def test_record_errors_are_japanese_by_default_and_english_on_request(api: Api) -> None:
    records = {"records": [company("C-1", prefecture="Atlantis")]}
    japanese = api.post("/companies/bulk", records).json()["results"][0]["error"]["message"]
    english = api.post("/companies/bulk", records, language="en").json()["results"][0]["error"]["message"]
    assert "都道府県" in japanese
    assert english.startswith("Unknown prefecture “Atlantis”")
