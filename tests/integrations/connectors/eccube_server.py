"""A local stand-in for the EC-CUBE 4 Web API plugin that answers with the documented shapes and checks requests.

``POST /api`` takes ``{"query", "variables"}`` with a bearer token; ``customers``, ``orders`` and ``products`` are
paged by the ``page`` and ``limit`` variables and answer connections (``pageInfo {hasNextPage}``, ``edges {node}``);
``update_datetime_start`` must be ``Y-m-d\\TH:i:sP`` and filters by ``update_date``. ``POST /token`` trades a refresh
token for a new access token. It answers 429 with ``Retry-After`` once per query root when asked to, 401 with the
OAuth server's error body for a wrong or expired token, and a GraphQL error for a root the token may not read.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.http_stub import serving

TOKEN = "eccube_access_token"
REFRESH_TOKEN = "eccube_refresh_token"
CLIENT_ID = "tokui-client"
CLIENT_SECRET = "tokui-secret"
_ROOT = re.compile(r"\b(customers|orders|products)\s*\(")
_ATOM = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
_DENIED = {
    "error": "access_denied",
    "error_description": "The resource owner or authorization server denied the request.",
    "hint": "Access token could not be verified",
    "message": "The resource owner or authorization server denied the request.",
}

_TOPS = {"id": "1", "name": "トップス", "sort_no": 5, "Parent": None}
PRODUCTS: list[dict[str, Any]] = [
    {
        "id": "1",
        "name": "リネンシャツ",
        "create_date": "2026-02-01T09:00:00+09:00",
        "update_date": "2026-10-01T09:00:00+09:00",
        "Status": {"id": "1"},
        "ProductCategories": [
            {"Category": _TOPS},
            {"Category": {"id": "3", "name": "シャツ", "sort_no": 2, "Parent": _TOPS}},
        ],
        "ProductClasses": [
            {
                "id": "11",
                "code": "EC-LS-NV-M",
                "stock": 12.0,
                "stock_unlimited": False,
                "price01": 5000.0,
                "price02": 4000.0,
                "visible": True,
                "ClassCategory1": {"name": "ネイビー"},
                "ClassCategory2": {"name": "M"},
            },
            {
                "id": "12",
                "code": "EC-LS-WH-M",
                "stock": 3.0,
                "stock_unlimited": False,
                "price02": 4000.0,
                "visible": True,
                "ClassCategory1": {"name": "ホワイト"},
                "ClassCategory2": {"name": "M"},
            },
        ],
    },
    {
        "id": "2",
        "name": "トートバッグ",
        "create_date": "2026-03-01T09:00:00+09:00",
        "update_date": "2026-10-02T09:00:00+09:00",
        "Status": {"id": "2"},
        "ProductCategories": [],
        "ProductClasses": [
            {
                "id": "21",
                "code": None,
                "stock": None,
                "stock_unlimited": True,
                "price02": 2000.0,
                "visible": True,
                "ClassCategory1": None,
                "ClassCategory2": None,
            }
        ],
    },
    {
        # An old product whose class reuses a code another product holds: reported, the others are stored.
        "id": "3",
        "name": "旧モデル",
        "create_date": "2025-01-01T09:00:00+09:00",
        "update_date": "2025-01-01T09:00:00+09:00",
        "Status": {"id": "3"},
        "ProductCategories": [],
        "ProductClasses": [{"id": "31", "code": "EC-LS-NV-M", "stock": 0.0, "price02": 1000.0, "visible": True}],
    },
]
CUSTOMERS: list[dict[str, Any]] = [
    {
        "id": "101",
        "name01": "鈴木",
        "name02": "花子",
        "kana01": "スズキ",
        "kana02": "ハナコ",
        "company_name": "セレクトショップ花",
        "postal_code": "1500001",
        "addr01": "渋谷区神宮前",
        "addr02": "1-1-1",
        "email": "hanako@example.jp",
        "phone_number": "0312345678",
        "birth": "1990-04-01T00:00:00+09:00",
        "point": 300.0,
        "create_date": "2026-01-10T10:00:00+09:00",
        "update_date": "2026-11-01T10:00:00+09:00",
        "Status": {"id": "2"},
        "Pref": {"id": "13", "name": "東京都"},
        "mailmaga_flg": 1,
        "CustomerFavoriteProducts": [
            {
                "create_date": "2026-10-01T12:00:00+09:00",
                "Product": {"id": "1", "ProductClasses": [{"id": "12"}, {"id": "11"}]},
            }
        ],
    },
    {
        "id": "102",
        "name01": "山田",
        "name02": "太郎",
        "kana01": "ヤマダ",
        "kana02": "タロウ",
        "company_name": None,
        "postal_code": "5300001",
        "addr01": "大阪市北区梅田",
        "addr02": "",
        "email": "taro@example.jp",
        "phone_number": "0612345678",
        "birth": None,
        "point": 0.0,
        "create_date": "2026-03-01T10:00:00+09:00",
        "update_date": "2026-11-02T10:00:00+09:00",
        "Status": {"id": "2"},
        "Pref": {"id": "27", "name": "大阪府"},
        "mailmaga_flg": 0,
        "CustomerFavoriteProducts": [],
    },
    {
        "id": "103",
        "name01": "北村",
        "name02": "",
        "email": "broken@@example",
        "point": 0.0,
        "create_date": "2026-04-01T10:00:00+09:00",
        "update_date": "2026-11-03T10:00:00+09:00",
        "Status": {"id": "1"},
        "Pref": {"id": "1", "name": "北海道"},
        "CustomerFavoriteProducts": [],
    },
]


def _item(item_id: str, type_id: str, name: str, price: float, tax: float, quantity: float, **extra: Any) -> Any:
    return {
        "id": item_id,
        "product_name": name,
        "product_code": extra.pop("code", None),
        "class_category_name1": extra.pop("class1", None),
        "class_category_name2": extra.pop("class2", None),
        "price": price,
        "quantity": quantity,
        "tax": tax,
        "tax_rate": "10",
        "OrderItemType": {"id": type_id},
        "TaxDisplayType": {"id": extra.pop("display", "1")},
        "ProductClass": extra.pop("product_class", None),
    }


ORDERS: list[dict[str, Any]] = [
    {
        "id": "1",
        "order_no": "1",
        "name01": "鈴木",
        "name02": "花子",
        "company_name": "セレクトショップ花",
        "email": "hanako@example.jp",
        "phone_number": "0312345678",
        "subtotal": 8800.0,
        "discount": 0.0,
        "delivery_fee_total": 1000.0,
        "charge": 0.0,
        "tax": 900.0,
        "total": 9800.0,
        "payment_total": 9700.0,
        "use_point": 100.0,
        "order_date": "2026-11-20T23:30:00+09:00",
        "create_date": "2026-11-20T23:29:00+09:00",
        "update_date": "2026-11-22T18:00:00+09:00",
        "OrderStatus": {"id": "5"},
        "Customer": {"id": "101"},
        "Pref": {"id": "13", "name": "東京都"},
        "OrderItems": [
            _item(
                "1",
                "1",
                "リネンシャツ",
                4000.0,
                400.0,
                2.0,
                code="EC-LS-NV-M",
                class1="ネイビー",
                class2="M",
                product_class={"id": "11"},
            ),
            _item("2", "2", "送料", 1000.0, 0.0, 1.0, display="2"),
            _item("3", "6", "ポイント", -100.0, 0.0, 1.0, display="2"),
        ],
        "Shippings": [{"id": "1", "shipping_date": "2026-11-22T10:00:00+09:00", "tracking_number": "1234-5678"}],
    },
    {
        "id": "2",
        "order_no": "2",
        "name01": "佐藤",
        "name02": "次郎",
        "company_name": None,
        "email": "Jiro@Guest.example.jp",
        "subtotal": 2200.0,
        "discount": 0.0,
        "delivery_fee_total": 0.0,
        "charge": 0.0,
        "tax": 200.0,
        "total": 2200.0,
        "payment_total": 2200.0,
        "use_point": 0.0,
        "order_date": "2026-11-21T10:00:00+09:00",
        "update_date": "2026-11-21T12:00:00+09:00",
        "OrderStatus": {"id": "3"},
        "Customer": None,
        "Pref": {"id": "23", "name": "愛知県"},
        "OrderItems": [_item("4", "1", "トートバッグ", 2000.0, 200.0, 1.0, product_class={"id": "21"})],
        "Shippings": [{"id": "2", "shipping_date": None, "tracking_number": None}],
    },
    {
        # Still at the checkout (購入処理中): not an order yet.
        "id": "3",
        "order_no": "3",
        "email": "hanako@example.jp",
        "order_date": None,
        "create_date": "2026-11-22T08:00:00+09:00",
        "update_date": "2026-11-22T08:00:00+09:00",
        "OrderStatus": {"id": "8"},
        "Customer": {"id": "101"},
        "OrderItems": [],
        "Shippings": [],
    },
    {
        # Broken (no lines): reported, never stops the others.
        "id": "4",
        "order_no": "4",
        "email": "taro@example.jp",
        "total": 0.0,
        "payment_total": 0.0,
        "order_date": "2026-11-22T09:00:00+09:00",
        "update_date": "2026-11-22T09:00:00+09:00",
        "OrderStatus": {"id": "1"},
        "Customer": {"id": "102"},
        "OrderItems": [],
        "Shippings": [],
    },
    {
        # A member who signed up after the last member sync: created from the order's copy of their details.
        "id": "5",
        "order_no": "5",
        "name01": "田中",
        "name02": "一郎",
        "company_name": "田中商店",
        "email": "ichiro@tanaka.example.jp",
        "subtotal": 4400.0,
        "discount": 0.0,
        "delivery_fee_total": 0.0,
        "charge": 0.0,
        "tax": 400.0,
        "total": 4400.0,
        "payment_total": 4400.0,
        "use_point": 0.0,
        "order_date": "2026-11-23T09:15:00+09:00",
        "update_date": "2026-11-23T09:15:00+09:00",
        "OrderStatus": {"id": "1"},
        "Customer": {"id": "104"},
        "Pref": {"id": "40", "name": "福岡県"},
        "OrderItems": [
            _item("6", "1", "リネンシャツ", 4000.0, 400.0, 1.0, code="EC-LS-WH-M", class1="ホワイト", class2="M")
        ],
        "Shippings": [{"id": "5", "shipping_date": None}],
    },
]
ROOTS: dict[str, list[dict[str, Any]]] = {"customers": CUSTOMERS, "orders": ORDERS, "products": PRODUCTS}


class EccubeStub:
    def __init__(self, *, throttle_once: set[str] | None = None, denied: set[str] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.throttle_once = set(throttle_once or ())
        self.denied = set(denied or ())
        self.access_token = TOKEN
        self.refresh_token = REFRESH_TOKEN
        self.url = ""

    def expire_token(self) -> None:
        self.access_token = f"{TOKEN}-expired-{len(self.requests)}"


def _handler(stub: EccubeStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/token":
                self._token(urllib.parse.parse_qs(raw.decode()))
            elif self.path == "/api":
                self._api(raw)
            else:
                self._send(404, {"message": "Not Found"})

        def _token(self, form: dict[str, list[str]]) -> None:
            stub.requests.append({"path": "/token", "grant_type": form.get("grant_type", [""])[0]})
            valid = (
                form.get("grant_type") == ["refresh_token"]
                and form.get("refresh_token") == [stub.refresh_token]
                and form.get("client_id") == [CLIENT_ID]
                and form.get("client_secret") == [CLIENT_SECRET]
            )
            if not valid:
                self._send(
                    401,
                    {
                        "error": "invalid_grant",
                        "error_description": "The refresh token is invalid.",
                        "hint": "Token has been revoked",
                        "message": "The refresh token is invalid.",
                    },
                )
                return
            number = len(stub.requests)
            stub.access_token, stub.refresh_token = f"{TOKEN}-{number}", f"{REFRESH_TOKEN}-{number}"
            self._send(
                200,
                {
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "access_token": stub.access_token,
                    "refresh_token": stub.refresh_token,
                },
            )

        def _api(self, raw: bytes) -> None:
            body = json.loads(raw or b"{}")
            query, variables = str(body.get("query", "")), body.get("variables") or {}
            roots = _ROOT.findall(query)
            stub.requests.append({"path": "/api", "roots": roots, "variables": variables})
            if self.headers.get("Content-Type") != "application/json":
                self._send(400, {"errors": [{"message": "Content-Type must be application/json"}]})
                return
            if self.headers.get("Authorization") != f"Bearer {stub.access_token}":
                self._send(401, _DENIED)
                return
            if not roots:
                self._send(200, {"errors": [{"message": "Syntax Error: Expected Name"}]})
                return
            if denied := [root for root in roots if root in stub.denied]:
                self._send(200, {"errors": [{"message": f'Cannot query field "{denied[0]}" on type "Query".'}]})
                return
            if throttled := [root for root in roots if root in stub.throttle_once]:
                stub.throttle_once.discard(throttled[0])
                self._send(429, {"message": "Too Many Requests"}, {"Retry-After": "3"})
                return
            if len(roots) > 1:  # the connection test: counts only
                self._send(200, {"data": {root: {"totalCount": len(ROOTS[root])} for root in roots}})
                return
            root = roots[0]
            if not all(f"${name}" in query for name in ("page", "limit")) or "edges" not in query:
                self._send(200, {"errors": [{"message": "Expected page, limit and edges"}]})
                return
            page, limit = variables.get("page", 1), variables.get("limit", 10)
            if not isinstance(page, int) or not isinstance(limit, int) or page < 1 or limit < 1:
                self._send(200, {"errors": [{"message": "page: This value should be greater than 0.;"}]})
                return
            items = ROOTS[root]
            since = variables.get("update_datetime_start")
            if since is not None:
                if not isinstance(since, str) or not _ATOM.match(since):
                    message = 'DateTime parse error, please specify in "Y-m-d\\TH:i:sP".'
                    self._send(200, {"errors": [{"message": message}]})
                    return
                items = [item for item in items if _instant(item["update_date"]) >= _instant(since)]
            start = (page - 1) * limit
            nodes = copy.deepcopy(items[start : start + limit])
            self._send(
                200,
                {
                    "data": {
                        root: {
                            "totalCount": len(items),
                            "pageInfo": {"hasNextPage": start + limit < len(items)},
                            "edges": [{"node": node} for node in nodes],
                        }
                    }
                },
            )

    return Handler


def _instant(value: str) -> float:
    return dt.datetime.fromisoformat(value).timestamp()


@contextmanager
def eccube_server(*, throttle_once: set[str] | None = None, denied: set[str] | None = None) -> Iterator[EccubeStub]:
    stub = EccubeStub(throttle_once=throttle_once, denied=denied)
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))) as port:
        stub.url = f"http://127.0.0.1:{port}"
        yield stub
