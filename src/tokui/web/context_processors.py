from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tokui.accounts.models import User
from tokui.accounts.selectors import user_manages_api_keys
from tokui.web.navigation import NAV_ITEMS


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Sidebar items grouped by section, for the base template."""
    sections: list[tuple[str, list[Any]]] = []
    user = getattr(request, "user", None)
    is_admin = isinstance(user, User) and user_manages_api_keys(user=user)
    for item in NAV_ITEMS:
        if item.admin_only and not is_admin:
            continue
        if not sections or sections[-1][0] != str(item.section):
            sections.append((str(item.section), []))
        sections[-1][1].append(item)
    return {"nav_sections": sections}
