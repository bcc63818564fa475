from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from tokui.web.navigation import NAV_BY_KEY


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 once the app can reach its database; 503 otherwise (for load balancers and `tokui demo`)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any database failure means not ready
        return JsonResponse({"status": "unavailable", "error": error.__class__.__name__}, status=503)
    return JsonResponse({"status": "ok"})


@login_required
def coming_soon(request: HttpRequest, key: str) -> HttpResponse:
    item = NAV_BY_KEY.get(key)
    if item is None or item.built:
        raise Http404
    return render(request, "web/coming_soon.html", {"item": item, "nav_active": key})
