"""Writes for orders, carts and favourites. Placing, cancelling and shipping an order are facts on the timeline.

The public names of the package; import them from here (``from tokui.commerce.services import order_upsert``).
"""

from tokui.commerce.services.carts import cart_upsert, carts_mark_abandoned, carts_upsert_batch
from tokui.commerce.services.favorites import favorite_add, favorite_remove, favorites_apply_batch
from tokui.commerce.services.inserts import LINE_FIELDS
from tokui.commerce.services.order_batches import orders_upsert_batch
from tokui.commerce.services.orders import order_upsert, orders_load_new
from tokui.commerce.services.tag_carts import (
    TAG_CART_FACTS,
    TAG_CART_TRIGGERS,
    TAG_SOURCE,
    cart_apply_tag_events,
    cart_refresh_from_tag,
)

__all__ = [
    "LINE_FIELDS",
    "TAG_CART_FACTS",
    "TAG_CART_TRIGGERS",
    "TAG_SOURCE",
    "cart_apply_tag_events",
    "cart_refresh_from_tag",
    "cart_upsert",
    "carts_mark_abandoned",
    "carts_upsert_batch",
    "favorite_add",
    "favorite_remove",
    "favorites_apply_batch",
    "order_upsert",
    "orders_load_new",
    "orders_upsert_batch",
]
