"""A small client for the Shopify Admin REST API, written from Shopify's public documentation.

- Authentication: the ``X-Shopify-Access-Token`` header of a custom app.
- Versioned paths: ``/admin/api/{version}/{resource}.json``.
- Pagination: cursor based; the next page is the ``rel="next"`` URL of the ``Link`` header (``page_info``).
- Rate limit: a leaky bucket per app and store (``X-Shopify-Shop-Api-Call-Limit: 32/40``); an exhausted bucket
  answers 429 with ``Retry-After`` seconds. The client waits and retries, and slows down near the limit.
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_API_VERSION = "2025-01"
PAGE_SIZE = 250
_LINK_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class ShopifyError(Exception):
    """Shopify answered with an error the client cannot retry (bad token, missing scope, not found, ...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Shopify {status}: {message}")
        self.status = status
        self.message = message


@dataclass
class ShopifyClient:
    shop_domain: str
    access_token: str
    api_version: str = DEFAULT_API_VERSION
    base_url: str = ""  # tests point this at a local server; empty means https://{shop_domain}
    timeout: float = 30.0
    max_retries: int = 5
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    requests_made: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not self.base_url:
            self.base_url = f"https://{self.shop_domain}"

    def url(self, resource: str, params: dict[str, Any] | None = None) -> str:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return f"{self.base_url}/admin/api/{self.api_version}/{resource}.json{query}"

    def get(self, url: str) -> tuple[dict[str, Any], dict[str, str]]:
        """GET one URL, retrying 429 (after ``Retry-After``) and 5xx (with backoff). Returns (body, headers)."""
        for attempt in range(self.max_retries + 1):
            request = urllib.request.Request(
                url, headers={"X-Shopify-Access-Token": self.access_token, "Accept": "application/json"}
            )
            self.requests_made += 1
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    headers = {key.lower(): value for key, value in response.headers.items()}
                    self._respect_bucket(headers.get("x-shopify-shop-api-call-limit", ""))
                    return json.loads(response.read() or b"{}"), headers
            except urllib.error.HTTPError as error:
                if error.code == 429 or error.code >= 500:
                    if attempt == self.max_retries:
                        raise ShopifyError(error.code, _error_message(error)) from error
                    wait = _retry_after(error.headers.get("Retry-After"), attempt)
                    logger.info("Shopify %s, retrying in %.1f s", error.code, wait)
                    self.sleep(wait)
                    continue
                raise ShopifyError(error.code, _error_message(error)) from error
        raise AssertionError("unreachable")

    def _respect_bucket(self, call_limit: str) -> None:
        """Slow down before the bucket is full instead of hitting 429 (it drains about 2 calls a second)."""
        used, _, size = call_limit.partition("/")
        if used.isdigit() and size.isdigit() and int(used) >= int(size) - 2:
            self.sleep(1.0)

    def pages(self, resource: str, params: dict[str, Any] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list resource (``customers``, ``orders``, ``products``, ``checkouts``), oldest first."""
        url: str | None = self.url(resource, {"limit": PAGE_SIZE, **(params or {})})
        key = resource.rsplit("/", 1)[-1]
        while url:
            body, headers = self.get(url)
            yield list(body.get(key, []))
            match = _LINK_NEXT.search(headers.get("link", ""))
            url = match.group(1) if match else None

    def shop(self) -> dict[str, Any]:
        """The shop's own record: what the "test connection" button calls."""
        body, _headers = self.get(self.url("shop"))
        return dict(body.get("shop", {}))


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
    errors = body.get("errors", body)
    return errors if isinstance(errors, str) else json.dumps(errors, ensure_ascii=False)
