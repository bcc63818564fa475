"""Shopify webhook verification: ``X-Shopify-Hmac-Sha256`` is the base64 HMAC-SHA256 of the raw body."""

from __future__ import annotations

import base64
import hashlib
import hmac

# Topics Tokui subscribes to, and what each becomes.
TOPICS = {
    "customers/create": "customer",
    "customers/update": "customer",
    "orders/create": "order",
    "orders/updated": "order",
    "orders/cancelled": "order",
    "checkouts/create": "checkout",
    "checkouts/update": "checkout",
    "products/create": "product",
    "products/update": "product",
}


def webhook_signature(*, secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook_is_authentic(*, secret: str, body: bytes, signature: str | None) -> bool:
    """True when ``signature`` is the HMAC of ``body`` with the app's secret (constant-time comparison)."""
    if not signature or not secret:
        return False
    return hmac.compare_digest(webhook_signature(secret=secret, body=body), signature.strip())
