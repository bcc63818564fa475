"""The filter forms of the sales analysis and ranking screens (GET forms: a report's URL can be bookmarked)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tokui.accounts.models import User
from tokui.accounts.selectors import sales_reps, user_sees_all_accounts
from tokui.analytics.report_types import Breakdown, Comparison, Granularity, RankingBy, SalesFilters
from tokui.catalog.selectors import categories
from tokui.commerce.enums import OrderChannel
from tokui.core.time import add_months, local_today
from tokui.customers.enums import CompanySize, Prefecture

# A daily chart of more than a year is unreadable and slow; weeks or months say the same.
MAX_DAILY_DAYS = 400
MAX_DAYS = 366 * 5
ALL: list[tuple[str, Any]] = [("", _("All"))]


class DateInput(forms.DateInput):
    input_type = "date"


def _style(form: forms.Form, autosubmit: tuple[str, ...]) -> None:
    """Bootstrap classes on every widget; choices that reshape the report submit the form when changed."""
    for name, field in form.fields.items():
        is_select = isinstance(field.widget, forms.Select)
        field.widget.attrs["class"] = "form-select form-select-sm" if is_select else "form-control form-control-sm"
        if name in autosubmit:
            field.widget.attrs["data-autosubmit"] = ""


def _category_choices() -> list[tuple[str, str]]:
    return [("", str(_("All categories")))] + [
        (str(c.pk), str(c)) for c in categories().order_by("parent_id", "sort_order", "name")
    ]


def sales_defaults(today: dt.date | None = None) -> dict[str, str]:
    """The last 12 full months plus this month to date, by month, against the same period last year."""
    today = today or local_today()
    return {
        "start": add_months(today.replace(day=1), -12).isoformat(),
        "end": today.isoformat(),
        "granularity": Granularity.MONTH,
        "comparison": Comparison.PREVIOUS_YEAR,
        "breakdown": Breakdown.CHANNEL,
    }


class SalesReportForm(forms.Form):
    start = forms.DateField(label=pgettext_lazy("date range", "From"), widget=DateInput)
    end = forms.DateField(label=pgettext_lazy("date range", "To"), widget=DateInput)
    granularity = forms.ChoiceField(label=pgettext_lazy("report", "Period unit"), choices=Granularity.choices)
    comparison = forms.ChoiceField(label=_("Compare with"), choices=Comparison.choices)
    breakdown = forms.ChoiceField(label=_("Break down by"), choices=Breakdown.choices)
    channel = forms.ChoiceField(label=_("Channel"), choices=ALL + list(OrderChannel.choices), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    prefecture = forms.ChoiceField(label=_("Prefecture"), choices=ALL + list(Prefecture.choices), required=False)
    sales_rep = forms.ChoiceField(label=_("Sales rep"), required=False)
    company_size = forms.ChoiceField(label=_("Company size"), choices=ALL + list(CompanySize.choices), required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["category"]).choices = _category_choices()
        if user_sees_all_accounts(user=user):
            reps = [(str(rep.pk), str(rep)) for rep in sales_reps()]
            cast(forms.ChoiceField, self.fields["sales_rep"]).choices = ALL + reps
        else:
            # A rep sees only their own accounts: choosing another rep could only show nothing.
            del self.fields["sales_rep"]
        _style(self, ("granularity", "comparison", "breakdown"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The end date is before the start date. Pick an end date on or after it."))
            elif (end - start).days >= MAX_DAYS:
                self.add_error("start", _("Pick a range of at most five years."))
            elif data.get("granularity") == Granularity.DAY and (end - start).days >= MAX_DAILY_DAYS:
                self.add_error(
                    "granularity",
                    _("A daily report covers at most 400 days. Pick weeks or months, or a shorter range."),
                )
        return data

    def filters(self) -> SalesFilters:
        data = self.cleaned_data
        return SalesFilters(
            channel=data.get("channel") or "",
            category_id=int(data["category"]) if data.get("category") else None,
            prefecture=data.get("prefecture") or "",
            sales_rep_id=int(data["sales_rep"]) if data.get("sales_rep") else None,
            company_size=data.get("company_size") or "",
        )


def rankings_defaults(today: dt.date | None = None) -> dict[str, str]:
    """Last month's ranking: a whole month, as the monthly ranking mail will send it (this month may be a day old)."""
    return {
        "period": Granularity.MONTH,
        "day": add_months(today or local_today(), -1).isoformat(),
        "by": RankingBy.UNITS,
        "limit": "20",
    }


class RankingForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=Granularity.choices)
    day = forms.DateField(label=_("Date in the period"), widget=DateInput)
    by = forms.ChoiceField(label=_("Rank by"), choices=RankingBy.choices)
    category = forms.ChoiceField(label=_("Category"), required=False)
    limit = forms.IntegerField(label=_("Top"), min_value=1, max_value=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["category"]).choices = _category_choices()
        _style(self, ("period", "by", "category"))
