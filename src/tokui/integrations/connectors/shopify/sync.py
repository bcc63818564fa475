"""Backfill and incremental sync from Shopify, and the webhook topics, applied through ``mapping``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any

from tokui.integrations.connectors.reports import SyncReport, apply_record
from tokui.integrations.connectors.shopify import mapping
from tokui.integrations.connectors.shopify.client import ShopifyClient
from tokui.integrations.connectors.shopify.webhooks import TOPICS

# Products first so order lines and carts find their SKUs; customers before their orders.
RESOURCES = ("products", "customers", "orders", "checkouts")


def _appliers(source: str, shop_domain: str) -> dict[str, Callable[..., object]]:
    return {
        "products": partial(mapping.product_apply, source=source, shop_domain=shop_domain),
        "customers": partial(mapping.customer_apply, source=source),
        "orders": partial(mapping.order_apply, source=source),
        "checkouts": partial(mapping.checkout_apply, source=source),
    }


def shopify_sync(*, client: ShopifyClient, source: str, updated_since: dt.datetime | None = None) -> SyncReport:
    """Pull every resource changed since ``updated_since`` (everything when ``None``). One bad record is reported
    and skipped; the others are stored."""
    report = SyncReport()
    appliers = _appliers(source, client.shop_domain)
    for resource in RESOURCES:
        params: dict[str, Any] = {"updated_at_min": updated_since.isoformat()} if updated_since else {}
        if resource == "orders":
            params["status"] = "any"
        for page in client.pages(resource, params):
            for payload in page:
                apply_record(report, resource, appliers[resource], payload)
    return report


def shopify_apply_webhook(*, source: str, shop_domain: str, topic: str, payload: dict[str, Any]) -> SyncReport:
    """Apply one verified webhook delivery. Unknown topics are ignored (reported as such)."""
    report = SyncReport()
    kind = TOPICS.get(topic)
    if kind is None:
        report.counts[f"ignored.{topic}"] += 1
        return report
    resource = {"customer": "customers", "order": "orders", "checkout": "checkouts", "product": "products"}[kind]
    apply_record(report, resource, _appliers(source, shop_domain)[resource], payload)
    return report
