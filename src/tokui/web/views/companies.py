from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tokui.accounts.models import User
from tokui.accounts.selectors import sales_reps, user_sees_all_accounts
from tokui.analytics.enums import CustomerLevel
from tokui.analytics.insight import customer_insight
from tokui.commerce.selectors import current_cart_of_company, favorites_of_company, order_summaries, orders_of_company
from tokui.customers.enums import ApprovalStatus, Channel, CompanySize, Industry, Prefecture
from tokui.customers.selectors import (
    CompanyFilters,
    company_for_user,
    company_search,
    consent_status,
    contacts_of_company,
    point_balance,
)
from tokui.tracking.selectors import timeline_for_company
from tokui.web.rfm_filter import rfm_list_filter

COMPANIES_PER_PAGE = 25
TIMELINE_PER_PAGE = 20
ORDERS_PER_PAGE = 10


class CompanyFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    prefecture = forms.ChoiceField(
        label=_("Prefecture"), required=False, choices=[("", _("All prefectures")), *Prefecture.choices]
    )
    industry = forms.ChoiceField(
        label=_("Industry"), required=False, choices=[("", _("All industries")), *Industry.choices]
    )
    size = forms.ChoiceField(
        label=_("Company size"), required=False, choices=[("", _("All sizes")), *CompanySize.choices]
    )
    approval = forms.ChoiceField(
        label=_("Approval"), required=False, choices=[("", _("Any approval")), *ApprovalStatus.choices]
    )
    rep = forms.TypedChoiceField(label=_("Sales rep"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if user_sees_all_accounts(user=user):
            self.fields["rep"].choices = [("", _("All sales reps")), *((rep.pk, str(rep)) for rep in sales_reps())]  # type: ignore[attr-defined]
        else:
            del self.fields["rep"]

    def filters(self) -> CompanyFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return CompanyFilters(
            search=data.get("q") or "",
            prefecture=data.get("prefecture") or "",
            industry=data.get("industry") or "",
            size=data.get("size") or "",
            approval_status=data.get("approval") or "",
            assigned_rep_id=data.get("rep"),
        )


@login_required
def company_list(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = CompanyFilterForm(request.GET or None, user=user)
    companies = company_search(user=user, filters=form.filters())
    rfm = rfm_list_filter(request.GET, level=CustomerLevel.COMPANY, user=user)
    if rfm is not None:
        companies = companies.filter(pk__in=rfm.customer_ids)
    page = Paginator(companies, COMPANIES_PER_PAGE).get_page(request.GET.get("page"))
    summaries = order_summaries(company_ids=[company.pk for company in page])
    rows = [(company, summaries.get(company.pk)) for company in page]
    context = {"form": form, "page": page, "rows": rows, "rfm": rfm, "nav_active": "companies"}
    template = (
        "web/companies/_results.html"
        if getattr(getattr(request, "htmx", None), "target", None) == "company-results"
        else "web/companies/list.html"
    )
    return render(request, template, context)


def _company_or_404(request: HttpRequest, company_id: int):  # type: ignore[no-untyped-def]
    company = company_for_user(user=request.user, company_id=company_id)  # type: ignore[arg-type]
    if company is None:
        # Same answer whether the company does not exist or belongs to another rep: no probing of ids.
        raise Http404
    return company


@login_required
def company_detail(request: HttpRequest, company_id: int) -> HttpResponse:
    """The customer page (顧客カルテ): profile, contacts, orders, current cart, favourites and timeline."""
    company = _company_or_404(request, company_id)
    contacts = list(contacts_of_company(company_id=company.pk))
    contact_rows = [(contact, consent_status(contact=contact, channel=Channel.EMAIL)) for contact in contacts]
    context = {
        "company": company,
        "summary": order_summaries(company_ids=[company.pk]).get(company.pk),
        "contact_rows": contact_rows,
        "orders_page": Paginator(orders_of_company(company_id=company.pk), ORDERS_PER_PAGE).get_page(
            request.GET.get("orders")
        ),
        "orders_url": reverse("web:company_orders", args=[company.pk]),
        "timeline_url": reverse("web:company_timeline", args=[company.pk]),
        "cart": current_cart_of_company(company_id=company.pk),
        "favorites": list(favorites_of_company(company_id=company.pk)[:12]),
        "timeline_page": Paginator(timeline_for_company(company_id=company.pk), TIMELINE_PER_PAGE).get_page(1),
        "points": point_balance(company=company),
        "insight": customer_insight(company_id=company.pk),
        "now": timezone.now(),
        "nav_active": "companies",
    }
    return render(request, "web/companies/detail.html", context)


@login_required
def company_timeline(request: HttpRequest, company_id: int) -> HttpResponse:
    """One more page of the timeline, newest first (loaded by htmx)."""
    company = _company_or_404(request, company_id)
    page = Paginator(timeline_for_company(company_id=company.pk), TIMELINE_PER_PAGE).get_page(request.GET.get("page"))
    context = {"timeline_page": page, "timeline_url": reverse("web:company_timeline", args=[company.pk])}
    return render(request, "web/companies/_timeline.html", context)


@login_required
def company_orders(request: HttpRequest, company_id: int) -> HttpResponse:
    company = _company_or_404(request, company_id)
    page = Paginator(orders_of_company(company_id=company.pk), ORDERS_PER_PAGE).get_page(request.GET.get("orders"))
    context = {"orders_page": page, "orders_url": reverse("web:company_orders", args=[company.pk])}
    return render(request, "web/companies/_orders.html", context)
