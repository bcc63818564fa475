"""The variable tree a mail template may use (the same tree the editor's blocks emit) and a sample of it.

The sample is what the check at save renders with, strictly, so ``{{ item.nmae }}`` inside a loop is caught as
well as ``{{ contcat.name }}``; it is also the preview when no contact is chosen.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

_PRODUCT = {"name": "", "image_url": "", "price": 0, "url": ""}

# Leaves are "" (a value) ; a list holds one example item describing its fields.
VARIABLE_TREE: dict[str, Any] = {
    "contact": {"name": "", "email": ""},
    "company": {"name": ""},
    "cart": {"items": [{**_PRODUCT, "quantity": 0}], "url": ""},
    "recommendations": [dict(_PRODUCT)],
    "ranking": [{"rank": 0, **_PRODUCT}],
    "last_order": {"ordered_at": "", "total": 0, "lines": [{"name": "", "quantity": 0, "price": 0}], "reorder_url": ""},
    "coupon": {"code": ""},
    "points": {"balance": 0, "expiring": 0, "expires_on": ""},
    "unsubscribe_url": "",
    "preferences_url": "",
    "sender": {"name": "", "company": "", "address": "", "email": ""},
}
TOP_LEVEL_NAMES = frozenset(VARIABLE_TREE)


def path_known(segments: list[Any]) -> bool:
    """Whether ``contact.name`` / ``cart.items[0].price`` / ``cart.items.size`` lies inside the tree."""
    node: Any = VARIABLE_TREE
    for segment in segments:
        if isinstance(node, list):
            if isinstance(segment, int) or segment in ("first", "last", "size"):
                node = node[0] if segment != "size" else 0
                continue
            return False
        if isinstance(node, dict):
            if segment == "size":
                node = 0
                continue
            if not isinstance(segment, str) or segment not in node:
                return False
            node = node[segment]
            continue
        return segment == "size" and isinstance(node, str)
    return True


def sample_context(*, site_url: str = "https://shop.example.jp") -> dict[str, Any]:
    """Believable data for every variable, for checks and previews without a contact."""

    def product(index: int, price: int) -> dict[str, Any]:
        return {
            "name": f"サンプル商品 {index}",
            "image_url": f"{site_url}/static/tokui/img/sample-product.png",
            "price": price,
            "url": f"{site_url}/products/{index}",
        }

    return {
        "contact": {"name": "山田 花子", "email": "hanako@example.jp"},
        "company": {"name": "株式会社サンプル商店"},
        "cart": {
            "items": [{**product(1, 4900), "quantity": 2}, {**product(2, 3200), "quantity": 1}],
            "url": f"{site_url}/cart",
        },
        "recommendations": [product(3, 5800), product(4, 2900)],
        "ranking": [{"rank": rank, **product(rank + 4, 3000 + rank * 100)} for rank in (1, 2, 3)],
        "last_order": {
            "ordered_at": dt.date(2026, 3, 1).isoformat(),
            "total": 12800,
            "lines": [{"name": "サンプル商品 1", "quantity": 2, "price": 4900}],
            "reorder_url": f"{site_url}/reorder/1",
        },
        "coupon": {"code": "SPRING10"},
        "points": {"balance": 1200, "expiring": 300, "expires_on": dt.date(2026, 4, 30).isoformat()},
        "unsubscribe_url": f"{site_url}/m/u/sample",
        "preferences_url": f"{site_url}/m/p/sample",
        "sender": {
            "name": "得意商事",
            "company": "得意商事株式会社",
            "address": "東京都千代田区1-1-1",
            "email": "shop@example.jp",
        },
    }
