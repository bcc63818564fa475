"""The demo data: deterministic for a seed, shaped like two years of an apparel wholesaler, and quick to load."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from PIL import Image
from pytest_django import DjangoDbBlocker
from pytest_django.fixtures import Settings

from tokui.catalog.models import Product
from tokui.commerce.enums import CartState, OrderChannel, OrderStatus
from tokui.commerce.models import Cart, CartLine, Favorite, Order, OrderLine
from tokui.core.money import quantize
from tokui.core.time import local_today, site_zone
from tokui.customers.enums import ConsentStatus
from tokui.customers.models import Company, Consent, Contact, PointLot
from tokui.demo.generator import DemoDataAlreadyLoadedError, DemoSummary, load_demo_data
from tokui.tracking.enums import EventType
from tokui.tracking.models import Event

A_PAST_DAY = dt.date(2026, 3, 20)
CLASS_SCALE = 0.1


def _rows(queryset: Any, *fields: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in queryset.values_list(*fields)]


def _without_ids(properties: dict[str, Any]) -> dict[str, Any]:
    """Primary keys differ between databases (sequences are not rolled back); everything else must not."""
    return {key: value for key, value in properties.items() if not key.endswith("_id")}


def _fingerprint() -> str:
    demo = {"source": "demo"}
    rows = {
        "companies": _rows(
            Company.objects.filter(**demo).order_by("external_id"),
            "external_id",
            "name",
            "name_kana",
            "prefecture",
            "address",
            "phone",
            "rank",
            "approval_status",
            "price_rate",
            "price_group__name",
            "assigned_rep__username",
            "agency__code",
        ),
        "contacts": _rows(
            Contact.objects.filter(**demo).order_by("external_id"),
            "external_id",
            "name",
            "email",
            "company__external_id",
            "birthday",
            "line_user_id",
            "is_primary",
        ),
        "consents": _rows(
            Consent.objects.order_by("contact__external_id", "channel"),
            "contact__external_id",
            "channel",
            "status",
            "source",
            "recorded_at",
        ),
        "points": _rows(
            PointLot.objects.order_by("external_id"),
            "external_id",
            "contact__external_id",
            "company__external_id",
            "granted_points",
            "granted_at",
            "expires_at",
        ),
        "products": _rows(
            Product.objects.filter(**demo).order_by("sku"),
            "sku",
            "name",
            "price",
            "category__slug",
            "season",
            "launched_at",
            "status",
            "stock",
            "image",
        ),
        "orders": _rows(
            Order.objects.filter(**demo).order_by("number"),
            "number",
            "company__external_id",
            "contact__external_id",
            "channel",
            "status",
            "placed_at",
            "shipped_at",
            "cancelled_at",
            "total",
            "sales_rep__username",
        ),
        "lines": _rows(
            OrderLine.objects.order_by("order__number", "line_no"),
            "order__number",
            "line_no",
            "sku",
            "quantity",
            "unit_price",
        ),
        "carts": _rows(
            Cart.objects.order_by("external_id"),
            "external_id",
            "state",
            "contact__external_id",
            "anonymous_id",
            "last_activity_at",
            "converted_order__number",
        ),
        "cart_lines": _rows(
            CartLine.objects.order_by("cart__external_id", "product__sku"),
            "cart__external_id",
            "product__sku",
            "quantity",
            "unit_price",
        ),
        "favorites": _rows(
            Favorite.objects.order_by("external_id"), "external_id", "contact__external_id", "product__sku", "added_at"
        ),
        "events": [
            (*row[:-1], _without_ids(row[-1]))
            for row in _rows(
                Event.objects.filter(source="demo")
                .exclude(type__in=["order_placed", "order_cancelled"])
                .order_by("id"),
                "idempotency_key",
                "type",
                "occurred_at",
                "contact__external_id",
                "company__external_id",
                "anonymous_id",
                "properties",
            )
        ],
    }
    return hashlib.sha256(json.dumps(rows, default=str, sort_keys=True).encode()).hexdigest()


def _load_fingerprint_and_roll_back(**options: Any) -> str:
    with transaction.atomic():
        load_demo_data(**options)
        fingerprint = _fingerprint()
        transaction.set_rollback(True)
    return fingerprint


@pytest.mark.django_db
def test_demo_load_is_deterministic_for_a_seed() -> None:
    first = _load_fingerprint_and_roll_back(seed=7, today=A_PAST_DAY, scale=0.05)
    assert not Company.objects.exists()
    second = _load_fingerprint_and_roll_back(seed=7, today=A_PAST_DAY, scale=0.05)
    other_seed = _load_fingerprint_and_roll_back(seed=8, today=A_PAST_DAY, scale=0.05)

    assert first == second
    assert other_seed != first


@pytest.mark.django_db
def test_demo_images_are_png_files(settings: Settings, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path
    messages: list[str] = []

    load_demo_data(today=A_PAST_DAY, scale=0.05, progress=messages.append)

    products = list(Product.objects.filter(source="demo"))
    assert products and all(product.image for product in products)
    for product in products[:10]:
        path = tmp_path / product.image.name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(path) as image:
            assert image.size == (320, 320)
    assert product.image.name == f"products/demo-{product.sku.lower()}.png"
    assert messages and all(message.isascii() for message in messages)


@pytest.mark.django_db
def test_demo_times_are_before_now_and_reach_this_month() -> None:
    load_demo_data(scale=0.05)

    now = timezone.now()
    orders = Order.objects.all()
    assert orders.aggregate(Max("placed_at"))["placed_at__max"] < now
    month_start = dt.datetime.combine(local_today().replace(day=1), dt.time.min, tzinfo=site_zone())
    assert orders.filter(placed_at__gte=month_start).exists() or local_today().day <= 3
    assert not Event.objects.filter(occurred_at__gte=now).exists()
    assert not Cart.objects.filter(last_activity_at__gte=now).exists()
    assert not Favorite.objects.filter(added_at__gte=now).exists()


def _end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=site_zone())


@pytest.fixture(scope="class")
def loaded(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[DemoSummary]:
    """One load at 10% scale as of a fixed day, shared by the checks of its shape; rolled back after."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield load_demo_data(today=A_PAST_DAY, scale=CLASS_SCALE)
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.usefixtures("loaded")
class TestTheLoadedDemo:
    def test_demo_summary_counts_the_loaded_rows(self, loaded: DemoSummary) -> None:
        assert loaded.companies == Company.objects.filter(source="demo").count() == 30
        assert loaded.contacts == Contact.objects.filter(company__isnull=False).count()
        assert 2 * loaded.companies <= loaded.contacts <= 4 * loaded.companies
        assert loaded.b2c_contacts == 15
        assert loaded.products == 40
        assert loaded.categories == 15
        assert 1_800 <= loaded.orders <= 2_200
        assert loaded.order_lines == OrderLine.objects.count()
        assert loaded.carts == 120 and loaded.favorites == 300
        assert 9_500 <= loaded.events <= 10_500
        assert loaded.users == 7

    def test_demo_channel_mix_is_close_to_target(self) -> None:
        counts = Counter(Order.objects.values_list("channel", flat=True))
        total = sum(counts.values())
        targets = {
            OrderChannel.WEB: 0.60,
            OrderChannel.SALES_REP: 0.25,
            OrderChannel.FAX: 0.10,
            OrderChannel.PHONE: 0.05,
        }
        for channel, share in targets.items():
            assert counts[channel] / total == pytest.approx(share, abs=0.07), channel
        assert not Order.objects.filter(company__isnull=True).exclude(channel=OrderChannel.WEB).exists()

    def test_demo_sales_rep_orders_carry_the_assigned_rep(self) -> None:
        rep_orders = Order.objects.filter(channel=OrderChannel.SALES_REP).select_related("company")
        assert rep_orders.exists()
        assert all(order.sales_rep_id == order.company.assigned_rep_id for order in rep_orders if order.company)

    def test_demo_orders_have_seasons_and_dormant_companies(self, loaded: DemoSummary) -> None:
        by_month = Counter(
            placed.astimezone(site_zone()).month for placed in Order.objects.values_list("placed_at", flat=True)
        )
        season = sum(by_month[m] for m in (2, 3, 8, 9)) / 4
        off_season = sum(by_month[m] for m in (1, 5, 6, 7, 12)) / 5
        assert season > 1.3 * off_season

        assert 0.15 <= loaded.dormant_companies / loaded.companies <= 0.35
        cutoff = _end_of(A_PAST_DAY) - dt.timedelta(days=120)
        dormant = Company.objects.annotate(last=Max("orders__placed_at"), orders_count=Count("orders")).filter(
            last__lt=cutoff
        )
        assert dormant.count() == loaded.dormant_companies
        assert all(company.orders_count >= 3 for company in dormant)  # they ordered regularly, then stopped

    def test_demo_orders_use_launched_products_at_the_company_rate(self) -> None:
        lines = OrderLine.objects.select_related("order__company__price_group", "product")
        for line in lines:
            order, product = line.order, line.product
            assert product is not None and product.launched_at is not None
            assert product.launched_at <= order.placed_at
            rate = (order.company.effective_rate or Decimal(1)) if order.company else Decimal(1)
            assert line.unit_price == quantize(product.price * rate, "JPY")
            assert (3 <= line.quantity <= 24) if order.company else (1 <= line.quantity <= 2)

    def test_demo_orders_are_numbered_shipped_and_sometimes_cancelled(self) -> None:
        orders = Order.objects.all()
        assert orders.aggregate(Max("placed_at"))["placed_at__max"] <= _end_of(A_PAST_DAY)
        assert all(re.fullmatch(r"TK-\d{8}-\d{5}", number) for number in orders.values_list("number", flat=True))
        statuses = Counter(orders.values_list("status", flat=True))
        assert statuses[OrderStatus.CANCELLED] / orders.count() == pytest.approx(0.02, abs=0.015)
        assert not orders.filter(status=OrderStatus.DELIVERED, shipped_at__isnull=True).exists()
        assert not orders.filter(status=OrderStatus.CANCELLED, cancelled_at__isnull=True).exists()
        assert orders.filter(status__in=[OrderStatus.CONFIRMED, OrderStatus.SHIPPED]).exists()

    def test_demo_every_order_has_an_order_placed_fact(self) -> None:
        facts = Event.objects.filter(type=EventType.ORDER_PLACED, source="demo")
        assert facts.count() == Order.objects.count()
        assert not facts.filter(dispatched_at__isnull=True).exists()  # history must not trigger scenarios

    def test_demo_carts_are_mostly_abandoned(self) -> None:
        carts = Cart.objects.all()
        states = Counter(carts.values_list("state", flat=True))
        assert states[CartState.ABANDONED] / carts.count() == pytest.approx(0.7, abs=0.05)
        assert states[CartState.CONVERTED] / carts.count() == pytest.approx(0.2, abs=0.05)
        for cart in carts.filter(state=CartState.ABANDONED):
            assert cart.abandoned_at == cart.last_activity_at + dt.timedelta(hours=1)
            assert cart.external_id and cart.recovery_url.endswith(f"?restore={cart.external_id}")
        for cart in carts.filter(converted_order__isnull=False).select_related("converted_order"):
            order = cart.converted_order
            assert order is not None and order.placed_at > cart.last_activity_at
            assert (order.contact_id, order.company_id) == (cart.contact_id, cart.company_id)
        active = carts.filter(state=CartState.ACTIVE)
        assert all(_end_of(A_PAST_DAY) - cart.last_activity_at < dt.timedelta(hours=4) for cart in active)
        assert not Cart.objects.annotate(n=Count("lines")).filter(n=0).exists()

    def test_demo_web_events_are_sessions_of_known_and_anonymous_visitors(self) -> None:
        web = Event.objects.filter(source="demo").exclude(type__in=[EventType.ORDER_PLACED, EventType.ORDER_CANCELLED])
        assert set(web.values_list("type", flat=True)) <= set(EventType.values)
        keys = list(web.values_list("idempotency_key", flat=True))
        assert len(set(keys)) == len(keys) and all(key.startswith("demo-ev-") for key in keys)
        known = web.filter(contact__isnull=False).count() / web.count()
        assert 0.7 <= known <= 0.92
        assert not web.filter(anonymous_id="").exists()
        assert not web.filter(occurred_at__lt=_end_of(A_PAST_DAY) - dt.timedelta(days=181)).exists()
        viewed = web.filter(type=EventType.PRODUCT_VIEWED).first()
        assert viewed is not None and {"product_id", "sku", "name", "url"} <= set(viewed.properties)
        assert web.filter(type=EventType.SEARCHED).exists() and web.filter(type=EventType.CART_ABANDONED).exists()

    def test_demo_large_accounts_keep_viewing_new_arrivals_this_week(self) -> None:
        week = Event.objects.filter(
            type=EventType.PAGE_VIEWED,
            properties__url="https://shop.example.jp/products/new",
            occurred_at__gte=_end_of(A_PAST_DAY) - dt.timedelta(days=7),
            company__isnull=False,
        )
        per_company = week.values("company").annotate(views=Count("id"), buyers=Count("contact", distinct=True))
        assert any(row["views"] >= 3 and row["buyers"] >= 2 for row in per_company)

    def test_demo_customers_have_consent_points_and_a_primary_buyer(self) -> None:
        contacts = Contact.objects.filter(source="demo")
        granted = Consent.objects.filter(channel="email", status=ConsentStatus.GRANTED).count()
        assert 0.7 <= granted / contacts.count() <= 0.95
        day_end = _end_of(A_PAST_DAY)
        assert PointLot.objects.filter(expires_at__gt=day_end, expires_at__lte=day_end + dt.timedelta(days=30)).exists()
        assert all(company.contacts.filter(is_primary=True).count() == 1 for company in Company.objects.all())
        assert all(contact.name_kana and contact.email.isascii() for contact in contacts)

    def test_demo_refuses_to_load_twice(self) -> None:
        with pytest.raises(DemoDataAlreadyLoadedError):
            load_demo_data(scale=CLASS_SCALE)
        assert Company.objects.filter(source="demo").count() == 30


@pytest.mark.slow
@pytest.mark.django_db
def test_demo_full_scale_hits_the_target_counts() -> None:
    summary = load_demo_data()

    assert 270 <= summary.companies <= 330
    assert 800 <= summary.contacts <= 1_000
    assert 18_000 <= summary.orders <= 22_000
    assert 90_000 <= summary.events <= 110_000
    assert 0.65 <= summary.abandoned_carts / summary.carts <= 0.75
    assert 0.2 <= summary.dormant_companies / summary.companies <= 0.3
    assert summary.products == 400 and summary.favorites == 3_000 and summary.b2c_contacts == 150
