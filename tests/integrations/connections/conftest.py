from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.integrations.connectors.shopify_server import API_VERSION, TOKEN
from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.integrations import services
from tokui.integrations.enums import ConnectorKind
from tokui.integrations.models import Connection

WEBHOOK_SECRET = "shpss_webhook_secret"

MakeShopify = Callable[..., Connection]


@pytest.fixture
def admin_user(db: None) -> User:
    return UserFactory(username="owner", role=Role.ADMIN)


@pytest.fixture
def admin_client(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    return client


@pytest.fixture
def make_shopify(admin_user: User) -> MakeShopify:
    def make(base_url: str = "http://127.0.0.1:9", *, token: str = TOKEN, **changes: object) -> Connection:
        values: dict[str, object] = {
            "kind": ConnectorKind.SHOPIFY,
            "name": "本店 Shopify",
            "source": "shopify",
            "config": {"shop_domain": "demo.myshopify.com", "api_version": API_VERSION, "base_url": base_url},
            "secrets": {"access_token": token, "webhook_secret": WEBHOOK_SECRET},
            "actor": admin_user,
        }
        values.update(changes)
        return services.connection_create(**values)  # type: ignore[arg-type]

    return make
