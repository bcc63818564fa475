"""The RFM screens: the R×F grid with its groups and the month-over-month movement, and the RFM settings."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from tokui.accounts.models import User
from tokui.analytics.enums import CustomerLevel
from tokui.analytics.forms import RfmSettingsForm, bounds_split
from tokui.analytics.selectors import (
    rfm_grid,
    rfm_movement,
    rfm_rules,
    stats_last_recompute,
    user_edits_rfm_settings,
)
from tokui.analytics.services import rfm_settings_update
from tokui.analytics.types import RfmMovement
from tokui.core.errors import DomainError
from tokui.core.money import default_currency, format_money

NAV_KEY = "rfm"
# A colour per group, in the groups' order (the defaults: new, loyal, stable, at risk, dormant).
GROUP_CLASSES = (
    "rfm-new",
    "rfm-loyal",
    "rfm-stable",
    "rfm-risk",
    "rfm-dormant",
    "rfm-extra1",
    "rfm-extra2",
    "rfm-extra3",
)


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


def _level(request: HttpRequest) -> str:
    level = request.GET.get("level") or request.POST.get("level") or ""
    return level if level in CustomerLevel.values else CustomerLevel.COMPANY


def _movement_rows(movement: RfmMovement) -> list[tuple[str, list[tuple[int, bool, str]]]]:
    """Each row's label and cells: (customers, on the diagonal, the list filter for them or "" for no link).

    The last label ("no orders yet") names no group, so its row and column have no link.
    """
    keys = [*(label for label in movement.labels[:-2]), "", None]
    rows = []
    for row, (label, counts) in enumerate(zip(movement.labels, movement.matrix, strict=True)):
        cells = []
        for column, count in enumerate(counts):
            linked = count and keys[row] is not None and keys[column] is not None
            query = urlencode({"rfm_from": keys[row], "rfm_to": keys[column]}) if linked else ""
            cells.append((count, row == column, query))
        rows.append((label, cells))
    return rows


@login_required
def rfm_overview(request: HttpRequest) -> HttpResponse:
    """The R×F grid (counts, revenue and share per cell, each cell opening its customers) and group movement."""
    user = _user(request)
    level = _level(request)
    grid = rfm_grid(level=level, user=user)
    movement = rfm_movement(level=level, user=user)
    rules = rfm_rules(level=level)
    classes = {group.name: GROUP_CLASSES[index % len(GROUP_CLASSES)] for index, group in enumerate(rules.groups)}
    context = {
        "level": level,
        "levels": CustomerLevel.choices,
        "grid": grid,
        "grid_rows": [(row[0].r, [(cell, classes.get(cell.group, "rfm-none")) for cell in row]) for row in grid.rows],
        "group_rows": [
            (
                name,
                customers,
                revenue,
                classes.get(name, "rfm-none"),
                customers / grid.customers if grid.customers else 0,
            )
            for name, customers, revenue in grid.groups
        ],
        "movement": movement,
        "movement_rows": _movement_rows(movement),
        "rules": rules,
        "rules_display": {
            "r": " / ".join(str(days) for days in rules.recency_bounds),
            "f": " / ".join(str(orders) for orders in rules.frequency_bounds),
            "m": " / ".join(format_money(amount, default_currency()) for amount in rules.monetary_bounds),
        },
        "last_recompute": stats_last_recompute(),
        "list_url": reverse("web:company_list" if level == CustomerLevel.COMPANY else "web:contact_list"),
        "can_edit": user_edits_rfm_settings(user=user),
        "nav_active": NAV_KEY,
    }
    htmx_target = getattr(getattr(request, "htmx", None), "target", None)
    template = "analytics/_rfm_body.html" if htmx_target == "rfm-body" else "analytics/rfm.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def rfm_settings(request: HttpRequest) -> HttpResponse:
    """Edit the boundaries and groups of one customer level (administrators and marketers)."""
    user = _user(request)
    if not user_edits_rfm_settings(user=user):
        raise PermissionDenied
    level = _level(request)
    rules = rfm_rules(level=level)
    form = RfmSettingsForm(request.POST or None, rules=rules)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            groups = form.groups()
            if form.is_valid() and not form.errors:
                data = form.cleaned_data
                try:
                    rfm_settings_update(
                        level=level,
                        recency_method=data["recency_method"],
                        recency_bounds=bounds_split(data["recency_bounds"]),
                        frequency_method=data["frequency_method"],
                        frequency_bounds=bounds_split(data["frequency_bounds"]),
                        monetary_method=data["monetary_method"],
                        monetary_bounds=bounds_split(data["monetary_bounds"]),
                        groups=groups,
                    )
                except DomainError as error:
                    field = error.field if error.field in form.fields else None
                    form.add_error(field, error.message)
                else:
                    return redirect(f"{reverse('analytics:rfm')}?level={level}")
        status = 400
    context = {
        "form": form,
        "level": level,
        "level_label": CustomerLevel(level).label,
        "form_axes": [
            (form["recency_method"], form["recency_bounds"]),
            (form["frequency_method"], form["frequency_bounds"]),
            (form["monetary_method"], form["monetary_bounds"]),
        ],
        "levels": CustomerLevel.choices,
        "nav_active": NAV_KEY,
        "title": _("RFM settings"),
    }
    return render(request, "analytics/rfm_settings.html", context, status=status)
