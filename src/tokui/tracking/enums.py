from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    """Known fact types. The column is free text so new producers need no migration; these get labels."""

    PAGE_VIEWED = "page_viewed", _("Viewed a page")
    PRODUCT_VIEWED = "product_viewed", _("Viewed a product")
    CATEGORY_VIEWED = "category_viewed", _("Viewed a category")
    SEARCHED = "searched", _("Searched")
    FAVORITE_ADDED = "favorite_added", _("Added a favourite")
    FAVORITE_REMOVED = "favorite_removed", _("Removed a favourite")
    CART_ITEM_ADDED = "cart_item_added", _("Added to cart")
    CART_ITEM_REMOVED = "cart_item_removed", _("Removed from cart")
    CART_UPDATED = "cart_updated", _("Updated the cart")
    CART_ABANDONED = "cart_abandoned", _("Left the cart")
    CHECKOUT_STARTED = "checkout_started", _("Started checkout")
    ORDER_PLACED = "order_placed", _("Placed an order")
    ORDER_CANCELLED = "order_cancelled", _("Order cancelled")
    ORDER_SHIPPED = "order_shipped", _("Order shipped")
    SIGNED_UP = "signed_up", _("Signed up")
    LOGGED_IN = "logged_in", _("Logged in")
    CONSENT_CHANGED = "consent_changed", _("Changed consent")
    POINTS_GRANTED = "points_granted", _("Received points")
    POINTS_USED = "points_used", _("Used points")
    POINTS_EXPIRED = "points_expired", _("Points expired")
    MAIL_SENT = "mail_sent", _("Was sent a mail")
    MAIL_OPENED = "mail_opened", _("Opened a mail")
    MAIL_CLICKED = "mail_clicked", _("Clicked a mail link")
    MAIL_BOUNCED = "mail_bounced", _("Mail bounced")
    MAIL_COMPLAINED = "mail_complained", _("Marked a mail as spam")
    MAIL_FAILED = "mail_failed", _("Mail could not be delivered")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed from mail")
    SALES_NOTE = "sales_note", _("Sales note")
    SEGMENT_ENTERED = "segment_entered", _("Entered a segment")
    SEGMENT_LEFT = "segment_left", _("Left a segment")


class EventSource(models.TextChoices):
    TAG = "tag", _("Tracking tag")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    SYSTEM = "system", _("Tokui")
    STAFF = "staff", _("Staff")
    DEMO = "demo", _("Demo data")
    MAIL = "mail", _("Mail")


def event_type_label(value: str, *, source: str = "") -> str:
    if source == EventSource.TAG and value == EventType.ORDER_PLACED:
        # The shop's thank-you page, not an order: the order itself comes from the shop's system.
        return str(_("Reached the order-complete page"))
    try:
        return str(EventType(value).label)
    except ValueError:
        return value
