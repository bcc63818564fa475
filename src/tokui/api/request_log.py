"""Every API request made with a key is logged: key, method, path, status and duration (one insert)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from tokui.accounts.api_auth import request_api_key
from tokui.accounts.models import ApiKey
from tokui.accounts.selectors import api_key_for_token
from tokui.accounts.services import api_request_record

logger = logging.getLogger(__name__)

Run = Callable[..., HttpResponseBase]


def _presented_key(request: HttpRequest) -> ApiKey | None:
    """The key the request was authenticated with, or, where no authentication ran (a refused method, an address
    that needs no key), the key its Authorization header names."""
    key = request_api_key(request)
    if key is not None:
        return key
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    return api_key_for_token(token=token.strip()) if scheme.lower() == "bearer" and token.strip() else None


def log_api_requests(run: Run) -> Run:
    """A view decorator for every URL of the API (``tokui.api.urls.TokuiApi.urls``).

    Requests that present a key are logged, with the key's id when the key is known (also when it is revoked or
    lacks the scope); requests without any key (the health check, the docs) are not.
    """

    @wraps(run)
    def logged(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        started = time.perf_counter()
        response = run(request, *args, **kwargs)
        if "HTTP_AUTHORIZATION" in request.META:
            try:
                key = _presented_key(request)
                api_request_record(
                    key_id=key.pk if key is not None else None,
                    method=request.method or "",
                    path=request.path,
                    status_code=response.status_code,
                    duration_ms=round((time.perf_counter() - started) * 1000),
                )
            except DatabaseError:  # the log must never turn an answered request into an error
                logger.exception("could not log API request %s %s", request.method, request.path)
        return response

    return logged
