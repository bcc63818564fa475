"""A local stand-in for the Shopify Admin REST API that answers with the documented shapes and checks requests.

It checks the access-token header and the versioned path, pages lists through ``Link: <...>; rel="next"`` with
``page_info``, reports the leaky bucket in ``X-Shopify-Shop-Api-Call-Limit``, answers 429 with ``Retry-After`` once
per resource when asked to, and 401 with Shopify's error body for a wrong token.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.http_stub import serving

API_VERSION = "2025-01"
TOKEN = "shpat_test_token"
PAGE = 2

CUSTOMERS = [
    {
        "id": 7001,
        "email": "hanako@example.jp",
        "first_name": "花子",
        "last_name": "鈴木",
        "phone": "+81312345678",
        "created_at": "2026-01-10T10:00:00+09:00",
        "updated_at": "2026-11-01T10:00:00+09:00",
        "email_marketing_consent": {
            "state": "subscribed",
            "opt_in_level": "single_opt_in",
            "consent_updated_at": "2026-01-10T10:00:00+09:00",
        },
        "default_address": {"zip": "150-0001", "province_code": "JP-13", "address1": "渋谷区神宮前1-1-1"},
        "tags": "VIP",
    },
    {
        "id": 7002,
        "email": "taro@example.jp",
        "first_name": "太郎",
        "last_name": "山田",
        "updated_at": "2026-11-02T10:00:00+09:00",
        "email_marketing_consent": {"state": "unsubscribed", "consent_updated_at": "2026-05-01T10:00:00+09:00"},
    },
    {"id": 7003, "email": "noname@example.jp", "updated_at": "2026-11-03T10:00:00+09:00"},
]
PRODUCTS = [
    {
        "id": 900,
        "title": "リネンシャツ",
        "handle": "linen-shirt",
        "product_type": "シャツ",
        "status": "active",
        "published_at": "2026-02-01T09:00:00+09:00",
        "variants": [
            {"id": 901, "title": "ネイビー / M", "sku": "LS-NV-M", "price": "8800", "inventory_quantity": 12},
            {"id": 902, "title": "ホワイト / M", "sku": "LS-WH-M", "price": "8800", "inventory_quantity": 3},
        ],
    },
    {
        "id": 910,
        "title": "トートバッグ",
        "handle": "tote",
        "product_type": "バッグ",
        "status": "draft",
        "variants": [{"id": 911, "title": "Default Title", "sku": "", "price": "4400", "inventory_quantity": 0}],
    },
]
ORDERS = [
    {
        "id": 5001,
        "name": "#1001",
        "created_at": "2026-11-20T23:30:00+09:00",
        "processed_at": "2026-11-20T23:30:00+09:00",
        "currency": "JPY",
        "taxes_included": True,
        "total_price": "18600",
        "subtotal_price": "17600",
        "total_tax": "1600",
        "total_discounts": "0",
        "financial_status": "paid",
        "fulfillment_status": None,
        "cancelled_at": None,
        "customer": {"id": 7001, "email": "hanako@example.jp", "first_name": "花子", "last_name": "鈴木"},
        "line_items": [
            {"id": 1, "variant_id": 901, "sku": "LS-NV-M", "title": "リネンシャツ", "quantity": 2, "price": "8800"}
        ],
        "shipping_lines": [{"price": "1000"}],
    },
    {
        "id": 5002,
        "name": "#1002",
        "created_at": "2026-11-21T10:00:00+09:00",
        "currency": "JPY",
        "taxes_included": True,
        "total_price": "4400",
        "total_tax": "400",
        "total_discounts": "0",
        "financial_status": "paid",
        "cancelled_at": "2026-11-21T12:00:00+09:00",
        "customer": {"id": 7002},
        "line_items": [
            {"id": 2, "variant_id": 911, "sku": "", "title": "トートバッグ", "quantity": 1, "price": "4400"}
        ],
        "shipping_lines": [],
    },
    {"id": 5003, "name": "#1003", "created_at": "2026-11-22T10:00:00+09:00", "currency": "JPY", "line_items": []},
]
CHECKOUTS = [
    {
        "id": 3001,
        "token": "chk-abc",
        "created_at": "2026-11-23T10:00:00+09:00",
        "updated_at": "2026-11-23T10:05:00+09:00",
        "completed_at": None,
        "currency": "JPY",
        "abandoned_checkout_url": "https://demo.myshopify.com/checkouts/chk-abc/recover",
        "customer": {"id": 7002},
        "line_items": [{"variant_id": 902, "sku": "LS-WH-M", "title": "リネンシャツ", "quantity": 1, "price": "8800"}],
    }
]
RESOURCES: dict[str, list[dict[str, Any]]] = {
    "customers": CUSTOMERS,
    "products": PRODUCTS,
    "orders": ORDERS,
    "checkouts": CHECKOUTS,
}


class ShopifyStub:
    def __init__(self, *, throttle_once: set[str] | None = None) -> None:
        self.requests: list[str] = []
        self.throttle_once = set(throttle_once or ())
        self.url = ""


def _handler(stub: ShopifyStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            stub.requests.append(self.path)
            parsed = urllib.parse.urlparse(self.path)
            prefix = f"/admin/api/{API_VERSION}/"
            if not parsed.path.startswith(prefix) or not parsed.path.endswith(".json"):
                self._send(404, {"errors": "Not Found"})
                return
            if self.headers.get("X-Shopify-Access-Token") != TOKEN:
                self._send(
                    401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
                )
                return
            resource = parsed.path[len(prefix) : -len(".json")]
            if resource in stub.throttle_once:
                stub.throttle_once.discard(resource)
                self._send(
                    429,
                    {
                        "errors": "Exceeded 2 calls per second for api client. "
                        "Reduce request rates to resume uninterrupted service."
                    },
                    {"Retry-After": "2.0"},
                )
                return
            if resource == "shop":
                self._send(200, {"shop": {"id": 1, "name": "Demo", "myshopify_domain": "demo.myshopify.com"}})
                return
            items = RESOURCES.get(resource)
            if items is None:
                self._send(404, {"errors": "Not Found"})
                return
            query = urllib.parse.parse_qs(parsed.query)
            if "page_info" in query and set(query) - {"page_info", "limit"}:
                # Shopify refuses other filters beside page_info.
                self._send(400, {"errors": {"page_info": ["Cannot combine page_info with other filters"]}})
                return
            start = int(query["page_info"][0]) if "page_info" in query else 0
            page = items[start : start + PAGE]
            headers = {"X-Shopify-Shop-Api-Call-Limit": f"{len(stub.requests)}/40"}
            if start + PAGE < len(items):
                headers["Link"] = f'<{stub.url}{prefix}{resource}.json?limit=250&page_info={start + PAGE}>; rel="next"'
            self._send(200, {resource: page}, headers)

    return Handler


@contextmanager
def shopify_server(*, throttle_once: set[str] | None = None) -> Iterator[ShopifyStub]:
    stub = ShopifyStub(throttle_once=throttle_once)
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))) as port:
        stub.url = f"http://127.0.0.1:{port}"
        yield stub
