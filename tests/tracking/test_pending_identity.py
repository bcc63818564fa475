"""A visitor who signs up before their customer record reaches Tokui: the visit and the cart become theirs once
the record arrives (a connector, the API or an import), not never."""

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
from tokui.commerce.models import Cart
from tokui.tracking.models import AnonymousIdentity, Event, PendingIdentity, TrackingSite
from tokui.tracking.tag_ingest import PENDING_IDENTITY_DAYS, pending_identities_resolve

pytestmark = pytest.mark.django_db

BROWSER = "anon-new-customer-01"
EMAIL = "hanako@example.jp"


@pytest.fixture
def send(client: Client, site: TrackingSite, django_capture_on_commit_callbacks: Any) -> Callable[..., None]:
    def post(*events: dict[str, Any], anonymous_id: str = BROWSER) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/t/v1/batch?key={site.write_key}",
                data=tag_batch(*events, anonymous_id=anonymous_id),
                content_type="text/plain",
                headers={"Origin": SHOP_ORIGIN},
            )
        assert response.status_code == 200, response.content

    return post


def resolve(django_capture_on_commit_callbacks: Any) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        return pending_identities_resolve()


def test_a_sign_up_before_the_customer_arrives_is_linked_when_they_do(
    send: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ProductFactory(sku="TS-001", price=Decimal("4900"))
    send(
        tag_event("product_viewed", sku="TS-001"),
        tag_event("cart_item_added", sku="TS-001", quantity=2, price=4900),
        tag_event("signed_up", email=EMAIL),
    )
    assert not Event.objects.filter(contact__isnull=False).exists()
    assert PendingIdentity.objects.get().email == EMAIL
    assert resolve(django_capture_on_commit_callbacks) == 0  # nobody to link to yet: it keeps waiting
    assert PendingIdentity.objects.exists()

    hanako = ContactFactory(email=EMAIL, company=None)  # the shop's customer record arrives
    assert resolve(django_capture_on_commit_callbacks) == 1

    assert set(Event.objects.filter(anonymous_id=BROWSER).values_list("contact_id", flat=True)) == {hanako.pk}
    assert AnonymousIdentity.objects.get(anonymous_id=BROWSER).contact_id == hanako.pk
    cart = Cart.objects.get(source="tag", anonymous_id=BROWSER)
    assert cart.contact_id == hanako.pk
    assert not PendingIdentity.objects.exists()


def test_a_browser_that_logged_in_as_a_known_customer_since_is_left_alone(
    send: Any, django_capture_on_commit_callbacks: Any
) -> None:
    send(tag_event("signed_up", email=EMAIL))
    known = ContactFactory(email="known@example.jp")
    send(tag_event("logged_in", email="known@example.jp"))
    ContactFactory(email=EMAIL)

    assert resolve(django_capture_on_commit_callbacks) == 0
    assert AnonymousIdentity.objects.get(anonymous_id=BROWSER).contact_id == known.pk
    assert not PendingIdentity.objects.exists()


def test_the_latest_unknown_sign_in_of_a_browser_is_the_one_that_waits(send: Any) -> None:
    send(tag_event("logged_in", email="first@example.jp"))
    send(tag_event("logged_in", contact_external_id="C-77"))
    pending = PendingIdentity.objects.get()
    assert (pending.email, pending.contact_external_id) == ("", "C-77")


def test_a_wait_longer_than_the_limit_is_forgotten(send: Any, django_capture_on_commit_callbacks: Any) -> None:
    send(tag_event("signed_up", email=EMAIL))
    later = timezone.now() + dt.timedelta(days=PENDING_IDENTITY_DAYS + 1)
    ContactFactory(email=EMAIL)
    with django_capture_on_commit_callbacks(execute=True):
        assert pending_identities_resolve(now=later) == 0
    assert not PendingIdentity.objects.exists()
    assert not AnonymousIdentity.objects.exists()
