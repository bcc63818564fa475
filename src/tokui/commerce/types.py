from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class OrderLineIn:
    sku: str
    quantity: int
    unit_price: Decimal
    product_name: str = ""
    product_id: int | None = None


@dataclass(frozen=True, slots=True)
class OrderIn:
    placed_at: dt.datetime
    lines: list[OrderLineIn]
    company_id: int | None = None
    contact_id: int | None = None
    number: str = ""
    channel: str = "web"
    status: str = "confirmed"
    currency: str = "JPY"
    discount_total: Decimal = Decimal(0)
    shipping_fee: Decimal = Decimal(0)
    tax_total: Decimal = Decimal(0)
    shipped_at: dt.datetime | None = None
    sales_rep_id: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class CartLineIn:
    product_id: int
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class CartIn:
    last_activity_at: dt.datetime
    lines: list[CartLineIn] = field(default_factory=list)
    contact_id: int | None = None
    company_id: int | None = None
    anonymous_id: str = ""
    currency: str = "JPY"
    recovery_url: str = ""


@dataclass(frozen=True, slots=True)
class CompanyOrderSummary:
    order_count: int
    revenue: Decimal
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class OrderLineRecordIn:
    """An order line from outside: the product by the source's id, or by SKU (an unknown SKU stays unlinked)."""

    quantity: int
    unit_price: Decimal
    sku: str = ""
    product_external_id: str | None = None
    product_name: str = ""


@dataclass(frozen=True, slots=True)
class OrderRecordIn:
    """An order as an outside system sends it: its customer and products named by that system's ids."""

    external_id: str
    placed_at: dt.datetime
    lines: list[OrderLineRecordIn]
    company_external_id: str | None = None
    contact_external_id: str | None = None
    number: str = ""
    channel: str = "web"
    status: str = "confirmed"
    currency: str = "JPY"
    discount_total: Decimal = Decimal(0)
    shipping_fee: Decimal = Decimal(0)
    tax_total: Decimal = Decimal(0)
    shipped_at: dt.datetime | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class CartLineRecordIn:
    """A cart line from outside; without a unit price the product's list price is used."""

    quantity: int
    unit_price: Decimal | None = None
    sku: str = ""
    product_external_id: str | None = None


@dataclass(frozen=True, slots=True)
class CartRecordIn:
    external_id: str
    last_activity_at: dt.datetime
    lines: list[CartLineRecordIn] = field(default_factory=list)
    contact_external_id: str | None = None
    company_external_id: str | None = None
    anonymous_id: str = ""
    currency: str = "JPY"
    recovery_url: str = ""


@dataclass(frozen=True, slots=True)
class FavoriteRecordIn:
    """A favourite from outside, known by its contact and product; ``removed`` deletes it."""

    contact_external_id: str
    sku: str = ""
    product_external_id: str | None = None
    added_at: dt.datetime | None = None
    removed: bool = False


@dataclass(frozen=True, slots=True)
class CartItem:
    """One line of an open cart as a mail shows it: the product's name, image (storage name), page and price."""

    product_id: int
    product_name: str
    product_image: str
    product_url: str
    product_price: Decimal
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class OpenCart:
    recovery_url: str
    items: list[CartItem] = field(default_factory=list)
