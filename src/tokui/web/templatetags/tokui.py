"""Template filters of the UI shell: money, deltas and timeline summaries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import template
from django.utils.translation import gettext as _

from tokui.core.money import format_money
from tokui.tracking.enums import event_type_label

register = template.Library()


@register.filter
def money(amount: Decimal | int | None, currency: str = "JPY") -> str:
    return format_money(amount, currency or "JPY")


@register.filter
def event_label(event_type: str) -> str:
    return event_type_label(event_type)


@register.filter
def event_detail(properties: object) -> str:
    """A short human line for a fact's properties (product name, search words, order total, ...)."""
    if not isinstance(properties, dict):
        return ""
    items = properties.get("items")
    if isinstance(items, list) and "total" in properties:
        names = "、".join(str(item.get("name", "")) for item in items[:3] if isinstance(item, dict))
        more = _(" and %(count)d more") % {"count": len(items) - 3} if len(items) > 3 else ""
        total = format_money(Decimal(str(properties["total"])), str(properties.get("currency", "JPY")))
        return f"{total} — {names}{more}"
    for key in ("name", "query", "title"):
        if properties.get(key):
            return str(properties[key])
    if "points" in properties:
        return _("%(points)s points") % {"points": properties["points"]}
    if "status" in properties and "channel" in properties:
        return f"{properties['channel']}: {properties['status']}"
    return str(properties.get("url", ""))


@register.simple_tag(takes_context=True)
def query_with(context: dict[str, Any], **changes: Any) -> str:
    """The current query string with some parameters replaced (for pagination links that keep filters)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        params[key] = value
    return "?" + urlencode(sorted((k, v) for k, v in params.items() if v not in ("", None)))


@register.filter
def percent_change(current: Decimal | int, previous: Decimal | int) -> float | None:
    if not previous:
        return None
    return float((Decimal(current) - Decimal(previous)) / Decimal(previous) * 100)
