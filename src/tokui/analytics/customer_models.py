"""The order day sums per customer attribute and the attributes they were written with (ADR 0045)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tokui.analytics.enums import CustomerDimension
from tokui.core.money import MoneyField

# The value of orders without a company (size, rep) or without any customer (prefecture too); also a company
# without a rep. Never a filter's value, so a filter never keeps them.
NO_VALUE = "-"


class SalesCustomerRecord(models.Model):
    """A buyer's prefecture, company size and rep as the customer day sums count them (``NO_VALUE`` for none).

    ``customer`` is the facts' ``buyer``: the company id, or minus the id of an individual (B2C) customer. A report
    first compares the customers changed lately with this and moves the sums of those that differ."""

    customer = models.BigIntegerField(_("customer"), primary_key=True)
    prefecture = models.CharField(_("prefecture"), max_length=16)
    size = models.CharField(_("company size"), max_length=16)
    rep = models.CharField(_("sales rep"), max_length=16)

    class Meta:
        verbose_name = _("sales customer record")
        verbose_name_plural = _("sales customer records")
        # One value's buyers from the index alone: hashed for a semi-join, where reading 30,000-150,000 records
        # from the table cost 0.02-0.05 s and led PostgreSQL to probe the facts' buyer index once per buyer (ADR 46).
        indexes = [
            models.Index(fields=["prefecture", "customer"], name="sales_customer_prefecture"),
            models.Index(fields=["size", "customer"], name="sales_customer_size"),
            models.Index(fields=["rep", "customer"], name="sales_customer_rep"),
        ]

    def __str__(self) -> str:
        return str(self.customer)


class SalesCustomerDay(models.Model):
    """``SalesOrderDay`` once per customer attribute: the order facts summed per (dimension, the buyer's value
    of it, currency, day, channel, month of the previous order and of the previous one in the channel).

    Every order fact is in one row of each dimension, so a filter on one attribute reads its value's rows and a
    breakdown by one reads the dimension's rows, instead of the facts of every buyer joined to their company."""

    pk = models.CompositePrimaryKey(
        "dimension", "value", "currency", "day", "channel", "prev_month", "prev_channel_month"
    )
    dimension = models.CharField(_("dimension"), max_length=10, choices=CustomerDimension.choices)
    value = models.CharField(_("value"), max_length=16)
    currency = models.CharField(_("currency"), max_length=3)
    day = models.DateField(_("day"))
    channel = models.CharField(_("channel"), max_length=16)
    prev_month = models.IntegerField(_("month of the previous order"))
    prev_channel_month = models.IntegerField(_("month of the previous order in the channel"))
    total = MoneyField(_("total"))
    units = models.BigIntegerField(_("units"))
    orders = models.IntegerField(_("orders"))
    repeat_day = models.IntegerField(_("orders after another that day"), default=0)
    repeat_week = models.IntegerField(_("orders after another that week"), default=0)
    repeat_channel_day = models.IntegerField(_("orders after another that day in the channel"), default=0)
    repeat_channel_week = models.IntegerField(_("orders after another that week in the channel"), default=0)

    class Meta:
        verbose_name = _("sales customer day")
        verbose_name_plural = _("sales customer days")

    def __str__(self) -> str:
        return f"{self.dimension}={self.value} {self.day} {self.channel}"


class SalesCustomerCategoryMonth(models.Model):
    """The category facts summed per (dimension, the buyer's value of it, currency, category, month, month of the
    buyer's previous order in the category), as ``SalesCategoryDay`` by month: the category breakdown for one
    customer attribute's value. ``EVERY_LINE`` rows count the orders' first rows by the chain of orders with any
    line (the breakdown's totals). Months a period covers only in part are read from the facts."""

    pk = models.CompositePrimaryKey("dimension", "value", "currency", "category_key", "month", "prev_month")
    dimension = models.CharField(_("dimension"), max_length=10, choices=CustomerDimension.choices)
    value = models.CharField(_("value"), max_length=16)
    currency = models.CharField(_("currency"), max_length=3)
    category_key = models.BigIntegerField(_("category"))
    month = models.IntegerField(_("month"))
    prev_month = models.IntegerField(_("month of the previous order"))
    amount = MoneyField(_("amount"))
    units = models.BigIntegerField(_("units"))
    orders = models.IntegerField(_("orders"))

    class Meta:
        verbose_name = _("sales customer category month")
        verbose_name_plural = _("sales customer category months")

    def __str__(self) -> str:
        return f"{self.dimension}={self.value} {self.category_key} {self.month}"


class SalesCustomerProductMonth(models.Model):
    """The line facts summed per (dimension, the buyer's value of it, currency, month, month of the buyer's
    previous purchase of the product, product), as the product month sums (``SalesProductTotal`` and
    ``SalesProductMonth`` in one row) per customer attribute's value: the breakdown by product for one company size
    or one sales rep (ADR 0046). Only the dimensions of ``PRODUCT_DIMENSIONS``: a prefecture keeps few buyers,
    whose lines are read instead. Months a period covers only in part are read from the lines."""

    pk = models.CompositePrimaryKey("dimension", "value", "currency", "month", "prev_month", "product_key")
    dimension = models.CharField(_("dimension"), max_length=10, choices=CustomerDimension.choices)
    value = models.CharField(_("value"), max_length=16)
    currency = models.CharField(_("currency"), max_length=3)
    month = models.IntegerField(_("month"))
    prev_month = models.IntegerField(_("month of the previous purchase"))
    product_key = models.BigIntegerField(_("product"))
    amount = MoneyField(_("amount"))
    units = models.BigIntegerField(_("units"))
    orders = models.IntegerField(_("orders"))

    class Meta:
        verbose_name = _("sales customer product month")
        verbose_name_plural = _("sales customer product months")

    def __str__(self) -> str:
        return f"{self.dimension}={self.value} {self.product_key} {self.month}"
