"""The customer lists filtered to an RFM cell, group or movement.

The links of the RFM screen (``?rfm_r=5&rfm_f=1``, ``?rfm_group=優良``, ``?rfm_from=優良&rfm_to=離脱懸念``) open the
company or individual list showing only those customers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _

from tokui.accounts.models import User
from tokui.analytics.selectors import rfm_customer_ids, rfm_moved_customer_ids


@dataclass(frozen=True, slots=True)
class RfmListFilter:
    label: str
    customer_ids: QuerySet[Any]


def _rank(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and 1 <= int(value) <= 5 else None


def rfm_list_filter(params: QueryDict, *, level: str, user: User) -> RfmListFilter | None:
    """The filter named by the query string, or ``None`` when it names none."""
    r, f = _rank(params.get("rfm_r")), _rank(params.get("rfm_f"))
    group = (params.get("rfm_group") or "").strip()
    if "rfm_from" in params and "rfm_to" in params:
        moved_from, moved_to = params.get("rfm_from", "").strip(), params.get("rfm_to", "").strip()
        ids = rfm_moved_customer_ids(level=level, from_group=moved_from, to_group=moved_to, user=user)
        label = _("RFM movement: %(before)s → %(after)s") % {
            "before": moved_from or _("No group"),
            "after": moved_to or _("No group"),
        }
        return RfmListFilter(label=label, customer_ids=ids)
    if group:
        ids = rfm_customer_ids(level=level, group=group, user=user)
        return RfmListFilter(label=_("RFM group: %(group)s") % {"group": group}, customer_ids=ids)
    if r is not None or f is not None:
        ids = rfm_customer_ids(level=level, r=r, f=f, user=user)
        cell = "×".join(part for part in (f"R{r}" if r else "", f"F{f}" if f else "") if part)
        return RfmListFilter(label=_("RFM cell: %(cell)s") % {"cell": cell}, customer_ids=ids)
    return None
