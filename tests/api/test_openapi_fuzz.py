"""Schemathesis against Tokui's own OpenAPI document: generated requests (valid and invalid) never get a 5xx.

Bounded to about 100 generated requests in all (a few per operation), so it runs in every ``make test``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from tests.api.conftest import Api, make_api
from tests.factories import CompanyFactory, ContactFactory, OrderFactory, ProductFactory
from tokui.accounts.enums import ApiScope
from tokui.wsgi import application

EXAMPLES_PER_OPERATION = 4


# Only the fuzzing phase, a few examples per operation (valid and invalid data): about 100 requests in all. The
# coverage phase alone would send thousands.
CONFIG = SchemathesisConfig.from_dict(
    {
        "phases": {"examples": {"enabled": False}, "coverage": {"enabled": False}, "stateful": {"enabled": False}},
        "generation": {"max-examples": EXAMPLES_PER_OPERATION, "mode": "all"},
    }
)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application, config=CONFIG)


@pytest.fixture(autouse=True)
def _keep_the_test_connection(db: None) -> Iterator[None]:
    """The WSGI handler closes "old" connections at each request, which would end the test's transaction; Django's
    test client avoids that the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def admin_api(client: Any, admin: Any) -> Api:
    company = CompanyFactory(source="erp", external_id="C-1")
    ContactFactory(source="erp", external_id="P-1", company=company)
    ProductFactory(source="erp", external_id="PR-1", sku="LINEN-M")
    OrderFactory(company=company)
    return make_api(client, admin, ApiScope.ADMIN)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_the_openapi_document_allows_gets_a_server_error(case: Any, admin_api: Api) -> None:
    response = case.call(headers={"Authorization": f"Bearer {admin_api.token}"})
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
    if response.status_code >= 400 and response.status_code != 405:  # 405 (a method not offered) comes from ninja
        assert set(response.json()) == {"code", "message", "field"}, response.text[:500]
