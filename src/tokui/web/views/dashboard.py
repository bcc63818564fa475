from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tokui.web.dashboard import dashboard_build


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    data = dashboard_build(now=timezone.now())
    chart = {
        "labels": [date_format(row.month, "YEAR_MONTH_FORMAT") for row in data.months],
        "axes": [{"name": _("Revenue (¥)")}, {"name": _("Orders"), "grid": False}],
        "series": [
            {"name": _("Revenue"), "type": "bar", "data": [int(row.revenue) for row in data.months]},
            {"name": _("Orders"), "type": "line", "axis": 1, "data": [row.orders for row in data.months]},
        ],
    }
    return render(request, "web/dashboard.html", {"data": data, "chart": chart, "nav_active": "dashboard"})
