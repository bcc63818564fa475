"""Webhook deliveries through the real URL: signature checked on the raw body, applied once, nothing stored when
refused."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.integrations.connections.conftest import WEBHOOK_SECRET, MakeShopify
from tests.integrations.connectors.bcart_server import ORDERS as BCART_ORDERS
from tests.integrations.connectors.shopify_server import ORDERS as SHOPIFY_ORDERS
from tokui.accounts.models import User
from tokui.commerce.models import Order
from tokui.integrations import services
from tokui.integrations.connectors.bcart.webhooks import signature_header
from tokui.integrations.connectors.shopify.webhooks import webhook_signature
from tokui.integrations.enums import ConnectorKind, SyncTrigger
from tokui.integrations.models import Connection, SyncRun

pytestmark = pytest.mark.django_db


def _shopify_post(client: Client, connection: Connection, body: bytes, **headers: str):  # type: ignore[no-untyped-def]
    url = reverse("webhooks:receive", kwargs={"kind": "shopify", "token": connection.webhook_token})
    return client.post(
        url, body, content_type="application/json", headers={"X-Shopify-Topic": "orders/create", **headers}
    )


def _signed(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {"X-Shopify-Hmac-Sha256": webhook_signature(secret=secret, body=body)}


def test_a_signed_shopify_order_webhook_is_stored_once_however_often_it_is_delivered(
    client: Client, make_shopify: MakeShopify
) -> None:
    connection = make_shopify()
    body = json.dumps(SHOPIFY_ORDERS[0]).encode()
    first = _shopify_post(client, connection, body, **_signed(body), **{"X-Shopify-Webhook-Id": "wh-1"})
    again = _shopify_post(client, connection, body, **_signed(body), **{"X-Shopify-Webhook-Id": "wh-1"})
    assert first.status_code == 200 and first.json()["counts"] == {"orders.created": 1}
    assert again.status_code == 200 and again.json()["counts"] == {"duplicate": 1}
    assert Order.objects.filter(source="shopify").count() == 1
    connection.refresh_from_db()
    assert connection.webhooks_received == 2 and connection.last_webhook_at is not None


def test_a_webhook_with_a_wrong_hmac_is_refused_with_401_and_stores_nothing(
    client: Client, make_shopify: MakeShopify
) -> None:
    connection = make_shopify()
    body = json.dumps(SHOPIFY_ORDERS[0]).encode()
    response = _shopify_post(client, connection, body, **_signed(body, secret="someone-else"))
    unsigned = _shopify_post(client, connection, body)
    assert response.status_code == 401 and unsigned.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert "署名" in response.json()["message"]
    assert not Order.objects.exists()


def test_a_webhook_to_an_unknown_address_is_404(client: Client, make_shopify: MakeShopify) -> None:
    make_shopify()
    response = client.post(
        reverse("webhooks:receive", kwargs={"kind": "shopify", "token": "guess"}),
        b"{}",
        content_type="application/json",
    )
    assert response.status_code == 404


def test_a_signed_body_that_is_not_json_is_400(client: Client, make_shopify: MakeShopify) -> None:
    connection = make_shopify()
    body = b"\xff\xfe not json"
    response = _shopify_post(client, connection, body, **_signed(body))
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_a_delivery_whose_record_fails_is_logged_and_can_be_redelivered(
    client: Client, make_shopify: MakeShopify
) -> None:
    connection = make_shopify()
    broken = json.dumps({**SHOPIFY_ORDERS[0], "line_items": "not a list"}).encode()
    response = _shopify_post(client, connection, broken, **_signed(broken), **{"X-Shopify-Webhook-Id": "wh-9"})
    assert response.status_code == 200
    logged = SyncRun.objects.get(connection=connection)
    assert logged.trigger == SyncTrigger.WEBHOOK and logged.error_count == 1
    fixed = json.dumps(SHOPIFY_ORDERS[0]).encode()
    retried = _shopify_post(client, connection, fixed, **_signed(fixed), **{"X-Shopify-Webhook-Id": "wh-9"})
    assert retried.json()["counts"] == {"orders.created": 1}, "a failed delivery must not be marked as applied"


def test_bcart_order_webhooks_are_checked_and_deduplicated_by_event_id(client: Client, admin_user: User) -> None:
    connection = services.connection_create(
        kind=ConnectorKind.BCART,
        name="Bカート",
        source="bcart",
        config={},
        secrets={"access_token": "token", "webhook_secret": "whsec"},
        actor=admin_user,
    )
    url = reverse("webhooks:receive", kwargs={"kind": "bcart", "token": connection.webhook_token})
    payload = {"event_id": "evt-1", "event_type": "order.created", "data": {"object": BCART_ORDERS[0]}}
    body = json.dumps(payload).encode()
    signed = {"Bcart-Signature": signature_header(secret="whsec", date="1767225600", body=body)}
    forged = {"Bcart-Signature": signature_header(secret="other", date="1767225600", body=body)}

    assert client.post(url, body, content_type="application/json", headers=forged).status_code == 401
    assert not Order.objects.exists()
    first = client.post(url, body, content_type="application/json", headers=signed)
    again = client.post(url, body, content_type="application/json", headers=signed)
    assert first.status_code == 200 and first.json()["counts"] == {"orders.created": 1}
    assert again.json()["counts"] == {"duplicate": 1}
    assert Order.objects.filter(source="bcart").count() == 1


def test_eccube_has_no_webhook_address(client: Client, admin_user: User) -> None:
    connection = services.connection_create(
        kind=ConnectorKind.ECCUBE,
        name="EC-CUBE",
        source="eccube",
        config={"shop_url": "https://shop.example.jp"},
        secrets={"access_token": "token"},
        actor=admin_user,
    )
    url = reverse("webhooks:receive", kwargs={"kind": "eccube", "token": connection.webhook_token})
    assert client.post(url, b"{}", content_type="application/json").status_code == 404
