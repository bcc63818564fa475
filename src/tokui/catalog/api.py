"""API: categories and products: bulk upserts by a source's external ids, and reads."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema

from tokui.accounts.api_auth import ApiKeyAuth
from tokui.accounts.api_contract import (
    READ_ERRORS,
    READ_ONE_ERRORS,
    SOURCE_HELP,
    SOURCE_PATTERN,
    WRITE_ERRORS,
    AwareTime,
    BulkIn,
    BulkOut,
    Count,
    MoneyIn,
    MoneyOut,
    Page,
    PageQuery,
    QueryTime,
    RawRecord,
    RecordIn,
    SiteTime,
    bulk_apply,
    paginate,
    records_schema,
)
from tokui.accounts.enums import ApiScope
from tokui.catalog.models import Product
from tokui.catalog.selectors import categories_matching, product_get, products_matching
from tokui.catalog.services import categories_upsert_batch, products_upsert_batch
from tokui.catalog.types import CategoryIn, CategoryRecordIn, ProductIn, ProductRecordIn

router = Router(tags=["catalog"])

ExternalId = Annotated[str, Field(min_length=1, max_length=128)]
Source = Annotated[str, Query(pattern=SOURCE_PATTERN, description=SOURCE_HELP)]


class CategoryRecord(RecordIn):
    """A category. A parent may be sent earlier in the same batch. Fields left out keep their stored value."""

    external_id: ExternalId
    name: str = Field(max_length=100)
    slug: str = Field(max_length=100, description="Unique name for addresses, e.g. `tops` or `トップス`")
    parent_external_id: str | None = Field(None, max_length=128, description="The parent's id in this source")
    sort_order: Count = 0


class ProductRecord(RecordIn):
    """A product. Fields left out keep their stored value (a new product gets the default)."""

    external_id: ExternalId
    sku: str = Field(max_length=64, description="Unique across every source")
    name: str = Field(max_length=200)
    price: MoneyIn = Field(description='List price, e.g. 4900 or "4900"; not negative')
    currency: str = Field("JPY", max_length=3)
    category_external_id: str | None = Field(None, max_length=128, description="The category's id in this source")
    description: str = Field("", max_length=20_000)
    url: str = Field("", max_length=200, description="The product page")
    stock: Count = 0
    is_new: bool = False
    launched_at: AwareTime | None = None
    season: str = Field("", max_length=16, description="e.g. 2026SS")
    status: str = Field("active", max_length=16, description="active, hidden or discontinued")


class CategoryBulkIn(BulkIn):
    records: Annotated[list[RawRecord], records_schema(CategoryRecord)]


class ProductBulkIn(BulkIn):
    records: Annotated[list[RawRecord], records_schema(ProductRecord)]


def _kept(record: RecordIn, renamed: dict[str, str]) -> frozenset[str]:
    left_out = set(type(record).model_fields) - record.model_fields_set - {"external_id"}
    return frozenset(renamed.get(name, name) for name in left_out)


def _category_in(record: CategoryRecord) -> CategoryRecordIn:
    return CategoryRecordIn(
        external_id=record.external_id,
        data=CategoryIn(name=record.name, slug=record.slug, sort_order=record.sort_order),
        parent_external_id=record.parent_external_id or None,
        keep=_kept(record, {"parent_external_id": "parent_id"}),
    )


def _product_in(record: ProductRecord) -> ProductRecordIn:
    values = record.model_dump(exclude={"external_id", "category_external_id"})
    return ProductRecordIn(
        external_id=record.external_id,
        data=ProductIn(**values),
        category_external_id=record.category_external_id or None,
        keep=_kept(record, {"category_external_id": "category_id"}),
    )


class CategoryOut(Schema):
    id: int
    source: str
    external_id: str | None
    name: str
    slug: str
    parent_id: int | None
    sort_order: int
    created_at: SiteTime
    updated_at: SiteTime


class ProductOut(Schema):
    id: int
    source: str
    external_id: str | None
    sku: str
    name: str
    category_id: int | None
    description: str
    price: MoneyOut
    currency: str
    url: str
    image_url: str | None
    stock: int
    is_new: bool
    launched_at: SiteTime | None
    season: str
    status: str
    created_at: SiteTime
    updated_at: SiteTime

    @staticmethod
    def resolve_image_url(product: Product) -> str | None:
        return product.image.url if product.image else None


class SourceFilter(PageQuery):
    source: str | None = Field(None, pattern=SOURCE_PATTERN)
    external_id: str | None = Field(None, max_length=128)
    updated_since: QueryTime | None = Field(None, description="Changed at or after this time")


class CategoryFilters(SourceFilter):
    parent_id: int | None = Field(None, ge=1, le=2**63 - 1)


class ProductFilters(SourceFilter):
    sku: str | None = Field(None, max_length=64)
    category_id: int | None = Field(None, ge=1, le=2**63 - 1)
    status: str | None = Field(None, pattern=r"^(active|hidden|discontinued)$")


@router.post("/categories/bulk", response={200: BulkOut, **WRITE_ERRORS}, auth=ApiKeyAuth(ApiScope.WRITE))
def categories_bulk(request: HttpRequest, source: Source, payload: CategoryBulkIn) -> BulkOut:
    """Create or update up to 1,000 categories by their external id in `source`; one result per record."""
    return bulk_apply(
        source=source,
        records=payload.records,
        model=CategoryRecord,
        to_domain=_category_in,
        apply=lambda records: categories_upsert_batch(source=source, records=records),
    )


@router.get("/categories", response={200: Page[CategoryOut], **READ_ERRORS}, auth=ApiKeyAuth(ApiScope.READ))
def categories_list(request: HttpRequest, filters: Query[CategoryFilters]) -> dict[str, Any]:
    """Categories in id order, filtered by source, external id, change time and parent."""
    found = categories_matching(
        source=filters.source,
        external_id=filters.external_id,
        updated_since=filters.updated_since,
        parent_id=filters.parent_id,
    )
    return paginate(found, page=filters)


@router.post("/products/bulk", response={200: BulkOut, **WRITE_ERRORS}, auth=ApiKeyAuth(ApiScope.WRITE))
def products_bulk(request: HttpRequest, source: Source, payload: ProductBulkIn) -> BulkOut:
    """Create or update up to 1,000 products by their external id in `source`; one result per record."""
    return bulk_apply(
        source=source,
        records=payload.records,
        model=ProductRecord,
        to_domain=_product_in,
        apply=lambda records: products_upsert_batch(source=source, records=records),
    )


@router.get("/products", response={200: Page[ProductOut], **READ_ERRORS}, auth=ApiKeyAuth(ApiScope.READ))
def products_list(request: HttpRequest, filters: Query[ProductFilters]) -> dict[str, Any]:
    """Products in id order, filtered by source, external id, change time, SKU, category and status."""
    found = products_matching(
        source=filters.source,
        external_id=filters.external_id,
        updated_since=filters.updated_since,
        sku=filters.sku,
        category_id=filters.category_id,
        status=filters.status,
    )
    return paginate(found, page=filters)


@router.get("/products/{product_id}", response={200: ProductOut, **READ_ONE_ERRORS}, auth=ApiKeyAuth(ApiScope.READ))
def product_detail(request: HttpRequest, product_id: int) -> Product:
    product = product_get(product_id=product_id) if 0 < product_id < 2**63 else None
    if product is None:
        raise Http404
    return product
