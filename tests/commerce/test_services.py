import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import CompanyFactory, ContactFactory, ProductFactory
from tokui.commerce import services
from tokui.commerce.enums import CartState
from tokui.commerce.models import Cart, Order, OrderLine
from tokui.commerce.types import CartIn, CartLineIn, OrderIn, OrderLineIn
from tokui.core.enums import UpsertOutcome
from tokui.core.errors import DomainError
from tokui.tracking.models import Event

pytestmark = pytest.mark.django_db

PLACED_AT = dt.datetime(2026, 11, 20, 14, 30, tzinfo=dt.UTC)


def _order(
    company_id: int, product_sku: str, *, quantity: int = 3, status: str = "confirmed", **extra: object
) -> OrderIn:
    return OrderIn(
        company_id=company_id,
        placed_at=PLACED_AT,
        lines=[OrderLineIn(sku=product_sku, quantity=quantity, unit_price=Decimal("2940"))],
        tax_total=Decimal("882"),
        status=status,
        number="FAX-0001",
        channel="fax",
        **extra,  # type: ignore[arg-type]
    )


def test_same_order_twice_creates_one_order_one_fact_and_reports_unchanged() -> None:
    company, product = CompanyFactory(), ProductFactory(sku="TK-1")
    first = services.order_upsert(source="csv", external_id="FAX-0001", data=_order(company.pk, "TK-1"))
    second = services.order_upsert(source="csv", external_id="FAX-0001", data=_order(company.pk, "TK-1"))
    assert (first.outcome, second.outcome) == (UpsertOutcome.CREATED, UpsertOutcome.UNCHANGED)
    order = Order.objects.get()
    assert order.subtotal == Decimal("8820") and order.total == Decimal("9702")
    line = OrderLine.objects.get()
    assert (line.product_id, line.product_name) == (product.pk, product.name)
    assert Event.objects.filter(type="order_placed", company=company).count() == 1


def test_changed_lines_update_the_order() -> None:
    company = CompanyFactory()
    ProductFactory(sku="TK-1")
    services.order_upsert(source="csv", external_id="1", data=_order(company.pk, "TK-1", quantity=3))
    result = services.order_upsert(source="csv", external_id="1", data=_order(company.pk, "TK-1", quantity=5))
    assert result.outcome == UpsertOutcome.UPDATED
    assert OrderLine.objects.get().quantity == 5


def test_cancelling_an_order_is_a_fact_once() -> None:
    company = CompanyFactory()
    ProductFactory(sku="TK-1")
    services.order_upsert(source="csv", external_id="1", data=_order(company.pk, "TK-1"))
    services.order_upsert(source="csv", external_id="1", data=_order(company.pk, "TK-1", status="cancelled"))
    services.order_upsert(source="csv", external_id="1", data=_order(company.pk, "TK-1", status="cancelled"))
    assert Event.objects.filter(type="order_cancelled").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": []}, "lines"),
        ({"channel": "carrier-pigeon"}, "channel"),
        ({"currency": "円"}, "currency"),
        ({"placed_at": dt.datetime(2026, 4, 1, 10, 0)}, "placed_at"),
        ({"lines": [OrderLineIn(sku="TK-1", quantity=0, unit_price=Decimal(100))]}, "lines[0].quantity"),
    ],
)
def test_invalid_orders_are_refused_with_the_field_and_nothing_is_stored(change: dict[str, object], field: str) -> None:
    company = CompanyFactory()
    data = _order(company.pk, "TK-1")
    values = {**data.__dict__} if hasattr(data, "__dict__") else {name: getattr(data, name) for name in data.__slots__}
    values.update(change)
    with pytest.raises(DomainError) as error:
        services.order_upsert(source="csv", external_id="bad", data=OrderIn(**values))  # type: ignore[arg-type]
    assert error.value.field == field
    assert not Order.objects.exists()


def test_order_without_a_customer_is_refused_in_japanese() -> None:
    with pytest.raises(DomainError) as error:
        services.order_upsert(
            source="csv",
            external_id="x",
            data=OrderIn(placed_at=timezone.now(), lines=[OrderLineIn(sku="A", quantity=1, unit_price=Decimal(1))]),
        )
    assert error.value.message == "受注には取引先または担当者が必要です。"


def test_an_order_converts_the_buyers_open_cart() -> None:
    contact = ContactFactory()
    product = ProductFactory(sku="TK-9")
    cart = services.cart_upsert(
        source="tag",
        external_id="cart-1",
        data=CartIn(
            contact_id=contact.pk,
            last_activity_at=timezone.now() - dt.timedelta(hours=3),
            lines=[CartLineIn(product_id=product.pk, quantity=2, unit_price=Decimal("4900"))],
        ),
    ).instance
    assert cart.company_id == contact.company_id
    services.order_upsert(
        source="web",
        external_id="o-1",
        data=OrderIn(
            company_id=contact.company_id,
            contact_id=contact.pk,
            placed_at=timezone.now() - dt.timedelta(minutes=5),
            lines=[OrderLineIn(sku="TK-9", quantity=2, unit_price=Decimal("4900"))],
        ),
    )
    cart.refresh_from_db()
    assert cart.state == CartState.CONVERTED


def test_idle_carts_are_marked_abandoned_once_with_a_fact() -> None:
    contact = ContactFactory()
    product = ProductFactory()
    now = timezone.now()
    for n, idle in enumerate([dt.timedelta(hours=2), dt.timedelta(minutes=10)]):
        services.cart_upsert(
            source="tag",
            external_id=f"cart-{n}",
            data=CartIn(
                contact_id=contact.pk,
                last_activity_at=now - idle,
                lines=[CartLineIn(product_id=product.pk, quantity=1, unit_price=Decimal("1000"))],
            ),
        )
    assert services.carts_mark_abandoned(idle_for=dt.timedelta(hours=1), now=now) == 1
    assert services.carts_mark_abandoned(idle_for=dt.timedelta(hours=1), now=now) == 0
    assert Cart.objects.get(external_id="cart-0").state == CartState.ABANDONED
    assert Cart.objects.get(external_id="cart-1").state == CartState.ACTIVE
    assert Event.objects.filter(type="cart_abandoned", contact=contact).count() == 1


def test_bulk_load_skips_orders_already_stored() -> None:
    company = CompanyFactory()
    product = ProductFactory()
    line = OrderLineIn(
        sku=product.sku, product_id=product.pk, product_name=product.name, quantity=1, unit_price=Decimal(500)
    )
    orders = [(f"o{n}", OrderIn(company_id=company.pk, placed_at=timezone.now(), lines=[line])) for n in range(5)]
    assert services.orders_load_new(source="import", orders=orders[:3]) == 3
    assert services.orders_load_new(source="import", orders=orders) == 2
    assert Order.objects.count() == 5
    assert OrderLine.objects.count() == 5
    assert Event.objects.filter(type="order_placed").count() == 5


def test_favourites_add_and_remove_are_facts() -> None:
    contact = ContactFactory()
    product = ProductFactory()
    services.favorite_add(contact_id=contact.pk, product_id=product.pk)
    services.favorite_add(contact_id=contact.pk, product_id=product.pk)
    assert services.favorite_remove(contact_id=contact.pk, product_id=product.pk)
    assert list(Event.objects.filter(contact=contact).values_list("type", flat=True).order_by("id")) == [
        "favorite_added",
        "favorite_removed",
    ]
