from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from tokui.demo.selectors import caught_mail, caught_mail_parsed


@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    """Mail received by the built-in mail catcher: what Tokui sent, without it leaving the machine."""
    page = Paginator(caught_mail(), 30).get_page(request.GET.get("page"))
    return render(request, "web/outbox/list.html", {"page": page, "nav_active": "outbox"})


@login_required
def outbox_detail(request: HttpRequest, mail_id: int) -> HttpResponse:
    parsed = caught_mail_parsed(mail_id=mail_id)
    if parsed is None:
        raise Http404
    return render(request, "web/outbox/detail.html", {"mail": parsed, "nav_active": "outbox"})
