"""API endpoints about the calling key itself and, for admin keys, every key (never their secrets)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema

from tokui.accounts.api_auth import ApiKeyAuth, request_api_key
from tokui.accounts.api_contract import READ_ERRORS, Page, PageQuery, SiteTime, paginate
from tokui.accounts.enums import ApiScope
from tokui.accounts.models import ApiKey
from tokui.accounts.selectors import api_keys

router = Router(tags=["keys"])


class ApiKeyOut(Schema):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: SiteTime
    last_used_at: SiteTime | None
    revoked_at: SiteTime | None


@router.get("/me", response={200: ApiKeyOut, **READ_ERRORS}, auth=ApiKeyAuth())
def me(request: HttpRequest) -> ApiKey | None:
    """The key this request was made with: a cheap way for a connector to test its set-up."""
    return request_api_key(request)


@router.get("/keys", response={200: Page[ApiKeyOut], **READ_ERRORS}, auth=ApiKeyAuth(ApiScope.ADMIN))
def keys_list(request: HttpRequest, filters: Query[PageQuery]) -> dict[str, object]:
    """Every API key, newest first, revoked ones included. Needs the `admin` scope."""
    return paginate(api_keys(), page=filters)
