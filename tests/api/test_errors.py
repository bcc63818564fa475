"""Every answer under /api/ that is an error is JSON {code, message, field}, also where ninja's operations never run."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api.conftest import Api
from tokui.accounts.models import ApiRequestLog

pytestmark = pytest.mark.django_db


def test_a_wrong_method_is_a_json_405_in_japanese_naming_the_methods_the_address_takes(client: Client) -> None:
    response = client.delete("/api/companies")
    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "code": "method_not_allowed",
        "message": "このアドレスは DELETE を受け付けません。GET を使ってください。",
        "field": None,
    }
    assert response["Allow"] == "GET"


def test_a_wrong_method_is_explained_in_english_when_the_caller_asks_for_english(client: Client) -> None:
    response = client.put("/api/companies/bulk", headers={"Accept-Language": "en"})
    assert response.status_code == 405
    assert response.json()["message"] == "This address does not accept PUT. Use POST."


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options", "trace"])
def test_an_unknown_address_under_the_api_is_a_json_404_whatever_the_method(client: Client, method: str) -> None:
    response = getattr(client, method)("/api/no-such-thing/42")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found" and response.json()["field"] is None
    assert "見つかりません" in response.json()["message"]


def test_the_api_root_is_a_json_404_not_the_html_page_of_the_site(client: Client) -> None:
    response = client.get("/api/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"code", "message", "field"}


def test_a_refused_method_made_with_a_key_is_logged_with_that_key(api: Api) -> None:
    response = api.client.delete("/api/companies", headers=api.headers(None))
    assert response.status_code == 405
    assert list(ApiRequestLog.objects.values_list("key_id", "method", "path", "status_code")) == [
        (api.key_id, "DELETE", "/api/companies", 405)
    ]


def test_the_docs_and_the_health_check_still_answer_normally(client: Client) -> None:
    assert client.get("/api/health").json() == {"status": "ok"}
    assert client.get("/api/docs").status_code == 200
    assert client.get("/api/openapi.json").json()["info"]["title"] == "Tokui API"
