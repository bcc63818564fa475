"""API: orders (with lines), carts and favourites: bulk upserts by a source's external ids, and reads."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import Http404, HttpRequest
from ninja import Query, Router

from tokui.accounts.api_auth import ApiKeyAuth
from tokui.accounts.api_contract import (
    READ_ERRORS,
    READ_ONE_ERRORS,
    SOURCE_HELP,
    SOURCE_PATTERN,
    WRITE_ERRORS,
    BulkOut,
    Page,
    bulk_apply,
    paginate,
)
from tokui.accounts.enums import ApiScope
from tokui.commerce.models import Order
from tokui.commerce.schemas import (
    CartBulkIn,
    CartFilters,
    CartOut,
    CartRecord,
    FavoriteBulkIn,
    FavoriteFilters,
    FavoriteOut,
    FavoriteRecord,
    OrderBulkIn,
    OrderFilters,
    OrderOut,
    OrderRecord,
)
from tokui.commerce.selectors import carts_matching, favorites_matching, order_get, orders_matching
from tokui.commerce.services import carts_upsert_batch, favorites_apply_batch, orders_upsert_batch

router = Router(tags=["commerce"])

Source = Annotated[str, Query(pattern=SOURCE_PATTERN, description=SOURCE_HELP)]


@router.post("/orders/bulk", response={200: BulkOut, **WRITE_ERRORS}, auth=ApiKeyAuth(ApiScope.WRITE))
def orders_bulk(request: HttpRequest, source: Source, payload: OrderBulkIn) -> BulkOut:
    """Create or update up to 1,000 orders with their lines; one result per order.

    Customers are named by `company_external_id` / `contact_external_id`, products by `product_external_id` or
    `sku`, all within `source`. A new order is an `order_placed` fact on the customer's timeline.
    """
    return bulk_apply(
        source=source,
        records=payload.records,
        model=OrderRecord,
        to_domain=OrderRecord.to_domain,
        apply=lambda records: orders_upsert_batch(source=source, records=records),
    )


@router.get("/orders", response={200: Page[OrderOut], **READ_ERRORS}, auth=ApiKeyAuth(ApiScope.READ))
def orders_list(request: HttpRequest, filters: Query[OrderFilters]) -> dict[str, Any]:
    """Orders with their lines in id order, filtered by source, time placed or changed, customer, status, channel."""
    orders = orders_matching(
        source=filters.source,
        external_id=filters.external_id,
        updated_since=filters.updated_since,
        placed_since=filters.placed_since,
        placed_before=filters.placed_before,
        company_id=filters.company_id,
        contact_id=filters.contact_id,
        status=filters.status,
        channel=filters.channel,
    )
    return paginate(orders, page=filters)


@router.get("/orders/{order_id}", response={200: OrderOut, **READ_ONE_ERRORS}, auth=ApiKeyAuth(ApiScope.READ))
def order_detail(request: HttpRequest, order_id: int) -> Order:
    order = order_get(order_id=order_id) if 0 < order_id < 2**63 else None
    if order is None:
        raise Http404
    return order


@router.post("/carts/bulk", response={200: BulkOut, **WRITE_ERRORS}, auth=ApiKeyAuth(ApiScope.WRITE))
def carts_bulk(request: HttpRequest, source: Source, payload: CartBulkIn) -> BulkOut:
    """Store up to 1,000 carts as the shop reports them now; lines name products by external id or SKU."""
    return bulk_apply(
        source=source,
        records=payload.records,
        model=CartRecord,
        to_domain=CartRecord.to_domain,
        apply=lambda records: carts_upsert_batch(source=source, records=records),
    )


@router.get("/carts", response={200: Page[CartOut], **READ_ERRORS}, auth=ApiKeyAuth(ApiScope.READ))
def carts_list(request: HttpRequest, filters: Query[CartFilters]) -> dict[str, Any]:
    """Carts with their lines in id order, filtered by source, change time, state and customer."""
    carts = carts_matching(
        source=filters.source,
        external_id=filters.external_id,
        updated_since=filters.updated_since,
        state=filters.state,
        company_id=filters.company_id,
        contact_id=filters.contact_id,
    )
    return paginate(carts, page=filters)


@router.post("/favorites/bulk", response={200: BulkOut, **WRITE_ERRORS}, auth=ApiKeyAuth(ApiScope.WRITE))
def favorites_bulk(request: HttpRequest, source: Source, payload: FavoriteBulkIn) -> BulkOut:
    """Add (or with `removed: true` delete) up to 1,000 favourites, each known by contact and product."""
    return bulk_apply(
        source=source,
        records=payload.records,
        model=FavoriteRecord,
        to_domain=FavoriteRecord.to_domain,
        apply=lambda records: favorites_apply_batch(source=source, records=records),
        key_field="contact_external_id",
    )


@router.get("/favorites", response={200: Page[FavoriteOut], **READ_ERRORS}, auth=ApiKeyAuth(ApiScope.READ))
def favorites_list(request: HttpRequest, filters: Query[FavoriteFilters]) -> dict[str, Any]:
    """Favourites in id order, filtered by company, contact, product and time added."""
    favorites = favorites_matching(
        company_id=filters.company_id,
        contact_id=filters.contact_id,
        product_id=filters.product_id,
        added_since=filters.added_since,
    )
    return paginate(favorites, page=filters)
