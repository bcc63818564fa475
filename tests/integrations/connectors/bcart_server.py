"""A local stand-in for the B-Cart REST API that answers with the documented shapes and checks requests.

It checks the bearer token and the ``/api/v1/`` paths, pages lists with ``limit`` (at most 100) and ``offset``,
filters members and orders by ``created_at_min`` / ``updated_at_min`` (``Y-m-d H:i:s``), embeds an order's
``order_products`` and ``logistics`` only with ``complete=1``, answers 429 with ``Retry-After`` once per resource
when asked to, and 401 for a wrong token.
"""

from __future__ import annotations

import copy
import json
import re
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.http_stub import serving

TOKEN = "bcart_test_token"
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")

CATEGORIES = [
    # The child comes first: the sync must still store the parent before it.
    {"id": 2, "name": "シャツ", "parent_category_id": 1, "priority": 2, "flag": 1},
    {"id": 1, "name": "トップス", "parent_category_id": None, "priority": 1, "flag": 1},
]
PRODUCTS = [
    {
        "id": 10,
        "main_no": "LS",
        "name": "リネンシャツ",
        "category_id": 2,
        "tag": "new,recommend",
        "flag": "表示",
        "hanbai_start": "2026-02-01 09:00:00",
        "updated_at": "2026-10-01 09:00:00",
    },
    {"id": 20, "main_no": "WC", "name": "ウールコート", "category_id": 1, "tag": "", "flag": "非表示"},
]
PRODUCT_SETS = [
    {
        "id": 101,
        "product_id": 10,
        "product_no": "LS-NV-M",
        "jan_code": "4900000000011",
        "name": "ネイビー / M",
        "unit_price": 4000,
        "group_price": {"1": {"name": "ゴールド会員", "rate": 70, "unit_price": 2800, "fixed_price": None}},
        "special_price": {},
        "quantity": 1,
        "unit": "枚",
        "stock": 12,
        "stock_flag": 1,
        "tax_type_id": 1,
        "priority": 0,
        "updated_at": "2026-10-01 09:00:00",
    },
    {"id": 102, "product_id": 10, "product_no": "LS-WH-M", "name": "ホワイト / M", "unit_price": 4000, "stock": 3},
    {"id": 201, "product_id": 20, "product_no": "", "jan_code": "", "name": "", "unit_price": "3000", "stock": "0"},
]
CUSTOMERS = [
    {
        "id": 1001,
        "ext_id": "C-0001",
        "parent_id": None,
        "comp_name": "株式会社サンプル商事",
        "comp_name_kana": "サンプルショウジ",
        "department": "仕入部",
        "tanto_last_name": "鈴木",
        "tanto_first_name": "花子",
        "tanto_last_name_kana": "スズキ",
        "tanto_first_name_kana": "ハナコ",
        "zip": "150-0001",
        "pref": "東京都",
        "address1": "渋谷区神宮前",
        "address2": "1-1-1",
        "address3": "サンプルビル3F",
        "email": "hanako@sample.example.jp",
        "tel": "03-1234-5678",
        "mobile_phone": "",
        "fax": "03-1234-5679",
        "mm_flag": 1,
        "point": 500,
        "price_group_id": 1,
        "view_group_id": 2,
        "status": None,
        "is_invalid_email": 0,
        "created_at": "2026-01-10 10:00:00",
        "updated_at": "2026-11-01 10:00:00",
    },
    {
        "id": 1002,
        "ext_id": "",
        "comp_name": "有限会社ミナミ",
        "tanto_last_name": "山田",
        "tanto_first_name": "太郎",
        "zip": "530-0001",
        "pref": "大阪府",
        "address1": "大阪市北区梅田",
        "email": "taro@minami.example.jp",
        "tel": "06-1234-5678",
        "mm_flag": 0,
        "point": 0,
        "price_group_id": None,
        "status": "未承認",
        "created_at": "2026-03-01 10:00:00",
        "updated_at": "2026-11-02 10:00:00",
    },
    {
        # A member B-Cart accepted with a mistyped address: reported, the others are stored.
        "id": 1003,
        "comp_name": "ブティック北",
        "tanto_last_name": "北村",
        "pref": "北海道",
        "email": "not-an-email",
        "mm_flag": 1,
        "created_at": "2026-04-01 10:00:00",
        "updated_at": "2026-11-03 10:00:00",
    },
]
ORDERS: list[dict[str, Any]] = [
    {
        "id": 5001,
        "code": "10001",
        "customer_id": 1001,
        "customer_ext_id": "C-0001",
        "customer_comp_name": "株式会社サンプル商事",
        "customer_name": "鈴木 花子",
        "customer_email": "hanako@sample.example.jp",
        "customer_pref": "東京都",
        "customer_price_group_id": "ゴールド会員",
        "payment": "銀行振込",
        "total_price": 12000,
        "tax": 1300,
        "tax_rate": 0.1,
        "COD_cost": 0,
        "shipping_cost": 1000,
        "final_price": 14200,
        "use_point": 100,
        "get_point": 120,
        "order_totals": [{"tax_rate": 0.1, "total": 13000, "tax": 1300, "total_incl_tax": 14300}],
        "ordered_at": "2026-11-20 23:30:00",
        "updated_at": "2026-11-22 18:00:00",
        "status": "処理中",
        "order_products": [
            {
                "id": 1,
                "order_id": 5001,
                "logistics_id": 1,
                "product_id": 10,
                "product_no": "LS-NV-M",
                "jan_code": "4900000000011",
                "product_name": "リネンシャツ",
                "product_set_id": 101,
                "set_name": "ネイビー / M",
                "unit_price": 4000,
                "order_pro_count": 2,
                "tax_rate": 0.1,
                "tax_type_id": 1,
                "tax_incl": 0,
                "item_type": "product",
            },
            {
                "id": 2,
                "order_id": 5001,
                "logistics_id": 1,
                "product_id": 10,
                "product_no": "LS-WH-M",
                "product_name": "リネンシャツ",
                "product_set_id": 102,
                "set_name": "ホワイト / M",
                "unit_price": 4000,
                "order_pro_count": 1,
                "tax_rate": 0.1,
                "tax_incl": 0,
                "item_type": "product",
            },
            {
                "id": 3,
                "order_id": 5001,
                "product_name": "送料",
                "unit_price": 1000,
                "order_pro_count": 1,
                "tax_incl": 0,
                "item_type": "shipping",
            },
        ],
        "logistics": [
            {
                "id": 1,
                "shipment_code": "S-1",
                "delivery_code": "1234-5678-9012",
                "pref": "東京都",
                "shipment_date": "2026-11-22",
                "status": "発送済",
            }
        ],
    },
    {
        "id": 5002,
        "code": "10002",
        "customer_id": 1002,
        "customer_comp_name": "有限会社ミナミ",
        "customer_name": "山田 太郎",
        "total_price": 3300,
        "tax": 300,
        "COD_cost": 0,
        "shipping_cost": 0,
        "final_price": 3300,
        "use_point": 0,
        "ordered_at": "2026-11-21 10:00:00",
        "updated_at": "2026-11-21 12:00:00",
        "status": "キャンセル",
        "order_products": [
            {
                "id": 4,
                "order_id": 5002,
                "product_id": 20,
                "product_no": "",
                "product_name": "ウールコート",
                "product_set_id": 201,
                "set_name": "",
                "unit_price": 3300,
                "order_pro_count": 1,
                "tax_incl": 1,
                "item_type": "product",
            }
        ],
        "logistics": [{"id": 2, "status": "未発送", "shipment_date": None}],
    },
    {
        # A member who registered after the last member sync: created from the order's copy of their details.
        "id": 5003,
        "code": "10003",
        "customer_id": 1999,
        "customer_ext_id": "C-0999",
        "customer_comp_name": "新規取引先株式会社",
        "customer_name": "佐藤 次郎",
        "customer_email": "jiro@new.example.jp",
        "customer_tel": "052-123-4567",
        "customer_pref": "愛知県",
        "customer_address1": "名古屋市中区",
        "total_price": 4000,
        "tax": 400,
        "COD_cost": 0,
        "shipping_cost": 0,
        "final_price": 4400,
        "use_point": 0,
        "ordered_at": "2026-11-23 09:15:00",
        "updated_at": "2026-11-23 09:15:00",
        "status": "新規注文",
        "order_products": [
            {
                "id": 5,
                "order_id": 5003,
                "product_no": "LS-NV-M",
                "product_name": "リネンシャツ",
                "set_name": "ネイビー / M",
                "product_set_id": 101,
                "unit_price": 4000,
                "order_pro_count": 1,
                "tax_incl": 0,
                "item_type": "product",
            }
        ],
        "logistics": [{"id": 3, "status": "未発送"}],
    },
    {
        # Broken on B-Cart's side (no lines, no time): reported, never stops the others.
        "id": 5004,
        "code": "10004",
        "customer_id": 1001,
        "ordered_at": "",
        "updated_at": "2026-11-23 10:00:00",
        "status": "新規注文",
        "order_products": [],
        "logistics": [],
    },
]
BOOKMARKS = [
    {"id": 1, "customer_id": 1001, "product_id": 10, "created_at": "2026-10-01 12:00:00"},
    {"id": 2, "customer_id": 1002, "product_id": 20, "product_set_id": 201, "created_at": "2026-10-02 12:00:00"},
    {"id": 3, "customer_id": 1003, "product_id": 10, "created_at": "2026-10-03 12:00:00"},
]
RESOURCES: dict[str, list[dict[str, Any]]] = {
    "categories": CATEGORIES,
    "products": PRODUCTS,
    "product_sets": PRODUCT_SETS,
    "customers": CUSTOMERS,
    "orders": ORDERS,
    "bookmarks": BOOKMARKS,
}


class BcartStub:
    def __init__(self, *, throttle_once: set[str] | None = None, orders: list[dict[str, Any]] | None = None) -> None:
        self.requests: list[str] = []
        self.throttle_once = set(throttle_once or ())
        self.orders = orders if orders is not None else ORDERS
        self.url = ""


def _handler(stub: BcartStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(body, ensure_ascii=False).encode()
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
            prefix = "/api/v1/"
            if not parsed.path.startswith(prefix):
                self._send(404, {"message": "Not Found"})
                return
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, {"message": "Unauthenticated."})
                return
            resource = parsed.path[len(prefix) :]
            query = {key: values[0] for key, values in urllib.parse.parse_qs(parsed.query).items()}
            if resource in stub.throttle_once:
                stub.throttle_once.discard(resource)
                self._send(429, {"message": "Too Many Attempts."}, {"Retry-After": "7"})
                return
            items = stub.orders if resource == "orders" else RESOURCES.get(resource)
            if items is None:
                self._send(404, {"message": "Not Found"})
                return
            limit, offset = query.get("limit", "20"), query.get("offset", "0")
            if not limit.isdigit() or not 1 <= int(limit) <= 100 or not offset.isdigit():
                self._send(400, {"errors": [{"field": "limit", "message": "limit must be 1 to 100"}]})
                return
            for name in ("created_at_min", "updated_at_min"):
                if name in query:
                    if not _TIME.match(query[name]):
                        self._send(400, {"errors": [{"field": name, "message": "Y-m-d H:i:s で指定してください"}]})
                        return
                    column = name.removesuffix("_min")
                    items = [item for item in items if str(item.get(column) or "") >= query[name]]
            page = copy.deepcopy(items[int(offset) : int(offset) + int(limit)])
            if resource == "orders" and query.get("complete") != "1":
                for order in page:
                    order.pop("order_products", None)
                    order.pop("logistics", None)
            self._send(200, {resource: page})

    return Handler


@contextmanager
def bcart_server(
    *, throttle_once: set[str] | None = None, orders: list[dict[str, Any]] | None = None
) -> Iterator[BcartStub]:
    stub = BcartStub(throttle_once=throttle_once, orders=orders)
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))) as port:
        stub.url = f"http://127.0.0.1:{port}/api/v1"
        yield stub
