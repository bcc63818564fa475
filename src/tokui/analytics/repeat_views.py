"""The repeat screen (リピート分析): repeat rate and F2 conversion of the customers acquired in a range of months,
the days to the second order, the cohort retention triangle, LTV by cohort and by the first order's channel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from tokui.accounts.models import User
from tokui.analytics.repeat import LTV_MONTHS, CohortRow, RepeatReport, repeat_report
from tokui.analytics.report_exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, Table, csv_bytes, download, xlsx_bytes
from tokui.commerce.enums import OrderChannel
from tokui.core.money import default_currency, format_money
from tokui.core.time import add_months, local_today, months_between

NAV_KEY = "repeat"
MAX_MONTHS = 36


class RepeatForm(forms.Form):
    first = forms.DateField(
        label=gettext_lazy("Customers acquired from"),
        widget=forms.DateInput(attrs={"type": "month"}),
        input_formats=["%Y-%m"],
    )
    last = forms.DateField(
        label=pgettext_lazy("end of a range of months", "to"),
        widget=forms.DateInput(attrs={"type": "month"}),
        input_formats=["%Y-%m"],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first"), data.get("last")
        if first and last:
            if first > last:
                raise forms.ValidationError(_("The first month must be on or before the last month."))
            months = months_between(first, last) + 1
            if months > MAX_MONTHS:
                raise forms.ValidationError(_("Choose at most %(max)d months of first orders.") % {"max": MAX_MONTHS})
        return data


def _shade(share: float | None) -> str:
    """A background class for a retention cell (classes, not inline styles: the CSP forbids those)."""
    if share is None:
        return ""
    for floor, css in (
        (0.5, "cohort-5"),
        (0.3, "cohort-4"),
        (0.15, "cohort-3"),
        (0.05, "cohort-2"),
        (0.0001, "cohort-1"),
    ):
        if share >= floor:
            return css
    return "cohort-0"


def _month_label(day: dt.date) -> str:
    return str(date_format(day, "YEAR_MONTH_FORMAT"))


def _tables(report: RepeatReport) -> list[Table]:
    ages = list(range(report.months))
    retention = Table(
        title=_("Retention"),
        header=[_("First order month"), _("Customers"), *[_("Month %(n)d") % {"n": age} for age in ages]],
        rows=[
            [_month_label(row.month), row.customers, *[None if v is None else round(v * 100, 1) for v in row.retention]]
            for row in report.cohorts
        ],
    )
    ltv = Table(
        title=_("LTV by cohort"),
        header=[_("First order month"), _("Customers"), *[_("Month %(n)d") % {"n": age} for age in ages]],
        rows=[[_month_label(row.month), row.customers, *row.ltv] for row in report.cohorts],
    )
    channels = Table(
        title=_("LTV by first channel"),
        header=[
            _("Channel of the first order"),
            _("Customers"),
            *[_("%(n)d months") % {"n": months} for months in LTV_MONTHS],
            _("To date"),
        ],
        rows=[
            [str(OrderChannel(row.channel).label), row.customers, *[row.ltv[m] for m in LTV_MONTHS], row.to_date]
            for row in report.channels
        ],
    )
    return [retention, ltv, channels]


type Cell = tuple[str, str, str]  # text, CSS classes, title


def _cohort_cells(row: CohortRow, *, now: int, currency: str) -> tuple[list[Cell], list[Cell]]:
    """A cohort's retention and LTV cells. The cells of month ``now`` (today's month) count its orders so far:
    marked, so a low share there is not read as a drop."""

    def cell(text: str, shade: str, age: int) -> Cell:
        if age != now:
            return text, shade, ""
        return text, f"{shade} cohort-now".strip(), _("This month so far")

    retention = [
        cell(f"{value * 100:.1f}%", _shade(value), age) if value is not None else ("", "", "")
        for age, value in enumerate(row.retention)
    ]
    ltv = [
        cell(format_money(value, currency), "", age) if value is not None else ("", "", "")
        for age, value in enumerate(row.ltv)
    ]
    return retention, ltv


@login_required
def repeat_analysis(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    today = local_today()
    default = {"first": f"{add_months(today, -11):%Y-%m}", "last": f"{today:%Y-%m}"}
    form = RepeatForm({**default, **{k: v for k, v in request.GET.items() if k in ("first", "last") and v}})
    context: dict[str, Any] = {"form": form, "nav_active": NAV_KEY}
    if not form.is_valid():
        return render(request, "analytics/repeat.html", context, status=400)
    report = repeat_report(
        user=user, first_month=form.cleaned_data["first"], last_month=form.cleaned_data["last"], today=today
    )
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        tables = _tables(report)
        name = f"repeat_{report.first_month:%Y%m}-{report.last_month:%Y%m}"
        if export == "xlsx":
            return download(xlsx_bytes(tables), filename=f"{name}.xlsx", content_type=XLSX_CONTENT_TYPE)
        index = {"retention": 0, "ltv": 1, "channels": 2}.get(request.GET.get("table", ""), 0)
        name += f"_{['retention', 'ltv', 'channels'][index]}"
        return download(csv_bytes(tables[index]), filename=f"{name}.csv", content_type=CSV_CONTENT_TYPE)
    f2_total = sum(count for _label, count in report.f2_days)
    currency = default_currency()
    context |= {
        "report": report,
        "ages": list(range(report.months)),
        "cohort_rows": [
            (row, *_cohort_cells(row, now=months_between(row.month, today), currency=currency))
            for row in report.cohorts
        ],
        "f2_rows": [
            (label, count, round(100 * count / f2_total, 1) if f2_total else 0) for label, count in report.f2_days
        ],
        "channel_rows": [
            (
                OrderChannel(row.channel).label,
                row,
                [format_money(row.ltv[m], currency) if row.ltv[m] is not None else _("Too early") for m in LTV_MONTHS],
                format_money(row.to_date, currency),
            )
            for row in report.channels
        ],
        "repeat_rate": "" if report.repeat_rate is None else f"{report.repeat_rate * 100:.1f}%",
        "f2_rate": "" if report.f2_rate is None else f"{report.f2_rate * 100:.1f}%",
        "ltv_months": LTV_MONTHS,
        "f2_chart": {
            "labels": [_("%(days)s days") % {"days": label} for label, _count in report.f2_days],
            "axes": [{"name": _("Customers")}],
            "series": [{"name": _("Second orders"), "type": "bar", "data": [count for _l, count in report.f2_days]}],
        },
        "query": request.GET.urlencode(),
    }
    return render(request, "analytics/repeat.html", context)
