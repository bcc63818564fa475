from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import QuerySet

from tokui.catalog.enums import ProductStatus
from tokui.catalog.models import Category, Product
from tokui.catalog.types import ProductRef


def products_on_sale() -> QuerySet[Product]:
    return Product.objects.filter(status=ProductStatus.ACTIVE).select_related("category")


def categories() -> QuerySet[Category]:
    return Category.objects.select_related("parent")


# --- Lookups by a source's ids and filtered lists, for the API and imports -----------------------------------------


def category_ids_by_external_id(*, source: str, external_ids: Iterable[str]) -> dict[str, int]:
    """Tokui ids of the categories ``source`` knows by ``external_ids`` (one query)."""
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    rows = Category.objects.filter(source=source, external_id__in=wanted).values_list("external_id", "id")
    return {external_id: pk for external_id, pk in rows if external_id is not None}


def categories_by_external_id(*, source: str, external_ids: Iterable[str]) -> dict[str, Category]:
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    return {c.external_id: c for c in Category.objects.filter(source=source, external_id__in=wanted) if c.external_id}


def category_parent_ids() -> dict[int, int | None]:
    """Every category's parent: the tree is small, and checking a new parent for a loop needs all of it."""
    return dict(Category.objects.values_list("id", "parent_id"))


def category_with_descendants(category_id: int) -> set[int]:
    """The category and everything below it."""
    return categories_with_descendants([category_id])


def categories_with_descendants(category_ids: Iterable[int]) -> set[int]:
    """The categories and every category below them (the tree is small: read it whole)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in category_parent_ids().items():
        children.setdefault(parent, []).append(pk)
    found = set(category_ids)
    todo = list(found)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def category_keys_by_slug(*, slugs: Iterable[str]) -> dict[str, tuple[str, str | None]]:
    """``{slug: (source, external id)}`` of the categories that hold ``slugs`` (slugs are unique)."""
    wanted = sorted(set(slugs))
    if not wanted:
        return {}
    rows = Category.objects.filter(slug__in=wanted).values_list("slug", "source", "external_id")
    return {slug: (source, external_id) for slug, source, external_id in rows}


def _product_refs(products: QuerySet[Product]) -> list[ProductRef]:
    rows = products.values_list("id", "sku", "name", "price", "source", "external_id")
    return [ProductRef(id=r[0], sku=r[1], name=r[2], price=r[3], source=r[4], external_id=r[5]) for r in rows]


def product_refs_by_external_id(*, source: str, external_ids: Iterable[str]) -> dict[str, ProductRef]:
    """The products ``source`` knows by ``external_ids`` (one query)."""
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    refs = _product_refs(Product.objects.filter(source=source, external_id__in=wanted))
    return {ref.external_id: ref for ref in refs if ref.external_id is not None}


def product_refs_by_sku(*, skus: Iterable[str]) -> dict[str, ProductRef]:
    """The products holding ``skus``, whatever their source (SKUs are unique; one query)."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    return {ref.sku: ref for ref in _product_refs(Product.objects.filter(sku__in=wanted))}


def products_by_external_id(*, source: str, external_ids: Iterable[str]) -> dict[str, Product]:
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    return {p.external_id: p for p in Product.objects.filter(source=source, external_id__in=wanted) if p.external_id}


def categories_matching(
    *,
    source: str | None = None,
    external_id: str | None = None,
    updated_since: dt.datetime | None = None,
    parent_id: int | None = None,
) -> QuerySet[Category]:
    """Categories by source, external id, change time and parent, oldest id first (a stable order to page)."""
    found = Category.objects.all()
    if source:
        found = found.filter(source=source)
    if external_id:
        found = found.filter(external_id=external_id)
    if updated_since is not None:
        found = found.filter(updated_at__gte=updated_since)
    if parent_id is not None:
        found = found.filter(parent_id=parent_id)
    return found.order_by("id")


def products_matching(
    *,
    source: str | None = None,
    external_id: str | None = None,
    updated_since: dt.datetime | None = None,
    sku: str | None = None,
    category_id: int | None = None,
    status: str | None = None,
) -> QuerySet[Product]:
    found = Product.objects.all()
    if source:
        found = found.filter(source=source)
    if external_id:
        found = found.filter(external_id=external_id)
    if updated_since is not None:
        found = found.filter(updated_at__gte=updated_since)
    if sku:
        found = found.filter(sku=sku)
    if category_id is not None:
        found = found.filter(category_id=category_id)
    if status:
        found = found.filter(status=status)
    return found.order_by("id")


def product_get(*, product_id: int) -> Product | None:
    return Product.objects.filter(pk=product_id).first()
