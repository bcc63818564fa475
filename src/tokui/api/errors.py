"""Every API error is JSON ``{code, message, field}`` in the caller's language (Japanese unless asked otherwise)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.response import HttpResponseBase
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from tokui.accounts.api_auth import missing_key_message
from tokui.accounts.api_contract import error_field, validation_message
from tokui.core.errors import DomainError

logger = logging.getLogger(__name__)

_LOCATIONS = {"body", "query", "path", "header", "cookie", "form"}


def _json_error(
    api: NinjaAPI, request: HttpRequest, status: int, code: str, message: str, field: str | None
) -> HttpResponse:
    response = api.create_response(request, {"code": code, "message": message, "field": field}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="tokui"'
    return response


def _validation_field(loc: list[str | int]) -> str | None:
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        location = parts.pop(0)
        # A body or a query schema is one parameter of the handler: its name is not part of the caller's field.
        if (
            location in {"body", "query"}
            and len(parts) > 1
            and isinstance(parts[0], str)
            and parts[0] in {"payload", "filters"}
        ):
            parts.pop(0)
    return error_field(parts)


def install_error_handlers(api: NinjaAPI) -> None:
    """Replace ninja's default error bodies with Tokui's ``{code, message, field}``."""

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        status = int(getattr(exc, "http_status", 400))
        return _json_error(api, request, status, exc.code, exc.message, exc.field)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        return _json_error(
            api, request, 422, "invalid", validation_message(first), _validation_field(list(first.get("loc", [])))
        )

    @api.exception_handler(AuthenticationError)
    def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return _json_error(api, request, 401, "unauthorized", missing_key_message(), "Authorization")

    @api.exception_handler(AuthorizationError)
    def authorization_error(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
        return _json_error(api, request, 403, "forbidden", _("This key may not do that."), "Authorization")

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return not_found_response(api, request)

    def too_large(request: HttpRequest) -> HttpResponse:
        limit = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        message = _("The request body is larger than %(limit)s. Send fewer records a call.") % {"limit": limit}
        return _json_error(api, request, 413, "payload_too_large", message, None)

    @api.exception_handler(RequestDataTooBig)
    def request_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return too_large(request)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if isinstance(exc.__cause__, RequestDataTooBig):
            return too_large(request)
        if exc.status_code == 400:
            message = _("The request body is not valid JSON in UTF-8. Check the quoting, commas and the encoding.")
            return _json_error(api, request, 400, "malformed_json", message, None)
        return _json_error(api, request, exc.status_code, "error", str(exc), None)

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
        message = _("Something went wrong on our side. Try again; if it keeps happening, tell the administrator.")
        return _json_error(api, request, 500, "server_error", message, None)


def not_found_response(api: NinjaAPI, request: HttpRequest) -> HttpResponse:
    message = _("Nothing was found here. Check the address and the id.")
    return _json_error(api, request, 404, "not_found", message, None)


def method_not_allowed_response(api: NinjaAPI, request: HttpRequest, allowed: list[str]) -> HttpResponse:
    message = _("This address does not accept %(method)s. Use %(allowed)s.") % {
        "method": request.method,
        "allowed": ", ".join(allowed),
    }
    response = _json_error(api, request, 405, "method_not_allowed", message, None)
    response["Allow"] = ", ".join(allowed)
    return response


View = Callable[..., HttpResponseBase]


def json_errors_outside_operations(api: NinjaAPI, view: View) -> View:
    """Wrap one URL of the API so the answers ninja gives outside its operations are JSON too.

    ninja answers a method an address does not take with a plain-text 405, and its root ``/api/`` raises a bare
    ``Http404`` that Django turns into its HTML page: neither passes through the exception handlers above.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return not_found_response(api, request)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = sorted(method.strip() for method in response["Allow"].split(",") if method.strip())
            return method_not_allowed_response(api, request, allowed)
        return response

    return wrapped
