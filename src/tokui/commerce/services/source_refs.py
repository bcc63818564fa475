"""The customers and products a batch from an outside system names by that system's ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from tokui.catalog.selectors import product_refs_by_external_id, product_refs_by_sku
from tokui.catalog.types import ProductRef
from tokui.commerce.types import CartLineRecordIn, FavoriteRecordIn, OrderLineRecordIn
from tokui.core.batches import unknown_reference
from tokui.core.errors import DomainError
from tokui.customers.selectors import company_ids_by_external_id, contact_ids_by_external_id


@dataclass(frozen=True, slots=True)
class SourceRefs:
    """The customers and products a batch names by a source's ids, looked up once for the whole batch."""

    companies: dict[str, int]
    contacts: dict[str, tuple[int, int | None]]
    products: dict[str, ProductRef]
    skus: dict[str, ProductRef]

    @classmethod
    def load(
        cls,
        *,
        source: str,
        company_keys: Iterable[str | None],
        contact_keys: Iterable[str | None],
        lines: Iterable[OrderLineRecordIn | CartLineRecordIn | FavoriteRecordIn],
    ) -> SourceRefs:
        lines = list(lines)
        return cls(
            companies=company_ids_by_external_id(source=source, external_ids=[k for k in company_keys if k]),
            contacts=contact_ids_by_external_id(source=source, external_ids=[k for k in contact_keys if k]),
            products=product_refs_by_external_id(
                source=source, external_ids=[ln.product_external_id for ln in lines if ln.product_external_id]
            ),
            skus=product_refs_by_sku(skus=[ln.sku for ln in lines if ln.sku and not ln.product_external_id]),
        )

    def customer(self, *, company_key: str | None, contact_key: str | None) -> tuple[int | None, int | None]:
        """(company id, contact id); a contact's company stands in when the company is not named."""
        company_id = contact_id = None
        if contact_key:
            found = self.contacts.get(contact_key)
            if found is None:
                raise unknown_reference(_("contact"), contact_key, field="contact_external_id")
            contact_id, company_id = found
        if company_key:
            company_id = self.companies.get(company_key)
            if company_id is None:
                raise unknown_reference(_("company"), company_key, field="company_external_id")
        return company_id, contact_id

    def product(
        self, line: OrderLineRecordIn | CartLineRecordIn | FavoriteRecordIn, *, field: str, required: bool
    ) -> ProductRef | None:
        if line.product_external_id:
            ref = self.products.get(line.product_external_id)
            if ref is None:
                raise unknown_reference(_("product"), line.product_external_id, field=f"{field}product_external_id")
            return ref
        if not line.sku:
            raise DomainError(_("Name the product by its sku or its product_external_id."), field=f"{field}sku")
        ref = self.skus.get(line.sku)
        if ref is None and required:
            raise unknown_reference(_("product"), line.sku, field=f"{field}sku")
        return ref
