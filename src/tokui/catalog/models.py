from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tokui.catalog.enums import ProductStatus
from tokui.core.models import ExternalKeyed, external_key_constraint
from tokui.core.money import CurrencyField, MoneyField


class Category(ExternalKeyed):
    """A node of the category tree (e.g. トップス > Tシャツ)."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, unique=True, allow_unicode=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", verbose_name=_("parent")
    )
    sort_order = models.IntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["sort_order", "name"]
        constraints = [external_key_constraint("category_source_external_id")]

    def __str__(self) -> str:
        return f"{self.parent.name} > {self.name}" if self.parent_id and self.parent else self.name


class Product(ExternalKeyed):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products", verbose_name=_("category")
    )
    description = models.TextField(_("description"), blank=True)
    price = MoneyField(_("list price"))
    currency = CurrencyField(_("currency"))
    image = models.ImageField(_("image"), upload_to="products/", blank=True)
    url = models.URLField(_("product page"), blank=True)
    stock = models.IntegerField(_("stock"), default=0)
    is_new = models.BooleanField(_("new arrival"), default=False)
    launched_at = models.DateTimeField(_("launched at"), null=True, blank=True)
    season = models.CharField(_("season"), max_length=16, blank=True, help_text=_("e.g. 2026SS"))
    status = models.CharField(_("status"), max_length=16, choices=ProductStatus.choices, default=ProductStatus.ACTIVE)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]
        constraints = [
            external_key_constraint("product_source_external_id"),
            models.CheckConstraint(
                condition=models.Q(price__gte=0),
                name="product_price_not_negative",
                violation_error_message=_("The price cannot be negative."),
            ),
        ]
        indexes = [models.Index(fields=["category", "status"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"
