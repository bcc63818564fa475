"""Settings screens: API keys and the API request log (admins only)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tokui.accounts.enums import ApiScope
from tokui.accounts.forms import ApiKeyForm, ApiRequestFilterForm
from tokui.accounts.models import ApiKey, User
from tokui.accounts.selectors import api_key_get, api_keys, api_requests, user_manages_api_keys
from tokui.accounts.services import api_key_create, api_key_revoke
from tokui.core.errors import DomainError

REQUESTS_PER_PAGE = 50


def _admin(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User) or not user_manages_api_keys(user=user):
        raise PermissionDenied(_("Only administrators can manage API keys."))
    return user


def _list(request: HttpRequest, form: ApiKeyForm, *, status: int = 200) -> HttpResponse:
    context = {"keys": api_keys(), "form": form, "scopes": ApiScope, "nav_active": "settings"}
    return render(request, "accounts/api_keys.html", context, status=status)


@login_required
def api_keys_list(request: HttpRequest) -> HttpResponse:
    """Every API key with its scopes, creator and last use; a form to make a new one."""
    _admin(request)
    return _list(request, ApiKeyForm())


@never_cache
@login_required
@require_POST
def api_key_new(request: HttpRequest) -> HttpResponse:
    """Make a key and show it this once: only its hash is kept, so it cannot be shown again."""
    user = _admin(request)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _list(request, form, status=400)
    try:
        created = api_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            created_by=user,
            ip_address=request.META.get("REMOTE_ADDR"),
        )
    except DomainError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return _list(request, form, status=400)
    response = render(
        request, "accounts/api_key_created.html", {"key": created.key, "token": created.token, "nav_active": "settings"}
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def api_key_revoke_confirm(request: HttpRequest, key_id: int) -> HttpResponse:
    """GET asks to confirm; POST revokes. A revoked key is refused from its next request on."""
    user = _admin(request)
    key: ApiKey | None = api_key_get(key_id=key_id)
    if key is None:
        raise Http404
    if request.method == "POST":
        api_key_revoke(key=key, revoked_by=user, ip_address=request.META.get("REMOTE_ADDR"))
        messages.success(request, _("The key “%(name)s” was revoked.") % {"name": key.name})
        return redirect("accounts:api_keys")
    return render(request, "accounts/api_key_revoke.html", {"key": key, "nav_active": "settings"})


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        return 1


@login_required
def api_requests_list(request: HttpRequest) -> HttpResponse:
    """The most recent API requests, newest first, filtered by key and to errors only.

    Pages without counting: the log holds every request of the retention period, and a COUNT over it on every
    page view costs more than the page. One row more than shown tells whether an older page follows.
    """
    _admin(request)
    form = ApiRequestFilterForm(request.GET or None)
    key: ApiKey | None = None
    errors_only = False
    if form.is_valid():
        key = form.cleaned_data["key"]
        errors_only = form.cleaned_data["errors_only"]
    number = _page_number(request)
    start = (number - 1) * REQUESTS_PER_PAGE
    rows = list(
        api_requests(key_id=key.pk if key else None, errors_only=errors_only)[start : start + REQUESTS_PER_PAGE + 1]
    )
    context = {
        "form": form,
        "requests": rows[:REQUESTS_PER_PAGE],
        "page_number": number,
        "previous_page": number - 1 if number > 1 else None,
        "next_page": number + 1 if len(rows) > REQUESTS_PER_PAGE else None,
        "retention_days": settings.API_LOG_RETENTION_DAYS,
        "nav_active": "settings",
    }
    return render(request, "accounts/api_requests.html", context)
