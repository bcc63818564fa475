"""The Liquid context of one contact, read from the other apps: last order, points, recommendations, ranking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from tests.factories import ContactFactory, OrderFactory, OrderLineFactory, ProductFactory
from tokui.analytics.services import basket_partners_rebuild
from tokui.customers.services import points_grant
from tokui.messaging.selectors import contacts_for_mail
from tokui.messaging.templating.context import SharedParts, mail_context
from tokui.messaging.types import SenderData
from tokui.tracking.enums import EventType
from tokui.tracking.services import event_record

pytestmark = pytest.mark.django_db

SENDER = SenderData(name="得意商事", email="shop@example.jp", company="得意商事株式会社", address="東京都")
EVERYTHING = frozenset({"cart", "last_order", "points", "recommendations", "ranking"})


def test_the_context_holds_the_contacts_last_order_points_recommendations_and_the_ranking() -> None:
    shirt, scarf, socks, viewed = (
        ProductFactory(name=name, url=f"https://shop.example.jp/{i}")
        for i, name in enumerate(["シャツ", "スカーフ", "靴下", "帽子"])
    )
    for _ in range(3):  # other customers buy the shirt with the scarf
        order = OrderFactory(contact=ContactFactory())
        OrderLineFactory(order=order, product=shirt)
        OrderLineFactory(order=order, product=scarf)
    buyer = ContactFactory(name="山田 花子")
    mine = OrderFactory(contact=buyer, company=buyer.company, total=Decimal(12800))
    OrderLineFactory(order=mine, product=shirt, quantity=2, unit_price=Decimal(4900))
    OrderLineFactory(order=OrderFactory(contact=ContactFactory()), product=socks)
    event_record(
        type=EventType.PRODUCT_VIEWED,
        occurred_at=timezone.now(),
        contact_id=buyer.pk,
        company_id=buyer.company_id,
        properties={"product_id": viewed.pk},
    )
    points_grant(contact=buyer, points=500, expires_at=timezone.now() + dt.timedelta(days=10))
    points_grant(contact=buyer, points=1000, expires_at=timezone.now() + dt.timedelta(days=300))
    basket_partners_rebuild(today=timezone.localdate() + dt.timedelta(days=1))  # tonight's bought-together lists

    context = mail_context(
        contact=contacts_for_mail(contact_ids=[buyer.pk])[buyer.pk],
        needed=EVERYTHING,
        shared=SharedParts(sender=SENDER),
        unsubscribe_url="u",
        preferences_url="p",
    )

    assert context["contact"]["name"] == "山田 花子" and context["company"]["name"] == buyer.company.name
    assert context["last_order"]["total"] == 12800
    assert context["last_order"]["lines"] == [{"name": "シャツ", "quantity": 2, "price": 4900}]
    assert context["last_order"]["reorder_url"] == "https://shop.example.jp/0"
    assert context["points"]["balance"] == 1500 and context["points"]["expiring"] == 500
    assert context["points"]["expires_on"] == timezone.localdate(timezone.now() + dt.timedelta(days=10)).isoformat()
    assert [p["name"] for p in context["recommendations"]] == ["スカーフ", "帽子"]  # bought together, then viewed
    assert context["ranking"][0]["name"] == "シャツ" and context["ranking"][0]["rank"] == 1
    assert context["cart"] == {"items": [], "url": ""}
    assert context["sender"]["company"] == "得意商事株式会社"


def test_only_the_parts_a_template_uses_are_read(django_assert_num_queries: Any) -> None:
    buyer = contacts_for_mail(contact_ids=[ContactFactory().pk])
    with django_assert_num_queries(0):
        context = mail_context(
            contact=next(iter(buyer.values())),
            needed=frozenset(),
            shared=SharedParts(sender=SENDER),
            unsubscribe_url="u",
            preferences_url="p",
        )
    assert "cart" not in context and "ranking" not in context and context["coupon"] == {"code": ""}


def _cart(contact: Any, products: list[Any], *, state: str, minutes_ago: int) -> None:
    from tokui.commerce.models import Cart, CartLine

    moment = timezone.now() - dt.timedelta(minutes=minutes_ago)
    cart = Cart.objects.create(contact=contact, state=state, last_activity_at=moment, recovery_url=f"https://c/{state}")
    for quantity, product in enumerate(products, start=1):
        CartLine.objects.create(
            cart=cart, product=product, quantity=quantity, unit_price=product.price, added_at=moment
        )


def _recipients_of_every_kind() -> list[int]:
    """Contacts with and without each part: carts (an older one, an ordered one), orders, points (expired too)."""
    from tokui.commerce.enums import CartState

    shirt, scarf, socks = (
        ProductFactory(name=n, url=f"https://shop.example.jp/{n}") for n in ("シャツ", "帽子", "靴下")
    )
    shirt.image.name = "products/shirt.jpg"
    shirt.save(update_fields=["image"])
    everyone = [ContactFactory() for _ in range(6)]
    _cart(everyone[0], [shirt, scarf], state=CartState.ACTIVE, minutes_ago=5)
    _cart(everyone[0], [socks], state=CartState.ABANDONED, minutes_ago=50)  # older: not the current one
    _cart(everyone[1], [socks, shirt], state=CartState.ABANDONED, minutes_ago=90)
    _cart(everyone[2], [scarf], state=CartState.CONVERTED, minutes_ago=1)  # ordered: no cart to show
    for contact, days in ((everyone[0], 3), (everyone[0], 30), (everyone[3], 1)):
        order = OrderFactory(contact=contact, placed_at=timezone.now() - dt.timedelta(days=days))
        OrderLineFactory(order=order, product=shirt, line_no=1)
        OrderLineFactory(order=order, product=socks, line_no=2, quantity=3)
    points_grant(contact=everyone[1], points=300, expires_at=timezone.now() + dt.timedelta(days=5))
    points_grant(contact=everyone[1], points=700, expires_at=timezone.now() + dt.timedelta(days=200))
    points_grant(contact=everyone[4], points=900, expires_at=None)
    return [contact.pk for contact in everyone]


def test_a_batchs_context_parts_read_at_once_are_those_read_one_recipient_at_a_time() -> None:
    from tokui.messaging.templating.context import contexts_prefetch

    ids = _recipients_of_every_kind()
    recipients = contacts_for_mail(contact_ids=ids)
    needed = frozenset({"cart", "last_order", "points"})
    batch = SharedParts(sender=SENDER)
    contexts_prefetch(contact_ids=ids, needed=needed, shared=batch)

    for pk in ids:
        alone = mail_context(
            contact=recipients[pk], needed=needed, shared=SharedParts(sender=SENDER), unsubscribe_url="u",
            preferences_url="p",
        )  # fmt: skip
        together = mail_context(
            contact=recipients[pk], needed=needed, shared=batch, unsubscribe_url="u", preferences_url="p"
        )
        assert together == alone
    first = batch.parts[ids[0]]
    assert [item["name"] for item in first["cart"]["items"]] == ["シャツ", "帽子"]  # the newest open cart
    assert first["cart"]["items"][0]["image_url"] == f"{settings.SITE_URL.rstrip('/')}/media/products/shirt.jpg"
    assert first["cart"]["items"][1]["image_url"] == "" and first["cart"]["url"] == "https://c/active"
    assert first["last_order"]["lines"] == [  # the latest order (3 days ago), its lines in order
        {"name": "シャツ", "quantity": 2, "price": 5000},
        {"name": "靴下", "quantity": 3, "price": 5000},
    ]
    assert first["last_order"]["ordered_at"] == timezone.localdate(timezone.now() - dt.timedelta(days=3)).isoformat()
    assert batch.parts[ids[2]]["cart"] == {"items": [], "url": ""}
    assert batch.parts[ids[1]]["points"]["balance"] == 1000 and batch.parts[ids[1]]["points"]["expiring"] == 300


def test_a_batchs_context_parts_cost_the_same_queries_for_five_recipients_or_fifty() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tokui.messaging.templating.context import contexts_prefetch

    ids = _recipients_of_every_kind()
    ids += [ContactFactory().pk for _ in range(44)]
    needed = frozenset({"cart", "last_order", "points"})
    counts = []
    for chosen in (ids[:5], ids):
        with CaptureQueriesContext(connection) as queries:
            contexts_prefetch(contact_ids=chosen, needed=needed, shared=SharedParts(sender=SENDER))
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 7


def test_recommendations_read_for_a_batch_are_those_read_one_recipient_at_a_time() -> None:
    from tokui.commerce.enums import CartState
    from tokui.messaging.selectors import recommended_products, recommended_products_of_contacts

    a, b, c, d, e, gone = (ProductFactory(name=name) for name in ("A", "B", "C", "D", "E", "廃番"))
    gone.status = "discontinued"
    gone.save(update_fields=["status"])
    for first, second in ((a, b), (a, b), (c, d), (c, d)):  # other customers: A with B, C with D
        order = OrderFactory(contact=ContactFactory())
        OrderLineFactory(order=order, product=first, line_no=1)
        OrderLineFactory(order=order, product=second, line_no=2)
    basket_partners_rebuild(today=timezone.localdate() + dt.timedelta(days=1))
    with_cart, with_order, viewer, owner = (ContactFactory() for _ in range(4))
    _cart(with_cart, [a], state=CartState.ACTIVE, minutes_ago=1)
    OrderLineFactory(order=OrderFactory(contact=with_order), product=c)
    for contact, product, minutes in ((viewer, gone, 1), (viewer, e, 2), (owner, b, 1)):
        event_record(
            type=EventType.PRODUCT_VIEWED,
            occurred_at=timezone.now() - dt.timedelta(minutes=minutes),
            contact_id=contact.pk,
            company_id=contact.company_id,
            properties={"product_id": product.pk},
        )
    OrderLineFactory(order=OrderFactory(contact=owner), product=b)
    ids = [with_cart.pk, with_order.pk, viewer.pk, owner.pk]

    together = recommended_products_of_contacts(contact_ids=ids, limit=4)

    assert {pk: [p.name for p in found] for pk, found in together.items()} == {
        # a discontinued product and one already bought are left out; B's buyer is offered A, bought with B
        with_cart.pk: ["B"], with_order.pk: ["D"], viewer.pk: ["E"], owner.pk: ["A"],
    }  # fmt: skip
    for pk in ids:
        assert recommended_products(contact_id=pk, limit=4) == together[pk]


def test_recommendations_for_a_batch_cost_the_same_queries_for_four_recipients_or_forty() -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tokui.messaging.selectors import recommended_products_of_contacts

    product = ProductFactory()
    everyone = [ContactFactory() for _ in range(40)]
    for contact in everyone:
        OrderLineFactory(order=OrderFactory(contact=contact), product=product)
    counts = []
    for chosen in (everyone[:4], everyone):
        with CaptureQueriesContext(connection) as queries:
            recommended_products_of_contacts(contact_ids=[c.pk for c in chosen], limit=4)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_batch_works_out_each_product_images_address_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokui.catalog.models import Product
    from tokui.commerce.enums import CartState
    from tokui.messaging.templating.context import contexts_prefetch

    shirt = ProductFactory(name="シャツ")
    shirt.image.name = "products/shirt.jpg"
    shirt.save(update_fields=["image"])
    buyers = [ContactFactory() for _ in range(4)]
    for contact in buyers:
        _cart(contact, [shirt], state=CartState.ACTIVE, minutes_ago=5)
    storage = Product._meta.get_field("image").storage
    asked: list[str] = []
    url_of = storage.url
    monkeypatch.setattr(storage, "url", lambda name: asked.append(name) or url_of(name))

    batch = SharedParts(sender=SENDER)
    contexts_prefetch(contact_ids=[c.pk for c in buyers], needed=frozenset({"cart"}), shared=batch)

    assert asked == ["products/shirt.jpg"]
    expected = f"{settings.SITE_URL.rstrip('/')}/media/products/shirt.jpg"
    assert {batch.parts[c.pk]["cart"]["items"][0]["image_url"] for c in buyers} == {expected}
