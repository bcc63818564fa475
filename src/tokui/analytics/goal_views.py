"""The KPI goals screen (目的とKPI): a manager sets this month's (or another month's) goal for each dashboard KPI."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tokui.accounts.models import User
from tokui.analytics.enums import KPIS_LOWER_IS_BETTER, DashboardKpi
from tokui.analytics.kpis import kpi_goals
from tokui.analytics.selectors import user_sets_goals
from tokui.analytics.services import kpi_goals_set
from tokui.core.errors import DomainError
from tokui.core.time import local_today


class GoalsForm(forms.Form):
    month = forms.DateField(
        label=gettext_lazy("Month"), widget=forms.DateInput(attrs={"type": "month"}), input_formats=["%Y-%m"]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kpi in DashboardKpi:
            self.fields[kpi.value] = forms.DecimalField(
                label=kpi.label,
                required=False,
                min_value=Decimal(0),
                max_digits=16,
                decimal_places=2 if kpi in (DashboardKpi.REPEAT_RATE, DashboardKpi.F2_RATE) else 0,
                help_text=_("At most this many") if kpi in KPIS_LOWER_IS_BETTER else "",
            )

    def kpi_fields(self) -> list[forms.BoundField]:
        return [self[kpi.value] for kpi in DashboardKpi]


def _month(value: str | None) -> dt.date:
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        return dt.date(year, month, 1)
    except ValueError:
        return local_today().replace(day=1)


@login_required
def goals(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    can_edit = user_sets_goals(user=user)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(_("Only administrators and marketers set goals."))
        form = GoalsForm(request.POST)
        if form.is_valid():
            month = form.cleaned_data["month"]
            try:
                kpi_goals_set(
                    month=month,
                    targets={kpi.value: form.cleaned_data[kpi.value] for kpi in DashboardKpi},
                    actor=user,
                    ip_address=request.META.get("REMOTE_ADDR"),
                )
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("Goals saved. The dashboard shows how far each KPI is."))
                return redirect(f"{request.path}?month={month:%Y-%m}")
        status = 400
    else:
        month = _month(request.GET.get("month"))
        form = GoalsForm(initial={"month": f"{month:%Y-%m}", **kpi_goals(month=month)})
        status = 200
    context = {"form": form, "can_edit": can_edit, "nav_active": "dashboard"}
    return render(request, "analytics/goals.html", context, status=status)
