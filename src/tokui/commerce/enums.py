from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderChannel(models.TextChoices):
    """Where an order came in. Offline orders count in every analysis like web orders (OMO)."""

    WEB = "web", _("Web")
    SALES_REP = "sales_rep", _("Sales rep")
    FAX = "fax", _("FAX")
    PHONE = "phone", _("Phone")
    POS = "pos", _("Store (POS)")


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Received")
    CONFIRMED = "confirmed", _("Confirmed")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


# Cancelled and refunded orders are kept but left out of every sales figure.
NON_REVENUE_STATUSES = (OrderStatus.CANCELLED, OrderStatus.REFUNDED)


class CartState(models.TextChoices):
    ACTIVE = "active", _("In progress")
    ABANDONED = "abandoned", _("Abandoned")
    CONVERTED = "converted", _("Ordered")
    EMPTIED = "emptied", _("Emptied")
