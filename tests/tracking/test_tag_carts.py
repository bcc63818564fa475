"""Cart facts from the tag keep commerce.Cart current, so abandoned carts are known without a cart connector."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import ContactFactory, ProductFactory
from tests.tracking.conftest import SHOP_ORIGIN
from tests.tracking.tag_payloads import tag_batch, tag_event
from tokui.catalog.models import Product
from tokui.commerce.enums import CartState
from tokui.commerce.models import Cart, Order
from tokui.commerce.services import cart_apply_tag_events, carts_mark_abandoned
from tokui.tracking.models import Event, TrackingSite

pytestmark = pytest.mark.django_db

BROWSER = "anon-cart-browser"


@pytest.fixture
def send(client: Client, site: TrackingSite, django_capture_on_commit_callbacks: Any) -> Callable[..., dict[str, Any]]:
    """Post a batch and run what happens after commit (the fact dispatch), as the worker would."""

    def post(*events: dict[str, Any], anonymous_id: str = BROWSER) -> dict[str, Any]:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/t/v1/batch?key={site.write_key}",
                data=tag_batch(*events, anonymous_id=anonymous_id),
                content_type="text/plain",
                headers={"Origin": SHOP_ORIGIN},
            )
        assert response.status_code == 200, response.content
        return response.json()

    return post


@pytest.fixture
def shirt() -> Product:
    return ProductFactory(sku="TS-001", source="shop", external_id="P-1", price=Decimal("4900"))


@pytest.fixture
def pants() -> Product:
    return ProductFactory(sku="PT-002", price=Decimal("8800"))


def lines_of(cart: Cart) -> dict[str, tuple[int, Decimal]]:
    return {line.product.sku: (line.quantity, line.unit_price) for line in cart.lines.select_related("product")}


def test_cart_events_keep_the_browsers_cart_and_its_lines_current(send: Any, shirt: Product, pants: Product) -> None:
    send(
        tag_event("cart_item_added", sku="TS-001", quantity=2, price=2940),
        tag_event("cart_item_added", product_id="P-1", quantity=1),  # the shop's own product id works too
        tag_event("cart_item_added", sku="PT-002"),
    )
    cart = Cart.objects.get(source="tag")
    assert cart.state == CartState.ACTIVE
    assert cart.anonymous_id == BROWSER
    assert lines_of(cart) == {"TS-001": (3, Decimal("2940")), "PT-002": (1, Decimal("8800"))}

    send(tag_event("cart_item_removed", sku="PT-002"), tag_event("cart_item_removed", sku="TS-001", quantity=1))
    cart.refresh_from_db()
    assert lines_of(cart) == {"TS-001": (2, Decimal("2940"))}


def test_cart_updated_with_all_items_replaces_the_lines(send: Any, shirt: Product, pants: Product) -> None:
    send(tag_event("cart_item_added", sku="TS-001", quantity=5))
    send(tag_event("cart_updated", items=[{"sku": "PT-002", "quantity": 3, "price": "7000"}]))
    assert lines_of(Cart.objects.get()) == {"PT-002": (3, Decimal("7000"))}
    send(tag_event("cart_updated", items=[]))
    assert Cart.objects.get().state == CartState.EMPTIED


def test_facts_dispatched_twice_or_out_of_order_give_the_same_cart(send: Any, shirt: Product) -> None:
    now = timezone.now()
    send(
        tag_event("cart_item_added", at=now - dt.timedelta(minutes=1), sku="TS-001", quantity=1),
        tag_event("cart_item_removed", at=now - dt.timedelta(minutes=3), sku="TS-001"),  # happened first
    )
    ids = list(Event.objects.values_list("id", flat=True))
    cart_apply_tag_events(event_ids=ids)
    cart_apply_tag_events(event_ids=ids)
    assert Cart.objects.count() == 1
    assert lines_of(Cart.objects.get()) == {"TS-001": (1, Decimal("4900"))}


def test_a_login_names_the_owner_of_the_anonymous_cart(send: Any, shirt: Product) -> None:
    buyer = ContactFactory(email="buyer@example.jp")
    send(tag_event("cart_item_added", sku="TS-001"))
    assert Cart.objects.get().contact_id is None
    send(tag_event("logged_in", email="buyer@example.jp"))
    cart = Cart.objects.get()
    assert (cart.contact_id, cart.company_id) == (buyer.pk, buyer.company_id)
    assert cart.state == CartState.ACTIVE


def test_order_complete_from_the_tag_converts_the_cart_without_creating_an_order(send: Any, shirt: Product) -> None:
    buyer = ContactFactory(email="buyer@example.jp")
    send(tag_event("logged_in", email="buyer@example.jp"), tag_event("cart_item_added", sku="TS-001", quantity=4))
    send(tag_event("checkout_started"), tag_event("order_placed", order_id="SHOP-1001", total=19600))
    cart = Cart.objects.get()
    assert cart.state == CartState.CONVERTED
    assert cart.contact_id == buyer.pk
    assert not Order.objects.exists()  # orders come from the shop's system, not from a browser

    send(tag_event("cart_item_added", sku="TS-001"))  # shopping again opens a new cart
    assert Cart.objects.count() == 2
    new_cart = Cart.objects.exclude(pk=cart.pk).get()
    assert new_cart.state == CartState.ACTIVE
    assert lines_of(new_cart) == {"TS-001": (1, Decimal("4900"))}


def test_an_idle_tag_cart_is_known_as_abandoned(send: Any, shirt: Product) -> None:
    buyer = ContactFactory(email="buyer@example.jp")
    two_hours_ago = timezone.now() - dt.timedelta(hours=2)
    send(
        tag_event("logged_in", at=two_hours_ago, email="buyer@example.jp"),
        tag_event("cart_item_added", at=two_hours_ago, sku="TS-001"),
    )
    assert carts_mark_abandoned(idle_for=dt.timedelta(hours=1)) == 1
    cart = Cart.objects.get()
    assert cart.state == CartState.ABANDONED
    abandoned = Event.objects.get(type="cart_abandoned")
    assert abandoned.contact_id == buyer.pk

    send(tag_event("logged_in", email="buyer@example.jp"))  # a login alone does not revive the cart
    assert Cart.objects.get().state == CartState.ABANDONED


def test_a_product_tokui_does_not_know_stays_on_the_timeline_but_out_of_the_cart(send: Any, shirt: Product) -> None:
    send(tag_event("cart_item_added", sku="UNKNOWN-9"), tag_event("cart_item_added", sku="TS-001"))
    assert lines_of(Cart.objects.get()) == {"TS-001": (1, Decimal("4900"))}
    assert Event.objects.filter(properties__sku="UNKNOWN-9").exists()


def test_cart_facts_of_other_sources_are_left_alone(send: Any, shirt: Product) -> None:
    event = Event.objects.create(
        type="cart_item_added", occurred_at=timezone.now(), anonymous_id=BROWSER, source="api", properties={}
    )
    assert cart_apply_tag_events(event_ids=[event.pk]) == 0
    assert not Cart.objects.exists()
