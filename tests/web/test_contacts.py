"""Individual (B2C) customers and the customer page of one contact."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import CompanyFactory, ContactFactory, OrderFactory, ProductFactory, UserFactory
from tokui.accounts.enums import Role
from tokui.commerce.enums import CartState, OrderStatus
from tokui.commerce.models import Cart, CartLine, Favorite
from tokui.customers.enums import Channel, ConsentStatus
from tokui.customers.services import consent_record
from tokui.tracking.services import event_record

pytestmark = pytest.mark.django_db


def test_the_individual_list_shows_only_customers_without_a_company_and_finds_them_by_email(
    marketer_client: Client,
) -> None:
    ContactFactory(company=None, name="佐藤 美咲", email="misaki@example.jp")
    ContactFactory(company=None, name="高橋 健", email="ken@example.jp")
    ContactFactory(name="会社の担当者")
    listing = marketer_client.get(reverse("web:contact_list")).content.decode()
    assert "佐藤 美咲" in listing and "高橋 健" in listing and "会社の担当者" not in listing
    found = marketer_client.get(reverse("web:contact_list"), {"q": "misaki@"}).content.decode()
    assert "佐藤 美咲" in found and "高橋 健" not in found


def test_an_individual_customer_page_shows_orders_cart_favourites_consent_and_timeline(
    marketer_client: Client,
) -> None:
    contact = ContactFactory(company=None, name="佐藤 美咲")
    OrderFactory(company=None, contact=contact, number="B2C-0001")
    OrderFactory(company=None, contact=contact, number="B2C-0002", status=OrderStatus.CANCELLED)
    shirt, pants = ProductFactory(name="リネンシャツ"), ProductFactory(name="ワイドパンツ")
    now = dt.datetime.now(tz=dt.UTC)
    cart = Cart.objects.create(contact=contact, state=CartState.ABANDONED, last_activity_at=now)
    CartLine.objects.create(cart=cart, product=shirt, quantity=1, unit_price=shirt.price, added_at=now)
    Favorite.objects.create(contact=contact, product=pants, added_at=now)
    consent_record(contact=contact, channel=Channel.EMAIL, status=ConsentStatus.GRANTED, source="会員登録")
    event_record(type="page_viewed", contact_id=contact.pk, occurred_at=now - dt.timedelta(hours=2), properties={})
    event_record(type="product_viewed", contact_id=contact.pk, occurred_at=now, properties={"name": "最新の閲覧"})

    page = marketer_client.get(reverse("web:contact_detail", args=[contact.pk])).content.decode()
    assert "佐藤 美咲" in page and "個人のお客様" in page
    assert "B2C-0001" in page and "B2C-0002" in page
    assert "リネンシャツ" in page and "ワイドパンツ" in page
    assert "会員登録" in page
    assert page.index("最新の閲覧") < page.index("ページを閲覧")


def test_a_company_contact_links_from_the_company_page_to_their_own_page(marketer_client: Client) -> None:
    contact = ContactFactory(name="鈴木 花子")
    company_page = marketer_client.get(reverse("web:company_detail", args=[contact.company_id])).content.decode()
    assert reverse("web:contact_detail", args=[contact.pk]) in company_page
    page = marketer_client.get(reverse("web:contact_detail", args=[contact.pk])).content.decode()
    assert contact.company.name in page


def test_a_sales_rep_sees_the_contacts_of_their_companies_only(client: Client) -> None:
    rep = UserFactory(username="sato", role=Role.SALES_REP)
    own = ContactFactory(company=CompanyFactory(assigned_rep=rep))
    other = ContactFactory()
    individual = ContactFactory(company=None, name="個人客")
    client.force_login(rep)
    assert client.get(reverse("web:contact_detail", args=[own.pk])).status_code == 200
    assert client.get(reverse("web:contact_detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("web:contact_detail", args=[individual.pk])).status_code == 404
    assert "個人客" not in client.get(reverse("web:contact_list")).content.decode()
