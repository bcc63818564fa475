from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Cast, Round
from django.utils.translation import gettext_lazy as _

from tokui.commerce.enums import NON_REVENUE_STATUSES, CartState, OrderChannel, OrderStatus
from tokui.core.models import ExternalKeyed, external_key_constraint
from tokui.core.money import DECIMAL_PLACES, CurrencyField, MoneyField


class Order(ExternalKeyed):
    """An order (受注) from any channel. A B2B order has a company (and usually the buyer); B2C only a contact."""

    number = models.CharField(_("order number"), max_length=64, blank=True)
    company = models.ForeignKey(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("company"),
    )
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("contact"),
    )
    channel = models.CharField(_("channel"), max_length=16, choices=OrderChannel.choices, default=OrderChannel.WEB)
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.CONFIRMED)
    placed_at = models.DateTimeField(_("ordered at"))
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    currency = CurrencyField(_("currency"))
    subtotal = MoneyField(_("subtotal"))
    discount_total = MoneyField(_("discount"), default=0)
    shipping_fee = MoneyField(_("shipping"), default=0)
    tax_total = MoneyField(_("tax"), default=0)
    total = MoneyField(_("total"))
    sales_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders_taken",
        verbose_name=_("sales rep"),
    )
    ship_to = models.ForeignKey(
        "customers.ShipToAddress", null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("ship to")
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at", "-id"]
        constraints = [
            external_key_constraint("order_source_external_id"),
            models.CheckConstraint(
                condition=Q(company__isnull=False) | Q(contact__isnull=False),
                name="order_has_customer",
                violation_error_message=_("An order needs a company or a contact."),
            ),
        ]
        indexes = [
            models.Index(fields=["company", "placed_at"]),
            models.Index(fields=["contact", "placed_at"]),
            models.Index(fields=["placed_at", "status"]),
            # Orders of a period with all that segments' purchase conditions read (customer, status, total and the
            # id the lines join on; key columns, as SQLite has no INCLUDE): "N orders / N yen in the last D days"
            # is then an index-only scan.
            models.Index(
                fields=["placed_at", "company", "contact", "status", "total", "id"],
                name="order_placed_covering",
            ),
            # A customer's counted orders in time order, with the total (ADR 22): "at least 2 orders / N yen in
            # the last D days" groups them as they come, per customer, instead of hashing the period's orders of
            # half a million customers (which spills past work_mem). Partial on what the condition states, so it
            # holds neither cancelled nor refunded orders nor the other subject's orders.
            models.Index(
                fields=["company", "placed_at", "total"],
                condition=Q(company__isnull=False) & ~Q(status__in=NON_REVENUE_STATUSES),
                name="order_company_revenue_time",
            ),
            models.Index(
                fields=["contact", "placed_at", "total"],
                condition=Q(contact__isnull=False) & ~Q(status__in=NON_REVENUE_STATUSES),
                name="order_contact_revenue_time",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    line_no = models.PositiveIntegerField(_("line"))
    # No index of its own: the covering index below starts with it.
    product = models.ForeignKey(
        "catalog.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="order_lines",
        db_index=False,
        verbose_name=_("product"),
    )
    sku = models.CharField(_("SKU"), max_length=64)
    product_name = models.CharField(_("product name"), max_length=200)
    quantity = models.IntegerField(_("quantity"))
    unit_price = MoneyField(_("unit price"))
    amount = MoneyField(_("amount"))
    # The amount in hundredths as an integer, kept by the database: the full stats recompute reads 10M of these at
    # a time, and the numeric-to-integer work per line cost its reads a third (ADR 0037). Never written.
    amount_hundredths = models.GeneratedField(
        expression=Cast(Round(F("amount") * 10**DECIMAL_PLACES), models.BigIntegerField()),
        output_field=models.BigIntegerField(),
        db_persist=True,
        verbose_name=_("amount in hundredths"),
    )

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["order", "line_no"]
        constraints = [models.UniqueConstraint(fields=["order", "line_no"], name="order_line_no_unique")]
        indexes = [
            # "Bought product X / category Y": the lines of a product with their order and amount, index-only.
            models.Index(fields=["product", "order", "amount"], name="order_line_product_covering"),
        ]

    def __str__(self) -> str:
        return f"{self.product_name} × {self.quantity}"


class Cart(ExternalKeyed):
    """A shopping cart as the shop last reported it; ``last_activity_at`` is when the customer last changed it."""

    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="carts",
        verbose_name=_("contact"),
    )
    company = models.ForeignKey(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="carts",
        verbose_name=_("company"),
    )
    anonymous_id = models.CharField(_("anonymous id"), max_length=64, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=CartState.choices, default=CartState.ACTIVE)
    currency = CurrencyField(_("currency"))
    last_activity_at = models.DateTimeField(_("last changed at"))
    abandoned_at = models.DateTimeField(_("abandoned at"), null=True, blank=True)
    converted_order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("converted to order")
    )
    recovery_url = models.URLField(_("cart link"), blank=True, max_length=500)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")
        constraints = [external_key_constraint("cart_source_external_id")]
        indexes = [
            models.Index(fields=["state", "last_activity_at"]),
            models.Index(fields=["company", "state"]),
            models.Index(fields=["contact", "state"]),
        ]

    def __str__(self) -> str:
        return _("cart #%(id)s (%(state)s)") % {"id": self.pk, "state": self.get_state_display()}


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines", verbose_name=_("cart"))
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="+", verbose_name=_("product")
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = MoneyField(_("unit price"))
    added_at = models.DateTimeField(_("added at"))

    class Meta:
        verbose_name = _("cart line")
        verbose_name_plural = _("cart lines")
        constraints = [models.UniqueConstraint(fields=["cart", "product"], name="cart_line_product_unique")]

    @property
    def amount(self) -> Decimal:
        return Decimal(self.unit_price) * self.quantity


class Favorite(ExternalKeyed):
    """A product a contact marked as favourite (お気に入り); ``company`` is the contact's, kept for roll-ups."""

    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="favorites", verbose_name=_("contact")
    )
    company = models.ForeignKey(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="favorites",
        verbose_name=_("company"),
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="favorited_by", verbose_name=_("product")
    )
    added_at = models.DateTimeField(_("added at"))

    class Meta:
        verbose_name = _("favourite")
        verbose_name_plural = _("favourites")
        constraints = [
            external_key_constraint("favorite_source_external_id"),
            models.UniqueConstraint(fields=["contact", "product"], name="favorite_contact_product_unique"),
        ]
