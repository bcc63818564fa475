"""Facts sent server to server: stored once per event id, on the right customer's timeline."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, outcomes
from tests.factories import CompanyFactory, ContactFactory
from tokui.tracking.models import Event

pytestmark = pytest.mark.django_db


def event(external_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "type": "sample_requested",
        "occurred_at": "2026-04-01T10:00:00+09:00",
        "contact_external_id": "P-1",
        "properties": {"sku": "LINEN-M", "note": "サンプル希望"},
        **fields,
    }


def test_events_are_stored_once_per_id_with_the_contact_and_its_company(api: Api) -> None:
    company = CompanyFactory(source="erp", external_id="C-1")
    contact = ContactFactory(source="erp", external_id="P-1", company=company)
    first = api.bulk("/events/bulk", [event("ev-1"), event("ev-2", type="catalog_downloaded")])
    assert outcomes(first) == ["created", "created"]
    again = api.bulk("/events/bulk", [event("ev-1"), event("ev-3")])
    assert outcomes(again) == ["unchanged", "created"]
    assert again["results"][0]["id"] == first["results"][0]["id"]
    stored = Event.objects.get(pk=first["results"][0]["id"])
    assert (stored.contact, stored.company, stored.source) == (contact, company, "erp")
    assert Event.objects.filter(source="erp").count() == 3


def test_an_event_of_an_unknown_customer_or_of_nobody_is_refused_alone(api: Api) -> None:
    ContactFactory(source="erp", external_id="P-1")
    body = api.bulk(
        "/events/bulk",
        [
            event("ev-1", contact_external_id="P-404"),
            event("ev-2", contact_external_id=None),
            event("ev-3", type="Not A Type"),
            event("ev-4", properties={"bad": "\x00"}),
            event("ev-5"),
            event("ev-5"),
            event("ev-6"),
        ],
    )
    assert outcomes(body) == ["error", "error", "error", "error", "error", "error", "created"]
    assert [r["error"]["code"] for r in body["results"][:6]] == [
        "unknown_reference",
        "invalid",
        "invalid",
        "invalid",
        "duplicate",
        "duplicate",
    ]


def test_an_api_event_id_cannot_take_the_key_of_a_fact_tokui_writes(api: Api) -> None:
    ContactFactory(source="erp", external_id="P-1")
    api.bulk("/events/bulk", [event("order:1:placed")])
    stored = Event.objects.get(source="erp")
    assert stored.idempotency_key == "api:order:1:placed"


def test_deeply_nested_properties_get_a_clear_answer_not_a_server_error(api: Api) -> None:
    ContactFactory(source="erp", external_id="P-1")
    nested: dict[str, object] = {"leaf": "x"}
    for _ in range(900):
        nested = {"n": nested}
    body = api.bulk("/events/bulk", [event("ev-1", properties=nested), event("ev-2", properties={"a": {"b": [1]}})])
    assert outcomes(body) == ["error", "created"]
    assert body["results"][0]["error"]["code"] == "invalid"
