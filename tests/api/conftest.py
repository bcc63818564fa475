"""An API client with a real key of the scopes a test needs; requests go through the whole Django stack."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from tests.factories import UserFactory
from tokui.accounts.enums import ApiScope, Role
from tokui.accounts.models import User
from tokui.accounts.services import api_key_create


@dataclass
class Api:
    """Calls /api/ with ``Authorization: Bearer <token>`` and JSON bodies."""

    client: Client
    token: str
    key_id: int

    def headers(self, language: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if language:
            headers["Accept-Language"] = language
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None, *, language: str | None = None) -> Any:
        return self.client.get(f"/api{path}", params or {}, headers=self.headers(language))

    def post(self, path: str, body: Any, *, source: str | None = "erp", language: str | None = None) -> Any:
        url = f"/api{path}" + (f"?source={source}" if source is not None else "")
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        return self.client.post(url, data, content_type="application/json", headers=self.headers(language))

    def bulk(self, path: str, records: list[dict[str, Any]], *, source: str = "erp") -> dict[str, Any]:
        """POST records and return the JSON, after checking the call itself succeeded."""
        response = self.post(path, {"records": records}, source=source)
        assert response.status_code == 200, response.content
        return dict(response.json())


@pytest.fixture
def admin(db: None) -> User:
    return UserFactory(username="admin", role=Role.ADMIN)


def make_api(client: Client, admin: User, *scopes: ApiScope) -> Api:
    created = api_key_create(name=f"test {'+'.join(scopes)}", scopes=list(scopes), created_by=admin)
    return Api(client=client, token=created.token, key_id=created.key.pk)


@pytest.fixture
def api(client: Client, admin: User) -> Api:
    """A key that may read and write (as an ERP connector would have)."""
    return make_api(client, admin, ApiScope.READ, ApiScope.WRITE)


@pytest.fixture
def read_api(client: Client, admin: User) -> Api:
    return make_api(client, admin, ApiScope.READ)


def outcomes(body: dict[str, Any]) -> list[str]:
    return [result["outcome"] for result in body["results"]]
