import datetime as dt
import json
from decimal import Decimal

import pytest

from tests.integrations.connectors.shopify_server import API_VERSION, ORDERS, TOKEN, shopify_server
from tokui.catalog.models import Product
from tokui.commerce.enums import CartState, OrderStatus
from tokui.commerce.models import Cart, Order
from tokui.customers.enums import Channel, ConsentStatus
from tokui.customers.models import ConsentChange, Contact
from tokui.customers.selectors import consent_status
from tokui.integrations.connectors.shopify.client import ShopifyClient, ShopifyError
from tokui.integrations.connectors.shopify.sync import shopify_apply_webhook, shopify_sync
from tokui.integrations.connectors.shopify.webhooks import webhook_is_authentic, webhook_signature

pytestmark = pytest.mark.django_db
SOURCE = "shopify-demo"


def _client(url: str, token: str = TOKEN, waits: list[float] | None = None) -> ShopifyClient:
    return ShopifyClient(
        shop_domain="demo.myshopify.com",
        access_token=token,
        api_version=API_VERSION,
        base_url=url,
        sleep=(waits.append if waits is not None else lambda _seconds: None),
    )


def test_backfill_follows_pages_waits_out_the_rate_limit_and_stores_everything() -> None:
    waits: list[float] = []
    with shopify_server(throttle_once={"orders"}) as stub:
        report = shopify_sync(client=_client(stub.url, waits=waits), source=SOURCE)
    assert any("page_info=2" in path for path in stub.requests), "the second page was never asked for"
    assert 2.0 in waits, "the client did not wait for Retry-After"
    assert Contact.objects.filter(source=SOURCE, company__isnull=True).count() == 3
    assert set(Product.objects.values_list("sku", flat=True)) == {"LS-NV-M", "LS-WH-M", "shopify-variant-911"}
    assert report.counts["orders.created"] == 2 and report.counts["orders.error"] == 1

    order = Order.objects.get(source=SOURCE, external_id="5001")
    # Prices include tax in Japan: the stored total is Shopify's total_price, not tax added twice.
    assert order.total == Decimal("18600") and order.number == "#1001" and order.channel == "web"
    assert order.contact.email == "hanako@example.jp"
    assert Order.objects.get(external_id="5002").status == OrderStatus.CANCELLED

    cart = Cart.objects.get(source=SOURCE, external_id="chk-abc")
    assert cart.state == CartState.ACTIVE and cart.lines.get().product.sku == "LS-WH-M"
    assert cart.recovery_url.endswith("/recover")


def test_consent_follows_shopify_and_a_second_sync_changes_nothing() -> None:
    with shopify_server() as stub:
        shopify_sync(client=_client(stub.url), source=SOURCE)
        history = ConsentChange.objects.count()
        again = shopify_sync(client=_client(stub.url), source=SOURCE)
    hanako = Contact.objects.get(email="hanako@example.jp")
    taro = Contact.objects.get(email="taro@example.jp")
    assert consent_status(contact=hanako, channel=Channel.EMAIL) == ConsentStatus.GRANTED
    assert consent_status(contact=taro, channel=Channel.EMAIL) == ConsentStatus.WITHDRAWN
    assert ConsentChange.objects.count() == history
    assert {key for key, count in again.counts.items() if count} <= {
        "products.unchanged",
        "customers.unchanged",
        "orders.unchanged",
        "orders.error",
        "checkouts.unchanged",
    }


def test_a_wrong_token_is_a_clear_error_not_a_retry_loop() -> None:
    with shopify_server() as stub, pytest.raises(ShopifyError) as error:
        _client(stub.url, token="shpat_wrong").shop()
    assert error.value.status == 401 and "Invalid API key" in error.value.message
    assert len(stub.requests) == 1


def test_test_connection_reads_the_shop() -> None:
    with shopify_server() as stub:
        assert _client(stub.url).shop()["myshopify_domain"] == "demo.myshopify.com"


def test_webhook_signature_is_checked_on_the_raw_body() -> None:
    body = json.dumps(ORDERS[0]).encode()
    signature = webhook_signature(secret="whsec", body=body)
    assert webhook_is_authentic(secret="whsec", body=body, signature=signature)
    assert not webhook_is_authentic(secret="whsec", body=body + b" ", signature=signature)
    assert not webhook_is_authentic(secret="other", body=body, signature=signature)
    assert not webhook_is_authentic(secret="whsec", body=body, signature=None)


def test_order_webhook_creates_the_order_once_and_a_later_cancellation_updates_it() -> None:
    shopify_apply_webhook(source=SOURCE, shop_domain="demo.myshopify.com", topic="orders/create", payload=ORDERS[0])
    shopify_apply_webhook(source=SOURCE, shop_domain="demo.myshopify.com", topic="orders/create", payload=ORDERS[0])
    assert Order.objects.filter(source=SOURCE).count() == 1
    cancelled = {**ORDERS[0], "cancelled_at": dt.datetime(2026, 11, 21, tzinfo=dt.UTC).isoformat()}
    report = shopify_apply_webhook(
        source=SOURCE, shop_domain="demo.myshopify.com", topic="orders/cancelled", payload=cancelled
    )
    assert report.counts["orders.updated"] == 1
    assert Order.objects.get(source=SOURCE).status == OrderStatus.CANCELLED


def test_unknown_webhook_topics_are_ignored() -> None:
    report = shopify_apply_webhook(source=SOURCE, shop_domain="x", topic="app/uninstalled", payload={"id": 1})
    assert report.counts == {"ignored.app/uninstalled": 1}


def test_a_contact_who_unsubscribed_in_tokui_is_not_resubscribed_by_the_next_sync() -> None:
    from tokui.customers.services import consent_record

    with shopify_server() as stub:
        shopify_sync(client=_client(stub.url), source=SOURCE)
        hanako = Contact.objects.get(email="hanako@example.jp")
        consent_record(contact=hanako, channel=Channel.EMAIL, status=ConsentStatus.WITHDRAWN, source="配信停止リンク")
        shopify_sync(client=_client(stub.url), source=SOURCE)
    assert consent_status(contact=hanako, channel=Channel.EMAIL) == ConsentStatus.WITHDRAWN


def test_a_sync_keeps_what_tokui_knows_and_shopify_does_not_send() -> None:
    with shopify_server() as stub:
        shopify_sync(client=_client(stub.url), source=SOURCE)
        Contact.objects.filter(email="hanako@example.jp").update(line_user_id="U" + "a" * 32, title="店長")
        shopify_sync(client=_client(stub.url), source=SOURCE)
    hanako = Contact.objects.get(email="hanako@example.jp")
    assert (hanako.line_user_id, hanako.title) == ("U" + "a" * 32, "店長")
