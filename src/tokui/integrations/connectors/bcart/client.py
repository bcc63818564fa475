"""A small client for the B-Cart (Bカート) REST API, written from public material about it.

What the client relies on, and where each fact comes from (check the assumptions against the official API
documentation at https://docs.api.bcart.jp/ before relying on them in production):

Confirmed from public sources
- Base URL ``https://api.bcart.jp/api/v1/<resource>`` with ``Authorization: Bearer <token>`` (a personal access
  token or an OAuth 2.0 token) and ``Accept: application/json``: several public clients (Java, C#, TypeScript) and
  the B-Cart API news pages (api.bcart.jp/news/34, /37).
- Rate limit: 300 requests per 300 seconds; going over locks the token out for 300 seconds, and only then the answer
  carries ``Retry-After`` (bcart.jp/post/detail/187, B-Cart's own article on its API documentation).
- Lists are paged with ``limit`` (public clients use 100, the maximum) and ``offset``; a page shorter than ``limit``
  is the last one. Lists answer ``{"<resource>": [...]}`` (``customers``, ``orders``, ``product_sets``,
  ``order_products``, ``customer_customs``); one record answers ``{"order": {...}}`` / ``{"customer": {...}}``.
- ``customers`` accepts ``created_at_min`` and ``updated_at_min`` as ``Y-m-d H:i:s``; a public batch pulls both,
  since a new member is found by the first.
- ``orders`` with ``complete=1`` embeds each order's ``order_products`` and ``logistics`` (news/2 and public code).
- Customer (会員) fields: ``id, ext_id, parent_id, comp_name, comp_name_kana, department, tanto_last_name,
  tanto_first_name, tanto_last_name_kana, tanto_first_name_kana, zip, pref, address1..3, email, tel, mobile_phone,
  fax, mm_flag, point, price_group_id, view_group_id, status, created_at, updated_at``; ``is_invalid_email``
  (news/39). Status values seen in public code: ``未承認``, ``無効``; ``null`` for an ordinary member.
- Order fields: ``id, code, customer_id, customer_ext_id, customer_comp_name, customer_department, customer_name,
  customer_tel, customer_email, customer_zip, customer_pref, customer_price_group_id`` (the group's *name*),
  ``payment, total_price, tax, tax_rate, COD_cost, shipping_cost, final_price, use_point, get_point, order_totals
  [{tax_rate, total, tax, total_incl_tax}], ordered_at`` (``Y-m-d H:i:s``), ``status`` (対応状況; ``新規注文`` seen).
- Order product fields: ``id, order_id, logistics_id, product_id, main_no, product_no, jan_code, product_name,
  product_set_id, set_name, unit_price, set_quantity, set_unit, order_pro_count, tax_rate`` (0.1 for 10 %),
  ``tax_type_id, tax_incl`` (0 = price without tax, 1 = with tax), ``item_type`` (``product``, ``shipping``,
  ``payment_fees``, ``point``).
- Logistics (出荷) fields: ``id, shipment_code, delivery_code, status`` (``未発送`` / ``発送指示`` / ``発送済``),
  ``shipment_date, arrival_date, pref, ...``.
- Product fields: ``id, main_no, name, category_id, sub_category_id, tag`` (new / recommend / limited),
  ``description, flag`` (``表示`` / ``非表示``), ``hanbai_start, updated_at``. Product set (SKU) fields: ``id,
  product_id, product_no, jan_code, name, unit_price, group_price`` (keyed by price-group id, each with ``name``,
  ``rate``, ``unit_price``, ``fixed_price``), ``quantity, unit, stock, stock_flag, tax_type_id, priority,
  updated_at``. Category fields: ``id, name, parent_category_id, priority, flag``.
- Webhooks (webhooks.py): JSON ``{event_id, event_type, idempotency_key, data: {object: <order>}}`` with
  ``order.created`` / ``order.updated``; delivery is not guaranteed and may repeat, so dedupe by ``event_id`` and
  reconcile by polling (userguide.bcart.jp, Webhook page; news/37).

Assumptions (not found in public material)
- Error bodies: ``{"errors": [{...}]}`` (a public C# client parses that shape; its keys are unknown) or
  ``{"message": "..."}``; a wrong token answers 401.
- ``orders`` accepts ``updated_at_min`` (by analogy with ``customers``) to find orders changed since a time; the
  order payload itself shows no ``updated_at``. Kept in ``ORDER_CHANGED_SINCE`` so it is one line to correct.
- Favourites: an endpoint ``bookmarks`` answering ``{"bookmarks": [{id, customer_id, product_id,
  product_set_id?, created_at}]}``. ``categories`` and ``products`` answer under their own names.
- ``mm_flag`` 1 means the member receives the mail magazine, 0 that they do not.
- Points: only the member's balance ``point`` is known (no history endpoint), 1 point = 1 yen for ``use_point``.
- Times without an offset are Japan time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
import zoneinfo
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

API_BASE = "https://api.bcart.jp/api/v1"
PAGE_SIZE = 100
# B-Cart allows 300 requests per 300 s per token. Other apps may share the token, so stay a little below.
WINDOW_SECONDS = 300.0
WINDOW_REQUESTS = 280
ORDER_CHANGED_SINCE = "updated_at_min"  # assumption, see the module docstring
JST = zoneinfo.ZoneInfo("Asia/Tokyo")


class BcartError(Exception):
    """B-Cart answered with an error the client cannot retry (bad token, missing scope, bad parameter, ...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"B-Cart {status}: {message}")
        self.status = status
        self.message = message


def bcart_time(value: dt.datetime) -> str:
    """A time as B-Cart's query parameters take it: ``Y-m-d H:i:s`` in Japan time."""
    return value.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class BcartClient:
    access_token: str
    base_url: str = API_BASE  # tests point this at a local server
    timeout: float = 30.0
    max_retries: int = 3
    page_size: int = PAGE_SIZE
    requests_per_window: int = WINDOW_REQUESTS
    window_seconds: float = WINDOW_SECONDS
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    requests_made: int = field(default=0, init=False)
    _sent: deque[float] = field(default_factory=deque, init=False, repr=False)

    def url(self, resource: str, params: dict[str, Any] | None = None) -> str:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return f"{self.base_url.rstrip('/')}/{resource}{query}"

    def get(self, resource: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET one resource, paced under the rate limit; 429 waits ``Retry-After``, 5xx and network errors back off."""
        url = self.url(resource, params)
        for attempt in range(self.max_retries + 1):
            self._pace()
            request = urllib.request.Request(
                url, headers={"Authorization": f"Bearer {self.access_token}", "Accept": "application/json"}
            )
            self.requests_made += 1
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = json.loads(response.read() or b"{}")
                    return body if isinstance(body, dict) else {}
            except urllib.error.HTTPError as error:
                if error.code != 429 and error.code < 500:
                    raise BcartError(error.code, _error_message(error)) from error
                if attempt == self.max_retries:
                    raise BcartError(error.code, _error_message(error)) from error
                if error.code == 429:
                    # Locked out: B-Cart says for how long. Our own count was wrong (another app shares the token).
                    wait = _retry_after(error.headers.get("Retry-After"), default=self.window_seconds)
                    self._sent.clear()
                else:
                    wait = min(2.0**attempt, 30.0)
                logger.info("B-Cart %s on %s, retrying in %.1f s", error.code, resource, wait)
                self.sleep(wait)
            except (urllib.error.URLError, TimeoutError) as error:
                if attempt == self.max_retries:
                    raise BcartError(0, f"B-Cart is unreachable: {getattr(error, 'reason', error)}") from error
                self.sleep(min(2.0**attempt, 30.0))
        raise AssertionError("unreachable")

    def _pace(self) -> None:
        """Keep at most ``requests_per_window`` requests in any ``window_seconds``: wait for the oldest to age out."""
        now = self.clock()
        while self._sent and now - self._sent[0] >= self.window_seconds:
            self._sent.popleft()
        if len(self._sent) >= self.requests_per_window:
            wait = self._sent[0] + self.window_seconds - now
            if wait > 0:
                logger.info("B-Cart rate limit: pausing %.1f s", wait)
                self.sleep(wait)
            now = self.clock()
            while self._sent and now - self._sent[0] >= self.window_seconds:
                self._sent.popleft()
            if len(self._sent) >= self.requests_per_window:
                self._sent.popleft()
        self._sent.append(self.clock())

    def pages(self, resource: str, params: dict[str, Any] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list resource, ``limit``/``offset`` paged; a short page is the last."""
        offset = 0
        while True:
            body = self.get(resource, {**(params or {}), "limit": self.page_size, "offset": offset})
            items = body.get(resource, [])
            page = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
            if page:
                yield page
            if len(page) < self.page_size:
                return
            offset += self.page_size

    def customers(self, *, changed_since: dt.datetime | None = None) -> Iterator[list[dict[str, Any]]]:
        """Members (会員). With ``changed_since``: the new ones, then the updated ones (a member may be in both)."""
        if changed_since is None:
            yield from self.pages("customers")
            return
        since = bcart_time(changed_since)
        yield from self.pages("customers", {"created_at_min": since})
        yield from self.pages("customers", {"updated_at_min": since})

    def orders(self, *, changed_since: dt.datetime | None = None) -> Iterator[list[dict[str, Any]]]:
        """Orders with their products and shipments (``complete=1``)."""
        params: dict[str, Any] = {"complete": 1}
        if changed_since is not None:
            params[ORDER_CHANGED_SINCE] = bcart_time(changed_since)
        yield from self.pages("orders", params)

    def order(self, order_id: int | str) -> dict[str, Any]:
        body = self.get(f"orders/{order_id}", {"complete": 1})
        order = body.get("order")
        return order if isinstance(order, dict) else {}

    def test_connection(self) -> dict[str, Any]:
        """What the "test connection" button calls: one cheap request that needs the token and the member scope."""
        body = self.get("customers", {"limit": 1, "offset": 0})
        return {"ok": True, "customers": len(body.get("customers", []))}


def _retry_after(header: str | None, *, default: float) -> float:
    try:
        return max(float(header), 1.0) if header else default
    except ValueError:
        return default


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read() or b"{}")
    except ValueError:
        return error.reason if isinstance(error.reason, str) else str(error.code)
    if not isinstance(body, dict):
        return str(body)
    errors = body.get("errors")
    if isinstance(errors, list):
        parts = [
            " ".join(str(value) for value in item.values()) if isinstance(item, dict) else str(item) for item in errors
        ]
        return "; ".join(part for part in parts if part) or str(error.code)
    if isinstance(errors, dict | str):
        return errors if isinstance(errors, str) else json.dumps(errors, ensure_ascii=False)
    return str(body.get("message") or body.get("error_description") or body.get("error") or error.code)
