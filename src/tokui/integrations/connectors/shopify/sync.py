"""Backfill and incremental sync from Shopify, and the webhook topics, applied through ``mapping``."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from tokui.core.errors import DomainError
from tokui.integrations.connectors.shopify import mapping
from tokui.integrations.connectors.shopify.client import ShopifyClient
from tokui.integrations.connectors.shopify.webhooks import TOPICS

# Products first so order lines and carts find their SKUs; customers before their orders.
RESOURCES = ("products", "customers", "orders", "checkouts")


@dataclass
class SyncReport:
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, str]] = field(default_factory=list)

    def record(self, resource: str, outcome: object) -> None:
        self.counts[f"{resource}.{outcome}"] += 1

    def error(self, resource: str, record_id: object, message: str) -> None:
        self.counts[f"{resource}.error"] += 1
        if len(self.errors) < 200:
            self.errors.append({"resource": resource, "id": str(record_id), "message": message})


def _appliers(source: str, shop_domain: str) -> dict[str, Callable[[dict[str, Any]], object]]:
    return {
        "products": lambda payload: mapping.product_apply(source=source, payload=payload, shop_domain=shop_domain),
        "customers": lambda payload: mapping.customer_apply(source=source, payload=payload),
        "orders": lambda payload: mapping.order_apply(source=source, payload=payload),
        "checkouts": lambda payload: mapping.checkout_apply(source=source, payload=payload),
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
                _apply_one(report, resource, appliers[resource], payload)
    return report


def _apply_one(
    report: SyncReport, resource: str, apply: Callable[[dict[str, Any]], object], payload: dict[str, Any]
) -> None:
    try:
        with transaction.atomic():
            outcome = apply(payload)
    except (DomainError, ValueError, KeyError, TypeError) as error:
        report.error(resource, payload.get("id"), str(error))
        return
    if outcome is not None:
        report.record(resource, outcome)


def shopify_apply_webhook(*, source: str, shop_domain: str, topic: str, payload: dict[str, Any]) -> SyncReport:
    """Apply one verified webhook delivery. Unknown topics are ignored (reported as such)."""
    report = SyncReport()
    kind = TOPICS.get(topic)
    if kind is None:
        report.counts[f"ignored.{topic}"] += 1
        return report
    resource = {"customer": "customers", "order": "orders", "checkout": "checkouts", "product": "products"}[kind]
    _apply_one(report, resource, _appliers(source, shop_domain)[resource], payload)
    return report
