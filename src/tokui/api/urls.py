"""The HTTP API at ``/api/`` (OpenAPI docs at ``/api/docs``). Each app contributes a router from its ``api.py``.

Errors are JSON ``{code, message, field}`` (``tokui.api.errors``), also a wrong method (405) and any unknown
address under ``/api/`` (404); every request made with a key is logged (``tokui.api.request_log``); keys and scopes
are checked per endpoint by ``tokui.accounts.api_auth.ApiKeyAuth``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404, HttpRequest
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Router, Schema
from ninja.renderers import JSONRenderer

from tokui.accounts.api import router as accounts_router
from tokui.api.docs import LocalSwagger, docs_asset
from tokui.api.errors import install_error_handlers, json_errors_outside_operations
from tokui.api.request_log import log_api_requests
from tokui.catalog.api import router as catalog_router
from tokui.commerce.api import router as commerce_router
from tokui.customers.api import router as customers_router
from tokui.messaging.api import router as messaging_router
from tokui.tracking.api import router as tracking_router

DESCRIPTION = """
Tokui's REST API: bulk upserts keyed by each source's external ids, paginated reads, and customer timelines.

* **Authentication**: `Authorization: Bearer tokui_<prefix>_<secret>`. Keys are made by an administrator under
  Settings → API keys and shown once. Scopes: `ingest` (send events), `read`, `write` (includes `ingest`), `admin`
  (includes every scope).
* **Bulk upserts** take `{"records": [...]}` (at most 1,000) with `?source=<slug>` and answer one result per record:
  `created`, `updated`, `unchanged` or `error` with `{code, message, field}`. A bad record never rolls back the
  good ones; the same payload twice changes nothing.
* **Errors** are `{"code", "message", "field"}`; messages are Japanese unless `Accept-Language: en` asks for English.
* **Money** is a decimal string (`"4900"`); **times** are ISO 8601 with an offset (`2026-04-01T10:00:00+09:00`).

See docs/api.md in the repository for examples.
"""


class Utf8JSONRenderer(JSONRenderer):
    """Japanese text as UTF-8 rather than \\u escapes: half the bytes, and readable in a terminal."""

    json_dumps_params: Mapping[str, Any] = {"ensure_ascii": False}


class TokuiApi(NinjaAPI):
    """The API whose every URL logs the request and answers in JSON even where ninja's operations do not run."""

    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        patterns, app_name, namespace = super().urls
        wrapped: list[URLResolver | URLPattern] = []
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                # Logging outermost: a refused method (405) made with a key is logged like any other request.
                view = log_api_requests(json_errors_outside_operations(self, pattern.callback))
                pattern = URLPattern(pattern.pattern, view, pattern.default_args, pattern.name)
            wrapped.append(pattern)
        return wrapped, app_name, namespace


api = TokuiApi(
    title="Tokui API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    docs=LocalSwagger(),
    renderer=Utf8JSONRenderer(),
)
install_error_handlers(api)


class Health(Schema):
    status: str


@api.get("/health", response=Health, tags=["system"])
def health(request: HttpRequest) -> dict[str, str]:
    """Answers without a key: for load balancers and uptime checks."""
    return {"status": "ok"}


api.get("/docs/assets/{name}", include_in_schema=False, url_name="docs_asset")(docs_asset)

api.add_router("", accounts_router)
api.add_router("", customers_router)
api.add_router("", catalog_router)
api.add_router("", commerce_router)
api.add_router("", tracking_router)
api.add_router("", messaging_router)

# Anything else under /api/ is a JSON 404 too, not the HTML page of the site. Mounted last so it only catches leftovers;
# it takes every method, so an unknown address is a 404 rather than a 405 whatever the method.
fallback = Router()
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]


@fallback.api_operation(ANY_METHOD, "/{path:rest}", include_in_schema=False)
def not_found(request: HttpRequest, rest: str) -> None:
    raise Http404


api.add_router("", fallback)
