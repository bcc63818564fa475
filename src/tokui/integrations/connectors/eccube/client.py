"""A small client for the EC-CUBE 4 Web API plugin (GraphQL), written from its public documentation and source.

What the client relies on, and where each fact comes from (EC-CUBE/eccube-api4 on GitHub, doc4.ec-cube.net/eccube-api4):

Confirmed from public sources
- One endpoint ``POST https://<shop>/api`` for queries, JSON ``{"query": ..., "variables": ...}``, with
  ``Authorization: Bearer <access token>`` (plugin docs; ``Tests/Web/ApiControllerTest.php``). GraphQL errors answer
  200 with ``{"errors": [{"message": ...}]}``; a field the token's scopes do not allow is "Cannot query field ...".
- OAuth 2.0: authorization endpoint ``/<admin>/authorize``, token endpoint ``/token``. The plugin enables the
  authorization-code and refresh-token grants only (``Resource/config/services.yaml``: client credentials and password
  grants are off), so the shop's admin authorises Tokui once and Tokui keeps the access and refresh tokens.
  Scopes are ``read:<Entity>`` (``read:Customer``, ``read:Order``, ``read:OrderItem``, ``read:Product``,
  ``read:ProductClass``, ``read:CustomerFavoriteProduct``, ``read:Category``, ...). A revoked token answers 401.
- Queries ``customers``, ``orders``, ``products``: each takes ``page`` and ``limit`` plus the fields of the admin
  search form of its entity, and answers a connection ``{edges {node}, nodes, pageInfo {hasNextPage,
  hasPreviousPage, totalCount}, totalCount}`` (``GraphQL/Query/SearchFormQuery.php``, ``Type/ConnectionType.php``).
  ``DateTime`` arguments are ``Y-m-d\\TH:i:sP`` (``Type/Definition/DateTimeType.php``); the admin search forms of
  EC-CUBE 4.1+ have ``update_datetime_start`` (EC-CUBE's own form tests).
- Field names come from the plugin's allow list (``Resource/config/services.yaml``): Customer ``id name01 name02
  kana01 kana02 company_name postal_code addr01 addr02 email phone_number birth point create_date update_date
  Status Pref CustomerFavoriteProducts``; Order ``id order_no name01 name02 kana01 kana02 company_name email
  phone_number postal_code addr01 addr02 subtotal discount delivery_fee_total charge tax total payment_total
  use_point order_date create_date update_date OrderStatus Customer Pref OrderItems Shippings``; OrderItem ``id
  product_name product_code class_category_name1 class_category_name2 price quantity tax tax_rate OrderItemType
  TaxDisplayType ProductClass``; Shipping ``id shipping_date tracking_number``; Product ``id name create_date
  update_date Status ProductCategories ProductClasses``; ProductClass ``id code stock stock_unlimited price01 price02
  visible ClassCategory1 ClassCategory2``; Category ``id name sort_no Parent``. Decimals are GraphQL ``Float``, ids
  ``ID`` (strings), times ISO 8601 with offset.

Assumptions
- EC-CUBE's master ids as shipped: OrderStatus 1 新規受付, 3 注文取消し, 4 対応中, 5 発送済み, 6 入金済み,
  7 決済処理中, 8 購入処理中, 9 返品; OrderItemType 1 商品; TaxDisplayType 1 税抜 (``price`` without tax, ``tax``
  per unit), 2 税込; ProductStatus 1 公開, 2 非公開, 3 廃止; CustomerStatus 1 仮会員, 2 本会員, 3 退会.
- Mail-magazine consent is not in core EC-CUBE 4: the MailMagazine plugin adds ``Customer.mailmaga_flg`` (truthy =
  subscribed), which must also be added to the API allow list. Off unless ``mailmaga_field`` is set.
- No documented rate limit: the client keeps a small gap between requests (the API runs on the shop's own server)
  and waits out 429/503 ``Retry-After`` from a proxy in front of it.
- Errors from the OAuth layer are league/oauth2-server JSON (``error``, ``error_description``, ``message``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
SCOPES = (
    "read:Customer read:CustomerFavoriteProduct read:CustomerStatus read:Pref read:Order read:OrderItem "
    "read:OrderItemType read:OrderStatus read:Shipping read:TaxDisplayType read:Product read:ProductStatus "
    "read:ProductClass read:ProductCategory read:Category read:ClassCategory"
)

_CATEGORY = "id name sort_no"
# EC-CUBE nests categories at most five deep by default: the query asks for the whole chain from a product's category.
_CATEGORY_CHAIN = (
    f"{_CATEGORY} Parent {{ {_CATEGORY} Parent {{ {_CATEGORY} Parent {{ {_CATEGORY} Parent {{ {_CATEGORY} }} }} }} }}"
)

PRODUCT_FIELDS = f"""
id name create_date update_date
Status {{ id }}
ProductCategories {{ Category {{ {_CATEGORY_CHAIN} }} }}
ProductClasses {{
  id code stock stock_unlimited price01 price02 visible ClassCategory1 {{ name }} ClassCategory2 {{ name }}
}}
"""
CUSTOMER_FIELDS = """
id name01 name02 kana01 kana02 company_name postal_code addr01 addr02 email phone_number birth point
create_date update_date
Status { id } Pref { id name }
CustomerFavoriteProducts { create_date Product { id ProductClasses { id } } }
"""
ORDER_FIELDS = """
id order_no name01 name02 kana01 kana02 company_name email phone_number postal_code addr01 addr02
subtotal discount delivery_fee_total charge tax total payment_total use_point order_date create_date update_date
OrderStatus { id } Customer { id } Pref { id name }
OrderItems {
  id product_name product_code class_category_name1 class_category_name2 price quantity tax tax_rate
  OrderItemType { id } TaxDisplayType { id } ProductClass { id }
}
Shippings { id shipping_date tracking_number }
"""


class EccubeError(Exception):
    """EC-CUBE answered with an error the client cannot retry (bad or revoked token, missing scope, bad query)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"EC-CUBE {status}: {message}")
        self.status = status
        self.message = message


def eccube_time(value: dt.datetime) -> str:
    """A time as the API's ``DateTime`` arguments take it (``Y-m-d\\TH:i:sP``)."""
    return value.isoformat(timespec="seconds")


def connection_query(root: str, fields: str, *, changed_since: bool) -> str:
    """A paged query of ``root`` (``customers``, ``orders``, ``products``) asking for ``fields`` of each node."""
    since_var = ", $update_datetime_start: DateTime" if changed_since else ""
    since_arg = ", update_datetime_start: $update_datetime_start" if changed_since else ""
    return (
        f"query Tokui($page: Int, $limit: Int{since_var}) {{\n"
        f"  {root}(page: $page, limit: $limit{since_arg}) {{\n"
        f"    pageInfo {{ hasNextPage }}\n"
        f"    edges {{ node {{ {fields} }} }}\n"
        f"  }}\n}}"
    )


@dataclass
class EccubeClient:
    shop_url: str  # https://shop.example.jp (no trailing /api)
    access_token: str
    refresh_token: str = ""
    client_id: str = ""
    client_secret: str = ""
    api_path: str = "/api"
    token_path: str = "/token"
    page_size: int = PAGE_SIZE
    mailmaga_field: str = ""  # "mailmaga_flg" when the MailMagazine plugin exposes it to the API
    min_interval: float = 0.25  # seconds between requests: the API shares the shop's own server
    timeout: float = 30.0
    max_retries: int = 3
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    # Called with (access token, refresh token) after a refresh, so the caller can keep them.
    on_tokens: Callable[[str, str], None] | None = field(default=None, repr=False)
    requests_made: int = field(default=0, init=False)
    _last_request_at: float | None = field(default=None, init=False, repr=False)

    def query(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one GraphQL query and return its ``data``; GraphQL errors raise ``EccubeError``."""
        payload = json.dumps({"query": document, "variables": variables or {}}).encode()
        refreshed = False
        while True:
            try:
                body = self._post(self.api_path, payload, content_type="application/json", bearer=True)
            except EccubeError as error:
                if error.status == 401 and not refreshed and self._can_refresh():
                    self.refresh()
                    refreshed = True
                    continue
                raise
            break
        errors = body.get("errors")
        if errors:
            messages = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
            message = "; ".join(messages)
            if "Cannot query field" in message:
                message += (
                    f" (the token lacks a scope, or the field is not in the API allow list; Tokui needs {SCOPES})"
                )
            raise EccubeError(200, message)
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    def _can_refresh(self) -> bool:
        return bool(self.refresh_token and self.client_id)

    def refresh(self) -> None:
        """Trade the refresh token for a new access token (OAuth 2.0 refresh-token grant at ``/token``)."""
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        body = self._post(
            self.token_path,
            urllib.parse.urlencode(form).encode(),
            content_type="application/x-www-form-urlencoded",
            bearer=False,
        )
        if not body.get("access_token"):
            raise EccubeError(400, "the token endpoint answered without an access token")
        self.access_token = str(body["access_token"])
        self.refresh_token = str(body.get("refresh_token") or self.refresh_token)
        if self.on_tokens is not None:
            self.on_tokens(self.access_token, self.refresh_token)

    def _post(self, path: str, data: bytes, *, content_type: str, bearer: bool) -> dict[str, Any]:
        url = f"{self.shop_url.rstrip('/')}{path}"
        for attempt in range(self.max_retries + 1):
            self._pace()
            headers = {"Content-Type": content_type, "Accept": "application/json"}
            if bearer:
                headers["Authorization"] = f"Bearer {self.access_token}"
            request = urllib.request.Request(url, data=data, headers=headers, method="POST")
            self.requests_made += 1
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = json.loads(response.read() or b"{}")
                    return body if isinstance(body, dict) else {}
            except urllib.error.HTTPError as error:
                retryable = error.code in (429, 502, 503, 504)
                if not retryable or attempt == self.max_retries:
                    raise EccubeError(error.code, _error_message(error)) from error
                wait = _retry_after(error.headers.get("Retry-After"), attempt)
                logger.info("EC-CUBE %s, retrying in %.1f s", error.code, wait)
                self.sleep(wait)
            except (urllib.error.URLError, TimeoutError) as error:
                if attempt == self.max_retries:
                    raise EccubeError(0, f"EC-CUBE is unreachable: {getattr(error, 'reason', error)}") from error
                self.sleep(min(2.0**attempt, 30.0))
        raise AssertionError("unreachable")

    def _pace(self) -> None:
        now = self.clock()
        if self._last_request_at is not None and now - self._last_request_at < self.min_interval:
            self.sleep(self.min_interval - (now - self._last_request_at))
        self._last_request_at = self.clock()

    def nodes(
        self, root: str, fields: str, *, changed_since: dt.datetime | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of a connection query, ``page``/``limit`` paged until ``hasNextPage`` is false."""
        document = connection_query(root, fields, changed_since=changed_since is not None)
        page = 1
        while True:
            variables: dict[str, Any] = {"page": page, "limit": self.page_size}
            if changed_since is not None:
                variables["update_datetime_start"] = eccube_time(changed_since)
            connection = self.query(document, variables).get(root) or {}
            edges = connection.get("edges") or []
            items = [edge["node"] for edge in edges if isinstance(edge, dict) and isinstance(edge.get("node"), dict)]
            if items:
                yield items
            if not (connection.get("pageInfo") or {}).get("hasNextPage") or not items:
                return
            page += 1

    def customers(self, *, changed_since: dt.datetime | None = None) -> Iterator[list[dict[str, Any]]]:
        fields = CUSTOMER_FIELDS + (f" {self.mailmaga_field}" if self.mailmaga_field else "")
        return self.nodes("customers", fields, changed_since=changed_since)

    def orders(self, *, changed_since: dt.datetime | None = None) -> Iterator[list[dict[str, Any]]]:
        return self.nodes("orders", ORDER_FIELDS, changed_since=changed_since)

    def products(self, *, changed_since: dt.datetime | None = None) -> Iterator[list[dict[str, Any]]]:
        return self.nodes("products", PRODUCT_FIELDS, changed_since=changed_since)

    def test_connection(self) -> dict[str, Any]:
        """What the "test connection" button calls: counts that need the token and the customer and order scopes."""
        data = self.query(
            "query { customers(page: 1, limit: 1) { totalCount } orders(page: 1, limit: 1) { totalCount } }"
        )
        return {
            "ok": True,
            "customers": int((data.get("customers") or {}).get("totalCount") or 0),
            "orders": int((data.get("orders") or {}).get("totalCount") or 0),
        }


def _retry_after(header: str | None, attempt: int) -> float:
    try:
        return max(float(header), 0.5) if header else min(2.0**attempt, 30.0)
    except ValueError:
        return min(2.0**attempt, 30.0)


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read() or b"{}")
    except ValueError:
        return error.reason if isinstance(error.reason, str) else str(error.code)
    if not isinstance(body, dict):
        return str(body)
    parts = [str(body[key]) for key in ("error", "error_description", "hint") if body.get(key)]
    if not parts and body.get("message"):
        parts.append(str(body["message"]))
    if not parts and isinstance(body.get("errors"), list):
        parts = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in body["errors"]]
    return ": ".join(parts) or str(error.code)
