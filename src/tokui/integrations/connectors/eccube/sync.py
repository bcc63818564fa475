"""Sync from EC-CUBE 4 through the Web API plugin, applied through ``mapping``.

The catalog is pulled whole (products with their classes and categories); members and orders changed since the last
cursor minus an overlap window (``update_datetime_start``; EC-CUBE sorts these lists by last change, so a record
changed while paging may move: the overlap and the next run catch it). Favourites come with their member and are
added (a favourite removed in EC-CUBE is not removed here). Each record is applied in its own savepoint: one bad
record is reported and skipped, the others are stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.utils import timezone

from tokui.commerce.services import favorites_apply_batch
from tokui.integrations.connectors.eccube import mapping
from tokui.integrations.connectors.eccube.client import EccubeClient
from tokui.integrations.connectors.reports import SyncReport, apply_record

# Products before the orders and favourites that name them; members before their orders.
RESOURCES = ("products", "customers", "orders")
DEFAULT_OVERLAP = dt.timedelta(minutes=15)


def eccube_sync(
    *,
    client: EccubeClient,
    source: str,
    updated_since: dt.datetime | None = None,
    overlap: dt.timedelta = DEFAULT_OVERLAP,
    resources: Iterable[str] = RESOURCES,
    now: dt.datetime | None = None,
) -> SyncReport:
    """Pull ``resources`` from EC-CUBE: members and orders changed since ``updated_since`` minus ``overlap`` (all
    when ``None``), the catalog whole. Returns counts, per-record errors and the next cursor."""
    report = SyncReport(cursor=now or timezone.now())
    since = updated_since - overlap if updated_since is not None else None
    wanted = set(resources)
    if "products" in wanted:
        apply_product = partial(mapping.product_apply, source=source, shop_url=client.shop_url)
        for page in client.products():
            for payload in page:
                apply_record(report, "products", apply_product, payload)
    if "customers" in wanted:
        apply_customer = partial(mapping.customer_apply, source=source, mailmaga_field=client.mailmaga_field)
        for page in client.customers(changed_since=since):
            stored = [payload for payload in page if apply_record(report, "customers", apply_customer, payload)]
            _apply_favorites(report, source, stored)
    if "orders" in wanted:
        done: set[str] = set()
        for page in client.orders(changed_since=since):
            for payload in page:
                if str(payload.get("id")) not in done:
                    done.add(str(payload.get("id")))
                    apply_record(report, "orders", partial(mapping.order_apply, source=source), payload)
    return report


def _apply_favorites(report: SyncReport, source: str, customers: list[dict[str, Any]]) -> None:
    records = {
        (r.contact_external_id, r.product_external_id): r for c in customers for r in mapping.favorite_records(c)
    }
    if not records:
        return
    for outcome in favorites_apply_batch(source=source, records=list(records.values())):
        if outcome.error is not None:
            report.error("favorites", outcome.key, outcome.error.message, outcome.error.field or "")
        else:
            report.record("favorites", outcome.outcome)
