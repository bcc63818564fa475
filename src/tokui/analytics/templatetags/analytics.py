from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(share: float | None) -> str:
    """A share between 0 and 1 as a percentage with one decimal (``0.125`` → ``12.5%``)."""
    return "-" if share is None else f"{share * 100:.1f}%"
