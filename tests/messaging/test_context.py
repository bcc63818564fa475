"""The Liquid context of one contact, read from the other apps: last order, points, recommendations, ranking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
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
