"""Company tags through the API: a bulk record with `tags` sets them exactly; without them, they stay as they are."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, outcomes
from tokui.customers.models import Company, Tag
from tokui.customers.services import company_set_tags

pytestmark = pytest.mark.django_db


def company(external_id: str, **fields: Any) -> dict[str, Any]:
    return {"external_id": external_id, "name": f"株式会社{external_id}", **fields}


def tags_of(external_id: str) -> list[str]:
    return sorted(Company.objects.get(external_id=external_id).tags.values_list("name", flat=True))


def test_a_new_company_gets_the_tags_of_its_record_and_unknown_names_become_tags(api: Api) -> None:
    Tag.objects.create(name="VIP")
    body = api.bulk("/companies/bulk", [company("C-1", tags=["VIP", "展示会2026", " VIP "])])
    assert outcomes(body) == ["created"]
    assert tags_of("C-1") == ["VIP", "展示会2026"]
    assert Tag.objects.count() == 2


def test_sending_the_same_tags_again_is_unchanged_even_in_another_order(api: Api) -> None:
    api.bulk("/companies/bulk", [company("C-1", tags=["VIP", "関西"])])
    updated_at = Company.objects.get().updated_at
    again = api.bulk("/companies/bulk", [company("C-1", tags=["関西", "VIP"])])
    assert outcomes(again) == ["unchanged"]
    assert Company.objects.get().updated_at == updated_at


def test_tags_in_a_record_replace_the_companys_tags_exactly(api: Api) -> None:
    api.bulk("/companies/bulk", [company("C-1", tags=["VIP", "関西"])])
    body = api.bulk("/companies/bulk", [company("C-1", tags=["関西", "新規"])])
    assert outcomes(body) == ["updated"]
    assert tags_of("C-1") == ["新規", "関西"]


def test_a_tag_change_alone_is_an_update_that_moves_updated_at(api: Api) -> None:
    api.bulk("/companies/bulk", [company("C-1", tags=["VIP"])])
    before = Company.objects.get().updated_at
    body = api.bulk("/companies/bulk", [company("C-1", tags=[])])
    assert outcomes(body) == ["updated"]
    assert tags_of("C-1") == [] and Company.objects.get().updated_at > before


def test_a_record_without_tags_leaves_the_tags_set_in_tokui_alone(api: Api) -> None:
    api.bulk("/companies/bulk", [company("C-1")])
    company_set_tags(company=Company.objects.get(), tag_names=["要フォロー"])
    for record in (company("C-1"), company("C-1", tags=None)):
        assert outcomes(api.bulk("/companies/bulk", [record])) == ["unchanged"]
    assert tags_of("C-1") == ["要フォロー"]


def test_a_bad_tag_refuses_that_record_only_with_the_field_named(api: Api) -> None:
    body = api.bulk(
        "/companies/bulk",
        [company("C-1", tags=["VIP"]), company("C-2", tags=["x" * 65]), company("C-3", tags="VIP"), company("C-4")],
    )
    assert outcomes(body) == ["created", "error", "error", "created"]
    assert body["results"][1]["error"]["field"] == "tags[0]"
    assert body["results"][2]["error"]["field"] == "tags"
    assert not Company.objects.filter(external_id__in=["C-2", "C-3"]).exists()


def test_the_read_endpoints_return_the_tags(read_api: Api, api: Api) -> None:
    created = api.bulk("/companies/bulk", [company("C-1", tags=["VIP", "関西"])])
    company_id = created["results"][0]["id"]
    assert sorted(read_api.get(f"/companies/{company_id}").json()["tags"]) == ["VIP", "関西"]
    assert sorted(read_api.get("/companies", {"external_id": "C-1"}).json()["items"][0]["tags"]) == ["VIP", "関西"]


def test_the_openapi_schema_documents_tags_on_the_company_record(api: Api) -> None:
    schema = api.client.get("/api/openapi.json").json()
    body = schema["paths"]["/api/companies/bulk"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    record = body["properties"]["records"]["items"]
    tags = record["properties"]["tags"]
    assert "exactly" in tags["description"]
    assert {"type": "array", "items": {"maxLength": 64, "minLength": 1, "type": "string"}, "maxItems": 100} in tags[
        "anyOf"
    ]


def test_companies_can_be_listed_by_tag(read_api: Api, api: Api) -> None:
    api.bulk("/companies/bulk", [company("C-1", tags=["VIP"]), company("C-2", tags=["関西"]), company("C-3")])
    page = read_api.get("/companies", {"tag": "VIP"}).json()
    assert [item["external_id"] for item in page["items"]] == ["C-1"]
    assert read_api.get("/companies", {"tag": "なし"}).json()["items"] == []
