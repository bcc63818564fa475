"""The Liquid context of one mail: plain data about one contact, read through other apps' selectors.

Only the parts a template uses are read (the template's analysis names its top-level variables), so a plain
newsletter does not query carts and orders. Everything handed to Liquid is dicts, lists, strings and numbers: a
template cannot follow a model's relations to another customer's data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from tokui.analytics.rankings import product_ranking
from tokui.catalog.models import Product
from tokui.catalog.selectors import products_matching
from tokui.commerce.selectors import current_carts_of_contacts, latest_orders_of_contacts
from tokui.commerce.types import OpenCart
from tokui.customers.selectors import point_balances
from tokui.messaging.links import site_url
from tokui.messaging.selectors import points_expiring_of_contacts, recommended_products_of_contacts
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
    """Parts of the context that are the same for every recipient of a batch, read once; and the recipients' own
    parts read for the whole batch at once (``contexts_prefetch``), by contact id."""

    sender: SenderData
    ranking: list[dict[str, Any]] | None = None
    cache: dict[str, Any] = field(default_factory=dict)
    parts: dict[int, dict[str, Any]] = field(default_factory=dict)


class ImageUrls(dict[str, str]):
    """A product image's stored name → its address in mail, as ``absolute_url(product.image.url)`` gives it; each
    name worked out once for a batch (the storage's ``url`` is a URL join and a quote: 7 % of a cart mail's worker
    time when called for every line, where the same products fill cart after cart)."""

    def __missing__(self, name: str) -> str:
        url = self[name] = absolute_url(Product._meta.get_field("image").storage.url(name)) if name else ""
        return url


def _cart(cart: OpenCart | None, image_urls: ImageUrls) -> dict[str, Any]:
    if cart is None:
        return {"items": [], "url": ""}
    items = [
        {
            "name": item.product_name,
            "image_url": image_urls[item.product_image],
            "price": _price(item.unit_price),
            "url": item.product_url,
            "quantity": item.quantity,
        }
        for item in cart.items
    ]
    return {"items": items, "url": cart.recovery_url}


def _reorder_url(order: Any, lines: list[Any]) -> str:
    if settings.MAIL_REORDER_URL:
        return str(settings.MAIL_REORDER_URL).replace("{order}", order.number or order.external_id or str(order.pk))
    first = next((line.product for line in lines if line.product is not None), None)
    return first.url if first is not None and first.url else ""


def _last_order(order: Any) -> dict[str, Any]:
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


def _points(balance: int, expiring: int, expires_on: dt.date | None) -> dict[str, Any]:
    return {"balance": balance, "expiring": expiring, "expires_on": expires_on.isoformat() if expires_on else ""}


def _recommendations(products: list[Any]) -> list[dict[str, Any]]:
    return [product_data(product) for product in products]


# The recipients' own parts read for a whole batch at once.
_PREFETCHED = frozenset({"cart", "last_order", "points", "recommendations"})


def contexts_prefetch(*, contact_ids: Sequence[int], needed: frozenset[str], shared: SharedParts) -> None:
    """Read the parts ``needed`` of these contacts' contexts for all of them at once — a few queries for a batch
    instead of a few a recipient (a cart mail read 2 queries a recipient: 7 ms of the mail's time, 35 times its
    render) — into ``shared``, where ``mail_context`` takes them."""
    wanted = [pk for pk in dict.fromkeys(contact_ids) if pk not in shared.parts]
    reading = needed & _PREFETCHED
    if not wanted or not reading:
        return
    parts: dict[int, dict[str, Any]] = {pk: {} for pk in wanted}
    if "cart" in reading:
        carts, image_urls = current_carts_of_contacts(contact_ids=wanted), ImageUrls()
        for pk in wanted:
            parts[pk]["cart"] = _cart(carts.get(pk), image_urls)
    if "last_order" in reading:
        orders = latest_orders_of_contacts(contact_ids=wanted)
        for pk in wanted:
            parts[pk]["last_order"] = _last_order(orders.get(pk))
    if "points" in reading:
        balances = point_balances(contact_ids=wanted)
        expiring = points_expiring_of_contacts(contact_ids=wanted, within=POINTS_EXPIRY_WINDOW)
        for pk in wanted:
            parts[pk]["points"] = _points(balances[pk], *expiring[pk])
    if "recommendations" in reading:
        recommended = recommended_products_of_contacts(contact_ids=wanted, limit=RECOMMENDATION_COUNT)
        for pk in wanted:
            parts[pk]["recommendations"] = _recommendations(recommended.get(pk, []))
    shared.parts.update(parts)


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
    own = needed & _PREFETCHED
    if own and contact.id not in shared.parts:
        # Not read with a batch (a test send, a preview): this recipient's parts read the same way, alone.
        contexts_prefetch(contact_ids=[contact.id], needed=needed, shared=shared)
    for part in sorted(own):
        context[part] = shared.parts[contact.id][part]
    if "ranking" in needed:
        if shared.ranking is None:
            shared.ranking = shared_ranking()
        context["ranking"] = shared.ranking
    return context
