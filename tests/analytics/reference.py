"""An independent, straightforward computation of the stats and RFM ranks with pandas, to check the SQL against.

It reads the raw rows through the ORM and follows the definitions of the user guide (docs/guide/en/analysis.md)
one by one, in Python, without sharing any code with ``tokui.analytics``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from tokui.catalog.models import Product
from tokui.commerce.models import Order, OrderLine

CURRENCY = "JPY"
EXCLUDED = {"cancelled", "refunded"}


def _orders(until: dt.date | None) -> pd.DataFrame:
    rows = list(Order.objects.values_list("id", "company_id", "contact_id", "status", "currency", "placed_at", "total"))
    frame = pd.DataFrame(rows, columns=["id", "company_id", "contact_id", "status", "currency", "placed_at", "total"])
    frame = frame[~frame["status"].isin(EXCLUDED) & (frame["currency"] == CURRENCY)].copy()
    frame["level"] = frame["company_id"].map(lambda v: "contact" if pd.isna(v) else "company")
    frame["customer"] = [
        int(company) if not pd.isna(company) else int(contact)
        for company, contact in zip(frame["company_id"], frame["contact_id"], strict=True)
    ]
    frame["day"] = pd.to_datetime(frame["placed_at"], utc=True).dt.tz_convert("Asia/Tokyo").dt.date
    return frame if until is None else frame[frame["day"] <= until]


def expected_stats(*, until: dt.date | None = None) -> dict[tuple[str, int], dict[str, Any]]:
    """``{(level, customer id): figures}`` for every customer with a counted order (placed by ``until``, JST)."""
    orders = _orders(until)
    lines = pd.DataFrame(
        list(OrderLine.objects.values_list("order_id", "product_id", "amount")), columns=["id", "product_id", "amount"]
    )
    categories = dict(Product.objects.values_list("id", "category_id"))
    lines["category"] = lines["product_id"].map(lambda pk: categories.get(pk) if not pd.isna(pk) else None)
    lines = lines.merge(orders[["id", "level", "customer"]], on="id")
    result: dict[tuple[str, int], dict[str, Any]] = {}
    for (level, customer), group in orders.groupby(["level", "customer"]):
        days = sorted(set(group["day"]))
        gaps = [(later - earlier).days for earlier, later in itertools.pairwise(days)]
        spend = sum(group["total"], Decimal(0))
        median = float(pd.Series(gaps).median()) if gaps else None
        spent = lines[(lines["level"] == level) & (lines["customer"] == customer) & lines["category"].notna()]
        by_category = sorted(
            ((sum(amounts, Decimal(0)), int(category)) for category, amounts in spent.groupby("category")["amount"]),
            key=lambda pair: (-pair[0], pair[1]),
        )
        favourites = [category for _amount, category in by_category[:3]]
        result[(str(level), int(customer))] = {
            "first_order_on": days[0],
            "last_order_on": days[-1],
            "order_count": len(group),
            "order_days": len(days),
            "total_spend": spend,
            "average_spend": (spend / len(group)).quantize(Decimal(1), rounding=ROUND_HALF_UP),
            "average_interval_days": sum(gaps) / len(gaps) if gaps else None,
            "median_interval_days": median,
            "predicted_next_order_on": days[-1] + dt.timedelta(days=math.floor(median + 0.5))
            if median is not None
            else None,
            "favourites": favourites + [None] * (3 - len(favourites)),
        }
    return result


def expected_ranks(
    stats: dict[tuple[str, int], dict[str, Any]],
    *,
    level: str,
    as_of: dt.date,
    recency: tuple[int, ...],
    frequency: tuple[int, ...],
    monetary: tuple[Decimal, ...],
) -> dict[int, tuple[int, int, int]]:
    """Fixed boundaries: R5 within ``recency[0]`` days ... R1 beyond the last; F/M: 1 + boundaries reached."""
    ranks = {}
    for (row_level, customer), figures in stats.items():
        if row_level != level:
            continue
        days = (as_of - figures["last_order_on"]).days
        r = 5 - sum(1 for bound in recency if days > bound)
        f = 1 + sum(1 for bound in frequency if figures["order_count"] >= bound)
        m = 1 + sum(1 for bound in monetary if figures["total_spend"] >= bound)
        ranks[customer] = (r, f, m)
    return ranks


def percentile_disc(values: list[Any], q: float, *, descending: bool = False) -> Any:
    """The first value whose cumulative share reaches ``q`` (SQL's percentile_disc)."""
    ordered = sorted(values, reverse=descending)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]
