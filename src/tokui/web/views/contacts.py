"""Individual customers (個人のお客様, B2C) and the customer page of one contact: profile, consent per channel,
points, orders, current cart, favourites and timeline — the same 顧客カルテ a company has."""

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
from tokui.analytics.enums import CustomerLevel
from tokui.analytics.insight import customer_insight
from tokui.commerce.selectors import (
    current_cart_of_contact,
    favorites_of_contact,
    order_summaries_of_contacts,
    orders_of_contact,
)
from tokui.customers.models import Contact
from tokui.customers.selectors import consents_of_contact, contact_for_user, individual_search, point_balance
from tokui.tracking.selectors import timeline_for_contact
from tokui.web.rfm_filter import rfm_list_filter

CONTACTS_PER_PAGE = 25
TIMELINE_PER_PAGE = 20
ORDERS_PER_PAGE = 10
NAV_KEY = "individuals"


class IndividualSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    """Individual customers with their orders to date, searchable by name, kana, email or phone."""
    form = IndividualSearchForm(request.GET or None)
    search = form.cleaned_data.get("q", "") if form.is_valid() else ""
    contacts = individual_search(user=_user(request), search=search)
    rfm = rfm_list_filter(request.GET, level=CustomerLevel.CONTACT, user=_user(request))
    if rfm is not None:
        contacts = contacts.filter(pk__in=rfm.customer_ids)
    page = Paginator(contacts, CONTACTS_PER_PAGE).get_page(request.GET.get("page"))
    summaries = order_summaries_of_contacts(contact_ids=[contact.pk for contact in page])
    context = {
        "form": form,
        "page": page,
        "rows": [(contact, summaries.get(contact.pk)) for contact in page],
        "rfm": rfm,
        "nav_active": NAV_KEY,
    }
    htmx_target = getattr(getattr(request, "htmx", None), "target", None)
    template = "web/contacts/_results.html" if htmx_target == "contact-results" else "web/contacts/list.html"
    return render(request, template, context)


def _contact_or_404(request: HttpRequest, contact_id: int) -> Contact:
    contact = contact_for_user(user=_user(request), contact_id=contact_id)
    if contact is None:
        raise Http404  # same answer for "no such contact" and "not yours": no probing of ids
    return contact


@login_required
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _contact_or_404(request, contact_id)
    context = {
        "contact": contact,
        # A contact of a company is counted as that company (its page has the analysis); B2C contacts alone.
        "insight": None if contact.company_id else customer_insight(contact_id=contact.pk),
        "company": contact.company,
        "summary": order_summaries_of_contacts(contact_ids=[contact.pk]).get(contact.pk),
        "consents": consents_of_contact(contact=contact),
        "points": point_balance(contact=contact),
        "orders_page": Paginator(orders_of_contact(contact_id=contact.pk), ORDERS_PER_PAGE).get_page(
            request.GET.get("orders")
        ),
        "orders_url": reverse("web:contact_orders", args=[contact.pk]),
        "cart": current_cart_of_contact(contact_id=contact.pk),
        "favorites": list(favorites_of_contact(contact_id=contact.pk)[:12]),
        "timeline_page": Paginator(timeline_for_contact(contact_id=contact.pk), TIMELINE_PER_PAGE).get_page(1),
        "timeline_url": reverse("web:contact_timeline", args=[contact.pk]),
        "now": timezone.now(),
        "nav_active": "companies" if contact.company_id else NAV_KEY,
    }
    return render(request, "web/contacts/detail.html", context)


@login_required
def contact_timeline(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _contact_or_404(request, contact_id)
    page = Paginator(timeline_for_contact(contact_id=contact.pk), TIMELINE_PER_PAGE).get_page(request.GET.get("page"))
    context = {"timeline_page": page, "timeline_url": reverse("web:contact_timeline", args=[contact.pk])}
    return render(request, "web/companies/_timeline.html", context)


@login_required
def contact_orders(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _contact_or_404(request, contact_id)
    page = Paginator(orders_of_contact(contact_id=contact.pk), ORDERS_PER_PAGE).get_page(request.GET.get("orders"))
    context = {"orders_page": page, "orders_url": reverse("web:contact_orders", args=[contact.pk])}
    return render(request, "web/companies/_orders.html", context)
