from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class CategoryIn:
    name: str
    slug: str
    parent_id: int | None = None
    sort_order: int = 0


@dataclass(frozen=True, slots=True)
class ProductIn:
    sku: str
    name: str
    price: Decimal
    currency: str = "JPY"
    category_id: int | None = None
    description: str = ""
    url: str = ""
    stock: int = 0
    is_new: bool = False
    launched_at: dt.datetime | None = None
    season: str = ""
    status: str = "active"


@dataclass(frozen=True, slots=True)
class CategoryRecordIn:
    """A category as an outside system sends it, its parent named by that system's id (``None``: top level).

    ``keep`` names the fields it left out: a stored category keeps them.
    """

    external_id: str
    data: CategoryIn
    parent_external_id: str | None = None
    keep: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ProductRecordIn:
    """A product as an outside system sends it, its category named by that system's id."""

    external_id: str
    data: ProductIn
    category_external_id: str | None = None
    keep: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ProductRef:
    """Enough of a product to reference it from an order, cart or favourite."""

    id: int
    sku: str
    name: str
    price: Decimal
    source: str
    external_id: str | None
