from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tokui.web.navigation import NAV_ITEMS


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Sidebar items grouped by section, for the base template."""
    sections: list[tuple[str, list[Any]]] = []
    for item in NAV_ITEMS:
        if not sections or sections[-1][0] != str(item.section):
            sections.append((str(item.section), []))
        sections[-1][1].append(item)
    return {"nav_sections": sections}
