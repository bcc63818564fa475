"""The tag screens (トラッキングタグ): register a shop's pages, copy the snippet, and see whether the tag works.

Administrators only: a site decides which web pages may write into the timeline. The person installing the tag
sees here the events per hour, the newest events, and what the endpoint refused and why (an origin not registered,
a snippet without the consent attribute, bad fields), with what to do about it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tokui.core.errors import DomainError
from tokui.tracking import selectors, services
from tokui.tracking.models import TrackingSite
from tokui.tracking.tag_refusals import tag_refusals_recent

NAV_KEY = "imports"

# What each refusal means for the person installing the tag, and what to do about it.
REFUSAL_ADVICE: dict[str, Any] = {
    "origin_not_allowed": gettext_lazy(
        "A page at an origin that is not registered sent events. Add the origin below if the page is your shop's."
    ),
    "consent_required": gettext_lazy(
        "This site requires consent, but the pages sent events without it. Use the snippet below (it has "
        "data-require-consent) and call tokui('consent', true) when the visitor agrees."
    ),
    "rate_limited_key": gettext_lazy(
        "The site sent more requests per minute than allowed (TOKUI_TAG_RATE_LIMIT_PER_KEY). Raise the limit for a "
        "busy shop."
    ),
    "rate_limited_ip": gettext_lazy(
        "One visitor's address sent more requests per minute than allowed. Behind a proxy, set "
        "TOKUI_TAG_CLIENT_IP_HEADER so each visitor is counted on their own."
    ),
    "batch_too_large": gettext_lazy("A batch had more events than allowed; the tag sends smaller batches itself."),
}
EVENT_REFUSAL_ADVICE = gettext_lazy(
    "Single events were refused and the rest of their batches kept. Check the field named in the detail in the "
    "shop's tokui('track', ...) calls."
)
OTHER_REFUSAL_ADVICE = gettext_lazy(
    "Requests that were not a batch the tag sends. Check custom code that calls the endpoint."
)


class TrackingSiteForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("name of a tracked site", "Name"), max_length=100)
    allowed_origins = forms.CharField(
        label=gettext_lazy("Allowed origins"),
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://shop.example.jp"}),
        help_text=gettext_lazy(
            "One origin per line, such as https://shop.example.jp (scheme, host and port; no path). Pages "
            "elsewhere are refused."
        ),
    )
    require_consent = forms.BooleanField(
        label=gettext_lazy("Send only after the visitor's consent"),
        required=False,
        help_text=gettext_lazy(
            "The tag sends nothing until the shop's page reports the visitor's consent; batches without it are refused."
        ),
    )
    contact_source = forms.CharField(
        label=gettext_lazy("Source of customer ids"),
        max_length=64,
        required=False,
        help_text=gettext_lazy(
            "The source whose external ids the shop's pages send as contact_external_id (for example bcart). "
            "Empty: any source."
        ),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("name", "allowed_origins", "contact_source"):
            self.fields[name].widget.attrs["class"] = "form-control"

    def origins(self) -> list[str]:
        return [line for line in self.cleaned_data["allowed_origins"].splitlines() if line.strip()]


def _admin(request: HttpRequest) -> Any:
    if not selectors.user_manages_tracking_sites(user=request.user):
        raise PermissionDenied(_("Only administrators can set up the tracking tag."))
    return request.user


def _site_or_404(site_id: int) -> TrackingSite:
    site = selectors.tracking_site_get(site_id=site_id)
    if site is None:
        raise Http404
    return site


def _context(**values: Any) -> dict[str, Any]:
    return {"nav_active": NAV_KEY, "tab": "tag", **values}


def _add_error(form: TrackingSiteForm, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


@login_required
def site_list(request: HttpRequest) -> HttpResponse:
    _admin(request)
    sites = selectors.tracking_sites_with_activity(now=timezone.now())
    return render(request, "tracking/sites/list.html", _context(sites=sites))


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def site_new(request: HttpRequest) -> HttpResponse:
    user = _admin(request)
    form = TrackingSiteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            site = services.tracking_site_create(
                name=form.cleaned_data["name"],
                allowed_origins=form.origins(),
                require_consent=form.cleaned_data["require_consent"],
                contact_source=form.cleaned_data["contact_source"],
                actor=user,
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except DomainError as error:
            _add_error(form, error)
        else:
            messages.success(request, _("Site registered. Put the snippet below in every page of the shop."))
            return redirect("tag_sites:detail", site_id=site.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "tracking/sites/form.html", _context(form=form), status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def site_edit(request: HttpRequest, site_id: int) -> HttpResponse:
    user = _admin(request)
    site = _site_or_404(site_id)
    initial = {
        "name": site.name,
        "allowed_origins": site.allowed_origins,
        "require_consent": site.require_consent,
        "contact_source": site.contact_source,
        "is_active": site.is_active,
    }
    form = TrackingSiteForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.tracking_site_update(
                site=site,
                name=form.cleaned_data["name"],
                allowed_origins=form.origins(),
                require_consent=form.cleaned_data["require_consent"],
                contact_source=form.cleaned_data["contact_source"],
                is_active=form.cleaned_data["is_active"],
                actor=user,
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except DomainError as error:
            _add_error(form, error)
        else:
            messages.success(request, _("Site saved. Every server applies the change within 30 seconds."))
            return redirect("tag_sites:detail", site_id=site.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "tracking/sites/form.html", _context(form=form, site=site), status=status)


def _page_of(event: Any) -> str:
    """The page an event was sent from, as path and query (the origin is the site's), shortened for the table."""
    url = str(event.properties.get("url") or event.properties.get("path") or "")
    parts = urlsplit(url)
    page = unquote(parts.path + (f"?{parts.query}" if parts.query else "")) if parts.scheme else url
    return page if len(page) <= 60 else f"{page[:59]}…"


@login_required
def site_detail(request: HttpRequest, site_id: int) -> HttpResponse:
    _admin(request)
    site = _site_or_404(site_id)
    now = timezone.now()
    hours = selectors.tracking_site_hours(site_id=site.pk, now=now)
    peak = max((count for _hour, count in hours), default=0)
    refusals = [
        {
            "refusal": refusal,
            "advice": REFUSAL_ADVICE.get(
                refusal.code, EVENT_REFUSAL_ADVICE if refusal.code.startswith("event:") else OTHER_REFUSAL_ADVICE
            ),
        }
        for refusal in tag_refusals_recent(site_id=site.pk)
    ]
    context = _context(
        site=site,
        snippet=selectors.tracking_site_snippet(site=site),
        # SVG bars (no inline styles under the CSP): 10 units per hour, the busiest hour 100 high.
        hours=[
            (hour, count, height, index * 10 + 1, 100 - height)
            for index, (hour, count) in enumerate(hours)
            for height in [max(1, round(100 * count / peak)) if count else 0]
        ],
        received_24h=sum(count for _hour, count in hours),
        events=[(event, _page_of(event)) for event in selectors.tracking_site_recent_events(site_id=site.pk)],
        refusals=refusals,
    )
    return render(request, "tracking/sites/detail.html", context)


@login_required
@require_POST
def site_rotate_key(request: HttpRequest, site_id: int) -> HttpResponse:
    user = _admin(request)
    site = _site_or_404(site_id)
    services.tracking_site_write_key_rotate(site=site, actor=user, ip_address=request.META.get("REMOTE_ADDR"))
    messages.warning(request, _("New write key made. Replace the snippet in the shop's pages: the old key is refused."))
    return redirect("tag_sites:detail", site_id=site.pk)
