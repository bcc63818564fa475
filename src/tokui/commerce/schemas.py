"""API shapes of orders, carts and favourites: records in, objects out, filters."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from ninja import Field, Schema

from tokui.accounts.api_contract import (
    SOURCE_PATTERN,
    AwareTime,
    BulkIn,
    Count,
    MoneyIn,
    MoneyOut,
    PageQuery,
    QueryTime,
    RawRecord,
    RecordIn,
    SiteTime,
    records_schema,
)
from tokui.commerce.models import Cart, CartLine
from tokui.commerce.types import (
    CartLineRecordIn,
    CartRecordIn,
    FavoriteRecordIn,
    OrderLineRecordIn,
    OrderRecordIn,
)

ExternalId = Annotated[str, Field(min_length=1, max_length=128)]
Reference = Annotated[str | None, Field(max_length=128)]
IdFilter = Annotated[int | None, Field(ge=1, le=2**63 - 1)]

# --- Records in ----------------------------------------------------------------------------------------------------


class OrderLineRecord(RecordIn):
    """A line: the product by `product_external_id` (this source) or by `sku`. An unknown SKU is kept unlinked."""

    sku: str = Field("", max_length=64)
    product_external_id: Reference = None
    product_name: str = Field("", max_length=200)
    quantity: Count
    unit_price: MoneyIn


class OrderRecord(RecordIn):
    """An order with its lines. The whole order is replaced by what is sent; totals are computed from the lines."""

    external_id: ExternalId
    placed_at: AwareTime
    lines: list[OrderLineRecord] = Field(max_length=1000)
    company_external_id: Reference = Field(None, description="The company's id in this source")
    contact_external_id: Reference = Field(None, description="The buyer's id in this source")
    number: str = Field("", max_length=64)
    channel: str = Field("web", max_length=16, description="web, sales_rep, fax, phone or pos")
    status: str = Field(
        "confirmed", max_length=16, description="pending, confirmed, shipped, delivered, cancelled or refunded"
    )
    currency: str = Field("JPY", max_length=3)
    discount_total: MoneyIn = Decimal(0)
    shipping_fee: MoneyIn = Decimal(0)
    tax_total: MoneyIn = Decimal(0)
    shipped_at: AwareTime | None = None
    note: str = Field("", max_length=5000)

    def to_domain(self) -> OrderRecordIn:
        return OrderRecordIn(
            external_id=self.external_id,
            placed_at=self.placed_at,
            lines=[
                OrderLineRecordIn(
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    sku=line.sku,
                    product_external_id=line.product_external_id or None,
                    product_name=line.product_name,
                )
                for line in self.lines
            ],
            company_external_id=self.company_external_id or None,
            contact_external_id=self.contact_external_id or None,
            number=self.number,
            channel=self.channel,
            status=self.status,
            currency=self.currency,
            discount_total=self.discount_total,
            shipping_fee=self.shipping_fee,
            tax_total=self.tax_total,
            shipped_at=self.shipped_at,
            note=self.note,
        )


class CartLineRecord(RecordIn):
    sku: str = Field("", max_length=64)
    product_external_id: Reference = None
    quantity: Count
    unit_price: MoneyIn | None = Field(None, description="Defaults to the product's list price")


class CartRecord(RecordIn):
    """A cart as the shop reports it now (its lines replace the stored ones; no lines = emptied)."""

    external_id: ExternalId
    last_activity_at: AwareTime
    lines: list[CartLineRecord] = Field(default_factory=list, max_length=500)
    contact_external_id: Reference = None
    company_external_id: Reference = None
    anonymous_id: str = Field("", max_length=64)
    currency: str = Field("JPY", max_length=3)
    recovery_url: str = Field("", max_length=500, description="A link that brings the customer back to the cart")

    def to_domain(self) -> CartRecordIn:
        return CartRecordIn(
            external_id=self.external_id,
            last_activity_at=self.last_activity_at,
            lines=[
                CartLineRecordIn(
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    sku=line.sku,
                    product_external_id=line.product_external_id or None,
                )
                for line in self.lines
            ],
            contact_external_id=self.contact_external_id or None,
            company_external_id=self.company_external_id or None,
            anonymous_id=self.anonymous_id,
            currency=self.currency,
            recovery_url=self.recovery_url,
        )


class FavoriteRecord(RecordIn):
    """A favourite (お気に入り), known by its contact and its product; `removed: true` deletes it."""

    contact_external_id: ExternalId
    sku: str = Field("", max_length=64)
    product_external_id: Reference = None
    added_at: AwareTime | None = None
    removed: bool = False

    def to_domain(self) -> FavoriteRecordIn:
        return FavoriteRecordIn(
            contact_external_id=self.contact_external_id,
            sku=self.sku,
            product_external_id=self.product_external_id or None,
            added_at=self.added_at,
            removed=self.removed,
        )


class OrderBulkIn(BulkIn):
    records: Annotated[list[RawRecord], records_schema(OrderRecord)]


class CartBulkIn(BulkIn):
    records: Annotated[list[RawRecord], records_schema(CartRecord)]


class FavoriteBulkIn(BulkIn):
    records: Annotated[list[RawRecord], records_schema(FavoriteRecord)]


# --- Objects out ---------------------------------------------------------------------------------------------------


class OrderLineOut(Schema):
    line_no: int
    product_id: int | None
    sku: str
    product_name: str
    quantity: int
    unit_price: MoneyOut
    amount: MoneyOut


class OrderOut(Schema):
    id: int
    source: str
    external_id: str | None
    number: str
    company_id: int | None
    contact_id: int | None
    channel: str
    status: str
    placed_at: SiteTime
    shipped_at: SiteTime | None
    cancelled_at: SiteTime | None
    currency: str
    subtotal: MoneyOut
    discount_total: MoneyOut
    shipping_fee: MoneyOut
    tax_total: MoneyOut
    total: MoneyOut
    note: str
    lines: list[OrderLineOut]
    created_at: SiteTime
    updated_at: SiteTime


class CartLineOut(Schema):
    product_id: int
    sku: str
    quantity: int
    unit_price: MoneyOut
    added_at: SiteTime

    @staticmethod
    def resolve_sku(line: CartLine) -> str:
        return line.product.sku


class CartOut(Schema):
    id: int
    source: str
    external_id: str | None
    contact_id: int | None
    company_id: int | None
    anonymous_id: str
    state: str
    currency: str
    last_activity_at: SiteTime
    abandoned_at: SiteTime | None
    converted_order_id: int | None
    recovery_url: str
    lines: list[CartLineOut]
    created_at: SiteTime
    updated_at: SiteTime

    @staticmethod
    def resolve_lines(cart: Cart) -> list[CartLine]:
        return list(cart.lines.all())


class FavoriteOut(Schema):
    id: int
    contact_id: int
    company_id: int | None
    product_id: int
    added_at: SiteTime


# --- Filters -------------------------------------------------------------------------------------------------------


class SourceFilter(PageQuery):
    source: str | None = Field(None, pattern=SOURCE_PATTERN)
    external_id: str | None = Field(None, max_length=128)
    updated_since: QueryTime | None = Field(None, description="Changed at or after this time")


class OrderFilters(SourceFilter):
    placed_since: QueryTime | None = Field(None, description="Placed at or after this time")
    placed_before: QueryTime | None = Field(None, description="Placed before this time")
    company_id: IdFilter = None
    contact_id: IdFilter = None
    status: str | None = Field(None, pattern=r"^[a-z_]{1,16}$")
    channel: str | None = Field(None, pattern=r"^[a-z_]{1,16}$")


class CartFilters(SourceFilter):
    state: str | None = Field(None, pattern=r"^(active|abandoned|converted|emptied)$")
    company_id: IdFilter = None
    contact_id: IdFilter = None


class FavoriteFilters(PageQuery):
    company_id: IdFilter = None
    contact_id: IdFilter = None
    product_id: IdFilter = None
    added_since: QueryTime | None = None
