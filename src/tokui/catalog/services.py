"""Writes for the catalog."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import URLValidator, validate_unicode_slug
from django.utils.translation import gettext as _

from tokui.catalog.enums import ProductStatus
from tokui.catalog.models import Category, Product
from tokui.catalog.selectors import (
    categories_by_external_id,
    category_ids_by_external_id,
    category_keys_by_slug,
    category_parent_ids,
    product_refs_by_sku,
    products_by_external_id,
)
from tokui.catalog.types import CategoryIn, CategoryRecordIn, ProductIn, ProductRecordIn
from tokui.core.batches import RecordOutcome, keep_stored, records_apply, unknown_reference
from tokui.core.errors import DomainError
from tokui.core.money import quantize
from tokui.core.upserts import UpsertResult, upsert_by_key


def category_upsert(*, source: str, external_id: str, data: CategoryIn) -> UpsertResult[Category]:
    if not data.name.strip():
        raise DomainError(_("A category needs a name."), field="name")
    return upsert_by_key(Category, key={"source": source, "external_id": external_id}, values=dataclasses.asdict(data))


def product_upsert(*, source: str, external_id: str, data: ProductIn) -> UpsertResult[Product]:
    """Create or update a product by its source id. Prices are stored in the currency's minor units."""
    if not data.sku.strip():
        raise DomainError(_("A product needs a SKU."), field="sku")
    if data.price < 0:
        raise DomainError(_("The price cannot be negative."), field="price")
    values = dataclasses.asdict(data)
    values["price"] = quantize(data.price, data.currency)
    return upsert_by_key(Product, key={"source": source, "external_id": external_id}, values=values)


def product_set_image(*, product: Product, filename: str, content: bytes) -> Product:
    product.image.save(filename, ContentFile(content), save=True)
    return product


# --- Batches from outside systems (API, imports, connectors) -----------------------------------------------------


def _slug_checked(slug: str) -> str:
    if not slug.strip():
        raise DomainError(_("A category needs a slug (the name used in addresses, such as “tops”)."), field="slug")
    try:
        validate_unicode_slug(slug)
    except ValidationError as error:
        raise DomainError(" ".join(error.messages), field="slug") from None
    return slug


def _parent_loops(parents: dict[int, int | None], *, category_id: int | None, parent_id: int | None) -> bool:
    """Whether putting ``category_id`` under ``parent_id`` would make the category its own ancestor."""
    seen: set[int] = set()
    current = parent_id
    while current is not None and current not in seen:
        if current == category_id:
            return True
        seen.add(current)
        current = parents.get(current)
    return current is not None  # a loop already stored above: refuse rather than extend it


def categories_upsert_batch(*, source: str, records: Sequence[CategoryRecordIn]) -> list[RecordOutcome]:
    """Upsert the categories of ``source``; a parent may come earlier in the same batch or be stored already."""
    keys = [record.external_id for record in records]
    stored = categories_by_external_id(source=source, external_ids=keys)
    ids = category_ids_by_external_id(
        source=source, external_ids=[r.parent_external_id for r in records if r.parent_external_id]
    )
    slug_holders = category_keys_by_slug(slugs=[record.data.slug for record in records])
    parents = category_parent_ids()

    def apply(record: CategoryRecordIn) -> RecordOutcome:
        current = stored.get(record.external_id)
        data = keep_stored(record.data, current, record.keep)
        if "parent_id" not in record.keep:
            parent_id = None
            if record.parent_external_id:
                parent_id = ids.get(record.parent_external_id)
                if parent_id is None:
                    raise unknown_reference(_("category"), record.parent_external_id, field="parent_external_id")
            data = dataclasses.replace(data, parent_id=parent_id)
        own_id = current.pk if current is not None else ids.get(record.external_id)
        if data.parent_id is not None and _parent_loops(parents, category_id=own_id, parent_id=data.parent_id):
            raise DomainError(
                _("A category cannot be placed under itself or under one of its own subcategories."),
                field="parent_external_id",
            )
        holder = slug_holders.get(_slug_checked(data.slug))
        if holder is not None and holder != (source, record.external_id):
            raise DomainError(
                _("The slug “%(slug)s” is already used by another category. Choose another.") % {"slug": data.slug},
                field="slug",
            )
        result = category_upsert(source=source, external_id=record.external_id, data=data)
        ids[record.external_id] = result.instance.pk
        parents[result.instance.pk] = result.instance.parent_id
        slug_holders[data.slug] = (source, record.external_id)
        return RecordOutcome.stored(record.external_id, result)

    return records_apply(records, key=lambda record: record.external_id, apply=apply)


def _product_checked(data: ProductIn) -> ProductIn:
    if data.status not in ProductStatus.values:
        raise DomainError(
            _("Unknown product status “%(value)s”. Use one of: %(choices)s.")
            % {"value": data.status, "choices": ", ".join(ProductStatus.values)},
            field="status",
        )
    currency = data.currency.upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise DomainError(_("The currency must be a 3-letter code such as JPY."), field="currency")
    if data.url:
        try:
            URLValidator()(data.url)
        except ValidationError:
            raise DomainError(
                _("The product page must be a full address starting with https://."), field="url"
            ) from None
    return dataclasses.replace(data, currency=currency)


def products_upsert_batch(*, source: str, records: Sequence[ProductRecordIn]) -> list[RecordOutcome]:
    """Upsert the products of ``source``; categories are named by the same source's ids, resolved in one query.

    A SKU belongs to one product: a record whose SKU another product holds is refused with that reason.
    """
    stored = products_by_external_id(source=source, external_ids=[record.external_id for record in records])
    category_ids = category_ids_by_external_id(
        source=source, external_ids=[r.category_external_id for r in records if r.category_external_id]
    )
    sku_holders = {
        sku: (ref.source, ref.external_id)
        for sku, ref in product_refs_by_sku(skus=[record.data.sku for record in records]).items()
    }

    def apply(record: ProductRecordIn) -> RecordOutcome:
        data = keep_stored(record.data, stored.get(record.external_id), record.keep)
        if "category_id" not in record.keep:
            category_id = None
            if record.category_external_id:
                category_id = category_ids.get(record.category_external_id)
                if category_id is None:
                    raise unknown_reference(_("category"), record.category_external_id, field="category_external_id")
            data = dataclasses.replace(data, category_id=category_id)
        data = _product_checked(data)
        holder = sku_holders.get(data.sku)
        if holder is not None and holder != (source, record.external_id):
            raise DomainError(
                _("The SKU “%(sku)s” already belongs to another product (%(source)s / %(external_id)s).")
                % {"sku": data.sku, "source": holder[0], "external_id": holder[1] or "-"},
                field="sku",
            )
        result = product_upsert(source=source, external_id=record.external_id, data=data)
        sku_holders[data.sku] = (source, record.external_id)
        return RecordOutcome.stored(record.external_id, result)

    return records_apply(records, key=lambda record: record.external_id, apply=apply)
