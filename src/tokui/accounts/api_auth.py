"""Authentication of API calls: ``Authorization: Bearer tokui_<prefix>_<secret>`` with the scope an endpoint needs.

Each app's ``api.py`` declares its scope per endpoint with ``auth=ApiKeyAuth(ApiScope.READ)``. It lives in accounts
(which owns API keys) rather than in ``tokui.api`` because the domain apps' routers may not import the API layer.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from tokui.accounts.enums import ApiScope, scopes_grant
from tokui.accounts.models import ApiKey
from tokui.accounts.selectors import api_key_for_token
from tokui.accounts.services import api_key_touch
from tokui.core.errors import DomainError, NotAllowedError

# The key a request presented (active or revoked), kept on the request for the request log.
REQUEST_KEY_ATTRIBUTE = "tokui_api_key"


class ApiKeyRefusedError(DomainError):
    """No key, an unknown key or a revoked key: answered with 401."""

    code = "unauthorized"
    http_status = 401


class ScopeMissingError(NotAllowedError):
    """A valid key without the scope the endpoint needs: answered with 403."""

    code = "forbidden"
    http_status = 403


def missing_key_message() -> str:
    """What to send, for a request without a usable Authorization header."""
    return _(
        "Send an API key in the Authorization header as “Bearer tokui_…”. Keys are made under Settings → API keys."
    )


def request_api_key(request: HttpRequest) -> ApiKey | None:
    key = getattr(request, REQUEST_KEY_ATTRIBUTE, None)
    return key if isinstance(key, ApiKey) else None


class ApiKeyAuth(HttpBearer):
    """Accepts an active key holding ``scope`` (or a scope that includes it); ``None`` accepts any active key."""

    def __init__(self, scope: ApiScope | None = None) -> None:
        super().__init__()
        self.scope = scope

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get(self.header, "")
        scheme, _space, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiKeyRefusedError(missing_key_message(), field="Authorization")
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey:
        key = api_key_for_token(token=token)
        if key is None:
            raise ApiKeyRefusedError(
                _(
                    "This API key is not known. Check that it was copied whole, "
                    "or make a new one under Settings → API keys."
                ),
                field="Authorization",
            )
        setattr(request, REQUEST_KEY_ATTRIBUTE, key)
        if key.revoked_at is not None:
            raise ApiKeyRefusedError(
                _("This API key has been revoked. Make a new one under Settings → API keys."),
                code="revoked",
                field="Authorization",
            )
        if self.scope is not None and not scopes_grant(held=list(key.scopes), needed=self.scope):
            raise ScopeMissingError(
                _(
                    "This key lacks the “%(scope)s” scope that this endpoint needs. "
                    "Make a key with it under Settings → API keys."
                )
                % {"scope": self.scope.value},
                field="Authorization",
            )
        api_key_touch(key=key)
        return key
