"""factory-boy factories for the core model. Build realistic rows; tests override what they are about."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.catalog.models import Category, Product
from tokui.commerce.enums import OrderChannel, OrderStatus
from tokui.commerce.models import Order, OrderLine
from tokui.customers.models import Company, Contact


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.MARKETER
    password = factory.django.Password("correct-horse-battery")


class CompanyFactory(factory.django.DjangoModelFactory[Company]):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"株式会社テスト商店{n}")
    name_kana = factory.Sequence(lambda n: f"テストショウテン{n}")
    code = factory.Sequence(lambda n: f"T{n:05d}")
    prefecture = "13"


class ContactFactory(factory.django.DjangoModelFactory[Contact]):
    class Meta:
        model = Contact

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"山田 太郎{n}")
    name_kana = "ヤマダ タロウ"
    email = factory.Sequence(lambda n: f"buyer{n}@shop.example.jp")


class CategoryFactory(factory.django.DjangoModelFactory[Category]):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"カテゴリ{n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory[Product]):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"リネンシャツ {n}")
    category = factory.SubFactory(CategoryFactory)
    price = Decimal("4900")


class OrderFactory(factory.django.DjangoModelFactory[Order]):
    class Meta:
        model = Order

    company = factory.SubFactory(CompanyFactory)
    contact = None
    channel = OrderChannel.WEB
    status = OrderStatus.DELIVERED
    placed_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=3))
    subtotal = Decimal("10000")
    total = Decimal("11000")
    tax_total = Decimal("1000")
    number = factory.Sequence(lambda n: f"TK-{n:06d}")


class OrderLineFactory(factory.django.DjangoModelFactory[OrderLine]):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    line_no = factory.Sequence(lambda n: n + 1)
    product = factory.SubFactory(ProductFactory)
    sku = factory.LazyAttribute(lambda line: line.product.sku)
    product_name = factory.LazyAttribute(lambda line: line.product.name)
    quantity = 2
    unit_price = Decimal("5000")
    amount = Decimal("10000")
