"""Sync from B-Cart and its webhooks, applied through ``mapping``.

A sync pulls the catalog whole (categories, products and their sets: small, and a changed product does not mark its
sets changed), and members and orders changed since the last cursor minus an overlap window: webhooks are not
guaranteed, so a frequent ``resources=("orders",)`` poll is what makes orders complete. Favourites are pulled whole
and added (a favourite removed in B-Cart is not removed here). Each record is applied in its own savepoint: one bad
record is reported and skipped, the others are stored.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.utils import timezone

from tokui.catalog.selectors import category_ids_by_external_id
from tokui.commerce.services import favorites_apply_batch
from tokui.commerce.types import FavoriteRecordIn
from tokui.integrations.connectors.bcart import mapping
from tokui.integrations.connectors.bcart.client import BcartClient
from tokui.integrations.connectors.bcart.webhooks import (
    EVENT_TYPES,
    EventLedger,
    event_id_of,
    webhook_is_authentic,
)
from tokui.integrations.connectors.reports import SyncReport, apply_record

# Categories before products, products before the orders and favourites that name them; members before orders.
RESOURCES = ("categories", "products", "customers", "orders", "bookmarks")
DEFAULT_OVERLAP = dt.timedelta(minutes=15)


class InvalidWebhookError(Exception):
    """A delivery that is not from B-Cart (bad signature) or not readable; answer 401/400 and apply nothing."""


@dataclass
class _Catalog:
    """B-Cart's catalog as pulled in this run, fetched at most once and only when needed."""

    client: BcartClient
    _products: dict[str, dict[str, Any]] | None = None
    _sets: list[dict[str, Any]] | None = None

    def products(self) -> dict[str, dict[str, Any]]:
        if self._products is None:
            self._products = {str(p["id"]): p for page in self.client.pages("products") for p in page if "id" in p}
        return self._products

    def sets(self) -> list[dict[str, Any]]:
        if self._sets is None:
            self._sets = [s for page in self.client.pages("product_sets") for s in page if "id" in s]
        return self._sets

    def first_set_of(self) -> dict[str, str]:
        """The product set that stands for a product where B-Cart names only the product (its lowest id)."""
        first: dict[str, int] = {}
        for product_set in self.sets():
            product_id, set_id = str(product_set.get("product_id")), int(product_set["id"])
            first[product_id] = min(first.get(product_id, set_id), set_id)
        return {product_id: str(set_id) for product_id, set_id in first.items()}


def bcart_sync(
    *,
    client: BcartClient,
    source: str,
    updated_since: dt.datetime | None = None,
    overlap: dt.timedelta = DEFAULT_OVERLAP,
    resources: Iterable[str] = RESOURCES,
    shop_url: str = "",
    now: dt.datetime | None = None,
) -> SyncReport:
    """Pull ``resources`` from B-Cart: members and orders changed since ``updated_since`` minus ``overlap`` (all when
    ``None``), the catalog and favourites whole. Returns counts, per-record errors and the next cursor."""
    report = SyncReport(cursor=now or timezone.now())
    since = updated_since - overlap if updated_since is not None else None
    catalog = _Catalog(client)
    wanted = set(resources)
    for resource in RESOURCES:
        if resource not in wanted:
            continue
        if resource == "categories":
            _sync_categories(report, client, source)
        elif resource == "products":
            _sync_products(report, catalog, source, shop_url)
        elif resource == "customers":
            names = mapping.price_group_names(catalog.sets())
            _sync_pages(
                report,
                "customers",
                client.customers(changed_since=since),
                partial(mapping.customer_apply, source=source, price_groups=names),
            )
        elif resource == "orders":
            _sync_pages(
                report,
                "orders",
                client.orders(changed_since=since),
                partial(mapping.order_apply, source=source),
            )
        elif resource == "bookmarks":
            _sync_bookmarks(report, client, catalog, source)
    return report


def _sync_pages(
    report: SyncReport,
    resource: str,
    pages: Iterable[list[dict[str, Any]]],
    apply: Callable[..., object],
) -> None:
    done: set[str] = set()  # a record on two pages (new and updated, or moved while paging) is applied once
    for page in pages:
        for payload in page:
            key = str(payload.get("id"))
            if key in done:
                continue
            done.add(key)
            apply_record(report, resource, apply, payload)


def _sync_categories(report: SyncReport, client: BcartClient, source: str) -> None:
    categories = {str(c["id"]): c for page in client.pages("categories") for c in page if "id" in c}

    def depth(category_id: str) -> int:
        seen: set[str] = set()
        current = categories.get(category_id)
        while current is not None and category_id not in seen:
            seen.add(category_id)
            category_id = str(current.get("parent_category_id") or "")
            current = categories.get(category_id)
        return len(seen)

    for key in sorted(categories, key=lambda k: (depth(k), int(k) if k.isdigit() else 0)):
        payload = categories[key]
        parent_key = str(payload.get("parent_category_id") or "")
        parent_id = None
        if parent_key not in ("", "0", key):
            parent_id = category_ids_by_external_id(source=source, external_ids=[parent_key]).get(parent_key)
        apply_record(report, "categories", partial(mapping.category_apply, source=source, parent_id=parent_id), payload)


def _sync_products(report: SyncReport, catalog: _Catalog, source: str, shop_url: str) -> None:
    products = catalog.products()
    category_ids = category_ids_by_external_id(
        source=source, external_ids=[str(p["category_id"]) for p in products.values() if p.get("category_id")]
    )
    for product_set in catalog.sets():
        product = products.get(str(product_set.get("product_id")))
        apply = partial(
            mapping.product_set_apply, source=source, product=product, category_ids=category_ids, shop_url=shop_url
        )
        apply_record(report, "product_sets", apply, product_set)


def _sync_bookmarks(report: SyncReport, client: BcartClient, catalog: _Catalog, source: str) -> None:
    first_set: dict[str, str] | None = None
    for page in client.pages("bookmarks"):
        records: dict[tuple[str, str], FavoriteRecordIn] = {}
        for bookmark in page:
            set_id = str(bookmark.get("product_set_id") or "")
            if not set_id:
                first_set = first_set if first_set is not None else catalog.first_set_of()
                set_id = first_set.get(str(bookmark.get("product_id")), "")
            if not set_id or not bookmark.get("customer_id"):
                report.error("bookmarks", bookmark.get("id"), "the favourite names no known product or member")
                continue
            record = FavoriteRecordIn(
                contact_external_id=mapping.contact_key(bookmark["customer_id"]),
                product_external_id=mapping.product_key(set_id),
                added_at=mapping.parse_time(bookmark.get("created_at")),
            )
            records.setdefault((record.contact_external_id, set_id), record)
        for outcome in favorites_apply_batch(source=source, records=list(records.values())):
            if outcome.error is not None:
                report.error("bookmarks", outcome.key, outcome.error.message, outcome.error.field or "")
            else:
                report.record("bookmarks", outcome.outcome)


def bcart_apply_webhook(*, source: str, payload: dict[str, Any], seen: EventLedger) -> SyncReport:
    """Apply one verified delivery at most once per event id. Unknown event types are ignored (reported as such).

    With a ledger kept in a table, call this inside ``transaction.atomic()`` so the claim commits with the apply.
    """
    report = SyncReport()
    event_type = str(payload.get("event_type") or "")
    resource = EVENT_TYPES.get(event_type)
    if resource is None:
        report.counts[f"ignored.{event_type}"] += 1
        return report
    event_id = event_id_of(payload)
    if event_id and not seen.claim(event_id):
        report.counts["duplicate"] += 1
        return report
    data = payload.get("data")
    record = data.get("object") if isinstance(data, dict) else None
    if not isinstance(record, dict):
        report.error(resource, event_id, "the delivery carries no data.object")
        applied = False
    elif resource == "orders":
        applied = apply_record(report, resource, partial(mapping.order_apply, source=source), record)
    else:
        applied = apply_record(report, resource, partial(mapping.customer_apply, source=source), record)
    if not applied and event_id:
        seen.release(event_id)  # let a redelivery (or the next poll) try again
    return report


def bcart_receive_webhook(
    *, source: str, secret: str, body: bytes, signature: str | None, seen: EventLedger
) -> SyncReport:
    """Check a raw delivery's ``Bcart-Signature``, read it and apply it (what the lead's webhook view calls)."""
    if not webhook_is_authentic(secret=secret, body=body, header=signature):
        raise InvalidWebhookError("the Bcart-Signature does not match this webhook's Secret")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidWebhookError(f"the body is not JSON: {error}") from error
    if not isinstance(payload, dict):
        raise InvalidWebhookError("the body is not a JSON object")
    return bcart_apply_webhook(source=source, payload=payload, seen=seen)
