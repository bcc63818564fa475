"""The Liquid context of one mail: plain data about one contact, read through other apps' selectors.

Only the parts a template uses are read (the template's analysis names its top-level variables), so a plain
newsletter does not query carts and orders. Everything handed to Liquid is dicts, lists, strings and numbers: a
template cannot follow a model's relations to another customer's data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from tokui.analytics.rankings import product_ranking
from tokui.catalog.selectors import products_matching
from tokui.commerce.selectors import current_cart_of_contact, orders_of_contact
from tokui.customers.selectors import point_balance
from tokui.messaging.links import site_url
from tokui.messaging.selectors import points_expiring, recommended_products
from tokui.messaging.types import MailRecipient, SenderData

RANKING_SIZE = 5
RANKING_DAYS = 30
RECOMMENDATION_COUNT = 4
POINTS_EXPIRY_WINDOW = dt.timedelta(days=30)


def absolute_url(url: str) -> str:
    """Mail is read outside the site: a path such as ``/media/x.png`` needs the site's address in front."""
    if not url or url.startswith(("http://", "https://")):
        return url
    return f"{site_url()}/{url.lstrip('/')}"


def _price(value: Any) -> int:
    return int(value or 0)


def product_data(product: Any, *, price: Any = None) -> dict[str, Any]:
    return {
        "name": product.name,
        "image_url": absolute_url(product.image.url) if product.image else "",
        "price": _price(product.price if price is None else price),
        "url": product.url or "",
    }


def shared_ranking() -> list[dict[str, Any]]:
    """The shop's best sellers of the last 30 days: the same for every recipient, so read once per batch."""
    today = timezone.localdate()
    rows = product_ranking(start=today - dt.timedelta(days=RANKING_DAYS - 1), end=today, limit=RANKING_SIZE)

    products = {product.pk: product for product in products_matching().filter(pk__in=[r.product_id for r in rows])}
    ranking = []
    for row in rows:
        product = products.get(row.product_id or 0)
        ranking.append(
            {
                "rank": row.rank,
                "name": row.name,
                "image_url": absolute_url(row.image_url),
                "price": _price(product.price) if product else 0,
                "url": product.url if product else "",
            }
        )
    return ranking


@dataclass(slots=True)
class SharedParts:
    """Parts of the context that are the same for every recipient of a batch, read once."""

    sender: SenderData
    ranking: list[dict[str, Any]] | None = None
    cache: dict[str, Any] = field(default_factory=dict)


def _cart(contact_id: int) -> dict[str, Any]:
    cart = current_cart_of_contact(contact_id=contact_id)
    if cart is None:
        return {"items": [], "url": ""}
    items = [
        {**product_data(line.product, price=line.unit_price), "quantity": line.quantity} for line in cart.lines.all()
    ]
    return {"items": items, "url": cart.recovery_url or ""}


def _reorder_url(order: Any, lines: list[Any]) -> str:
    if settings.MAIL_REORDER_URL:
        return str(settings.MAIL_REORDER_URL).replace("{order}", order.number or order.external_id or str(order.pk))
    first = next((line.product for line in lines if line.product is not None), None)
    return first.url if first is not None and first.url else ""


def _last_order(contact_id: int) -> dict[str, Any]:
    order = orders_of_contact(contact_id=contact_id).prefetch_related("lines__product").first()
    if order is None:
        return {"ordered_at": "", "total": 0, "lines": [], "reorder_url": ""}
    lines = list(order.lines.all())
    return {
        "ordered_at": timezone.localtime(order.placed_at).date().isoformat(),
        "total": _price(order.total),
        "lines": [
            {"name": line.product_name, "quantity": line.quantity, "price": _price(line.unit_price)} for line in lines
        ],
        "reorder_url": _reorder_url(order, lines),
    }


def _points(contact_id: int) -> dict[str, Any]:
    balance = point_balance(contact_id=contact_id)
    expiring, expires_on = points_expiring(contact_id=contact_id, within=POINTS_EXPIRY_WINDOW)
    return {"balance": balance, "expiring": expiring, "expires_on": expires_on.isoformat() if expires_on else ""}


def mail_context(
    *,
    contact: MailRecipient,
    needed: frozenset[str],
    shared: SharedParts,
    unsubscribe_url: str,
    preferences_url: str,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Liquid context of one mail to ``contact``. ``data`` is what the caller passed (a coupon code, ...)."""
    data = data or {}
    context: dict[str, Any] = {
        "contact": {"name": contact.name, "email": contact.email},
        "company": {"name": contact.company_name},
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": preferences_url,
        "sender": shared.sender.as_context(),
        "coupon": {"code": str(data.get("coupon_code", ""))},
    }
    if "cart" in needed:
        context["cart"] = _cart(contact.id)
    if "last_order" in needed:
        context["last_order"] = _last_order(contact.id)
    if "points" in needed:
        context["points"] = _points(contact.id)
    if "recommendations" in needed:
        context["recommendations"] = [
            product_data(product) for product in recommended_products(contact_id=contact.id, limit=RECOMMENDATION_COUNT)
        ]
    if "ranking" in needed:
        if shared.ranking is None:
            shared.ranking = shared_ranking()
        context["ranking"] = shared.ranking
    return context
