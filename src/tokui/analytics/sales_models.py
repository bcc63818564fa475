"""The sales facts: the narrow copies of the counted orders and lines that the sales analysis and rankings read.

Kept apart from ``analytics.models`` (which imports them, so they are the app's models as any other) to keep each
file readable: these tables are written only by ``analytics.sales_facts`` and ``analytics.category_facts``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tokui.core.money import MoneyField

# --- Sales facts: the narrow copies of the counted orders and lines that the sales analysis and rankings read ----
# Written only by ``analytics.sales_facts`` (for the orders named by order facts, for orders newer than the
# watermark, and whole every night). Customer and product attributes that change (prefecture, rep, size, category)
# are not copied: reports join them from their tables, so a reassigned rep shows at once.


class _SalesFactColumns(models.Model):
    """What every sales fact copies from its order: the site-zone day, channel, currency and customer."""

    day = models.DateField(_("day"))
    channel = models.CharField(_("channel"), max_length=16)
    currency = models.CharField(_("currency"), max_length=3)
    # Not indexed: reports join from the facts to the customer (its prefecture, rep or size as a breakdown key), and
    # filter on the customer through ``buyer``, which each fact table indexes (ADR 40).
    company = models.ForeignKey(
        "customers.Company",
        models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("company"),
    )
    contact = models.ForeignKey(
        "customers.Contact",
        models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("contact"),
    )
    buyer = models.BigIntegerField(_("buyer"), null=True, blank=True)

    class Meta:
        abstract = True


class SalesOrderFact(_SalesFactColumns):
    """One counted order (not cancelled or refunded, any currency) with its site-zone day and its units.

    ``buyer`` is the company id of a B2B order and minus the contact id of a B2C order, so one distinct count
    gives the buyers (distinct companies plus distinct B2C contacts).
    """

    order = models.OneToOneField(
        "commerce.Order",
        models.DO_NOTHING,
        primary_key=True,
        db_constraint=False,
        related_name="+",
        verbose_name=_("order"),
    )
    total = MoneyField(_("total"))
    units = models.IntegerField(_("units"))
    # The day of the buyer's previous counted order in the same currency (ties on a day broken by order id), and
    # of their previous one in the same currency and channel. An order is its buyer's first in a period exactly
    # when its previous order falls before the period starts, so buyers are counted as a plain sum of those
    # orders — no distinct count, which would sort millions of rows (ADR 0015).
    prev_day = models.DateField(_("previous order day"), null=True, blank=True)
    prev_channel_day = models.DateField(_("previous order day in the channel"), null=True, blank=True)

    class Meta:
        verbose_name = _("sales order fact")
        verbose_name_plural = _("sales order facts")
        indexes = [
            models.Index(fields=["currency", "day"], name="sales_order_fact_day"),
            # A buyer's orders from a day on (the consumer's rewrite, a report filtered on the customer).
            models.Index(fields=["buyer", "day"], name="sales_order_fact_buyer"),
            # Each buyer's first order (no previous one): the customers acquired in a range of months, for the
            # repeat metrics and the dashboard's F2 (ADR 49).
            models.Index(fields=["currency", "day"], condition=Q(prev_day__isnull=True), name="sales_order_fact_first"),
            # A period from mid-month: its orders whose previous one lies in its first month before its start,
            # read from the index alone (the buyers the day sums, keyed by the previous order's month, miss; ADR 42),
            # with the buyer for one customer attribute's (a semi-join on the records, ADR 46).
            models.Index(
                fields=["prev_day", "day", "currency", "channel", "buyer"],
                condition=Q(prev_day__isnull=False),
                name="sales_order_fact_prev",
            ),
            models.Index(
                fields=["prev_channel_day", "day", "currency", "channel", "buyer"],
                condition=Q(prev_channel_day__isnull=False),
                name="sales_order_fact_prev_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.day}"


class _OrderPartColumns(_SalesFactColumns):
    """A fact about part of an order (a line, a category's lines): its order beside the copied columns."""

    # Indexed by each model's own Meta index only: the field's index was a second copy that every write kept up.
    order = models.ForeignKey(
        "commerce.Order",
        models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("order"),
    )

    class Meta:
        abstract = True


class SalesLineFact(_OrderPartColumns):
    """One line of a counted order, with its order's day, channel, currency and customer copied beside it."""

    line = models.OneToOneField(
        "commerce.OrderLine",
        models.DO_NOTHING,
        primary_key=True,
        db_constraint=False,
        related_name="+",
        verbose_name=_("order line"),
    )
    product = models.ForeignKey(
        "catalog.Product",
        models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
        verbose_name=_("product"),
    )
    sku = models.CharField(_("SKU"), max_length=64)
    product_name = models.CharField(_("product name"), max_length=200)
    quantity = models.IntegerField(_("quantity"))
    amount = MoneyField(_("amount"))
    # The buyer's chains on the lines (ADR 41). ``product_first`` marks the first line of its product in its order
    # (lines without a product are product 0); every line of that (order, product) carries ``prev_product_day``,
    # the day of the buyer's previous order containing the product (same currency; ties on a day broken by order
    # id), and ``prev_product_channel_day``, the same within the channel. ``order_first`` marks the order's first
    # line, which carries the chain of the buyer's orders with any line (``prev_order_day``, and in the channel).
    # A product's orders over any period are then its first lines and its buyers those whose previous day lies
    # before the period, and the same for every line together: plain sums, where distinct counts sorted millions
    # of lines.
    product_first = models.BooleanField(_("first line of the product in its order"), default=False)
    prev_product_day = models.DateField(_("previous order day of the product"), null=True, blank=True)
    prev_product_channel_day = models.DateField(
        _("previous order day of the product in the channel"), null=True, blank=True
    )
    order_first = models.BooleanField(_("first line of its order"), default=False)
    prev_order_day = models.DateField(_("previous order day"), null=True, blank=True)
    prev_order_channel_day = models.DateField(_("previous order day in the channel"), null=True, blank=True)

    class Meta:
        verbose_name = _("sales line fact")
        verbose_name_plural = _("sales line facts")
        indexes = [
            models.Index(fields=["currency", "day"], name="sales_line_fact_day"),
            models.Index(fields=["order"], name="sales_line_fact_order"),
            # A report filtered on the customer (prefecture, rep, size, a rep's own scope) reads its buyers' lines.
            models.Index(fields=["buyer", "day"], name="sales_line_fact_buyer"),
            # The basket screen's read of a period's (order, product) pairs, any currency: an index-only range
            # instead of a scan of the whole (wide) table (ADR 27).
            models.Index(
                fields=["day", "order", "product"], condition=Q(product__isnull=False), name="sales_line_fact_basket"
            ),
            # A period from mid-month by product: the (order, product) rows whose previous purchase of the product
            # lies in its first month before its start (ADR 42), with the buyer for one customer attribute's (ADR 46).
            models.Index(
                fields=["prev_product_day", "day", "currency", "product", "buyer"],
                condition=Q(product_first=True, prev_product_day__isnull=False),
                name="sales_line_fact_prev_product",
            ),
            # The same within one channel, per product and over every line (ADR 44).
            models.Index(
                fields=["prev_product_channel_day", "day", "currency", "channel", "product"],
                condition=Q(product_first=True, prev_product_channel_day__isnull=False),
                name="sales_line_fact_prev_prod_ch",
            ),
            models.Index(
                fields=["prev_order_channel_day", "day", "currency", "channel"],
                condition=Q(order_first=True, prev_order_channel_day__isnull=False),
                name="sales_line_fact_prev_order_ch",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line_id} {self.day}"


class SalesCategoryFact(_OrderPartColumns):
    """The lines of one counted order in one category (the product's category when the facts were written; lines
    without a product or category make the row without one), summed, with the buyer's chains in that category.

    Category figures are sums over these rows, like the order figures over the order facts: ``prev_day`` is the
    day of the buyer's previous order with a line in the same category (same currency; ties on a day broken by
    order id), so the orders whose ``prev_day`` lies before a period's start are its buyers (ADR 0024). The
    order's first row (``first``, the lowest category, the one without first) carries the chain of the buyer's
    orders with any line (``prev_order_day``), for the figures over all lines. Moved products are re-derived
    before every report (``category_facts``), so the category is always the product's current one.
    """

    # The group's first line: unique (a line is in one group) and no sequence, so the table can be swapped.
    line = models.OneToOneField(
        "commerce.OrderLine",
        models.DO_NOTHING,
        primary_key=True,
        db_constraint=False,
        related_name="+",
        verbose_name=_("first order line"),
    )
    category = models.ForeignKey(
        "catalog.Category",
        models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        # ``sales_category_fact_category`` (category, currency, day) serves every read by category; a second index
        # on the category alone only cost each written fact one more index entry (69 MB at 10M facts).
        db_index=False,
        related_name="+",
        verbose_name=_("category"),
    )
    amount = MoneyField(_("amount"))
    units = models.IntegerField(_("units"))
    prev_day = models.DateField(_("previous order day"), null=True, blank=True)
    prev_channel_day = models.DateField(_("previous order day in the channel"), null=True, blank=True)
    first = models.BooleanField(_("first row of the order"))
    prev_order_day = models.DateField(_("previous order day"), null=True, blank=True)
    prev_order_channel_day = models.DateField(_("previous order day in the channel"), null=True, blank=True)
    # The category's top-level ancestor, and the same chain over the orders' rows under it (on the order's first
    # row there): a filter on a top-level category, subcategories included, is then a sum as well.
    root = models.ForeignKey(
        "catalog.Category",
        models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("top-level category"),
    )
    root_first = models.BooleanField(_("first row of the order under the top-level category"), default=False)
    prev_root_day = models.DateField(_("previous order day"), null=True, blank=True)
    prev_root_channel_day = models.DateField(_("previous order day in the channel"), null=True, blank=True)

    class Meta:
        verbose_name = _("sales category fact")
        verbose_name_plural = _("sales category facts")
        indexes = [
            models.Index(fields=["currency", "day"], name="sales_category_fact_day"),
            models.Index(fields=["category", "currency", "day"], name="sales_category_fact_category"),
            models.Index(fields=["root", "currency", "day"], name="sales_category_fact_root"),
            models.Index(fields=["buyer", "day"], name="sales_category_fact_buyer"),
            models.Index(fields=["order"], name="sales_category_fact_order"),
            # A period from mid-month by category, and over every line: as for the order facts (ADR 42, 46).
            models.Index(
                fields=["prev_day", "day", "currency", "category", "buyer"],
                condition=Q(prev_day__isnull=False),
                name="sales_category_fact_prev",
            ),
            models.Index(
                fields=["prev_order_day", "day", "currency", "buyer"],
                condition=Q(first=True, prev_order_day__isnull=False),
                name="sales_category_fact_prev_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.category_id}"


class SalesCategoryDay(models.Model):
    """The category facts summed per (currency, category, day, month of the previous order in the chain): what a
    category breakdown over whole months reads instead of millions of facts (ADR 0024).

    A period starting on the 1st counts as buyers the facts whose previous order's month is before the period's,
    so the month is enough: ``prev_month`` is year × 12 + month - 1, ``NO_PREVIOUS`` for a buyer's first order and
    ``NO_BUYER`` for orders without a customer (never buyers). ``category_key`` is the category id, 0 for lines
    without one, and ``EVERY_LINE`` for the orders' first rows along the chain of orders with any line (the
    breakdown's totals; their amounts and units are 0, the categories' rows carry those).
    """

    NO_PREVIOUS = -1
    NO_BUYER = 999_999
    EVERY_LINE = -1

    pk = models.CompositePrimaryKey("currency", "category_key", "day", "prev_month")
    currency = models.CharField(_("currency"), max_length=3)
    category_key = models.BigIntegerField(_("category"))
    day = models.DateField(_("day"))
    prev_month = models.IntegerField(_("month of the previous order"))
    amount = MoneyField(_("amount"))
    units = models.BigIntegerField(_("units"))
    orders = models.IntegerField(_("orders"))

    class Meta:
        verbose_name = _("sales category day")
        verbose_name_plural = _("sales category days")

    def __str__(self) -> str:
        return f"{self.category_key} {self.day}"


class SalesOrderDay(models.Model):
    """The order facts summed per (currency, day, channel, month of the buyer's previous order, and of their
    previous one in the channel): what the order pages without a customer filter read (ADR 0024). Months and
    sentinels as in ``SalesCategoryDay``.

    ``repeat_day`` / ``repeat_week`` count the orders whose buyer's previous order was the same day / in the same
    Monday-start week (``repeat_channel_*``: the previous in the channel), so a day's or a week's buyers are its
    orders with a buyer less those (ADR 0043)."""

    pk = models.CompositePrimaryKey("currency", "day", "channel", "prev_month", "prev_channel_month")
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
        verbose_name = _("sales order day")
        verbose_name_plural = _("sales order days")

    def __str__(self) -> str:
        return f"{self.day} {self.channel}"


class SalesProductDay(models.Model):
    """The line facts summed per (currency, day, product, month of the buyer's previous order of that product):
    what the product breakdown over whole months reads for a month it covers only in part (ADR 0028).

    A row is one (order, product): an order with two lines of a product counts once in ``orders``. ``prev_month``
    follows the buyer's chain of orders containing the product (same currency; ties on a day broken by order id),
    with the sentinels of ``SalesCategoryDay``, so a period from the 1st counts a product's buyers as the
    ``orders`` whose ``prev_month`` is before the period's. ``product_key`` is the product id, 0 for lines without
    one. Kept with the line facts by ``analytics.product_sums`` and rebuilt with them at night.
    """

    pk = models.CompositePrimaryKey("currency", "day", "product_key", "prev_month")
    currency = models.CharField(_("currency"), max_length=3)
    day = models.DateField(_("day"))
    product_key = models.BigIntegerField(_("product"))
    prev_month = models.IntegerField(_("month of the previous order"))
    amount = MoneyField(_("amount"))
    units = models.BigIntegerField(_("units"))
    orders = models.IntegerField(_("orders"))

    class Meta:
        verbose_name = _("sales product day")
        verbose_name_plural = _("sales product days")

    def __str__(self) -> str:
        return f"{self.product_key} {self.day}"


class SalesProductMonth(models.Model):
    """The (order, product) rows of ``SalesProductDay`` counted per month (``month``: year × 12 + month - 1) and
    month of the previous order of the product: what the product breakdown counts the buyers of its whole months
    from (the rows whose ``prev_month`` is before the period's; ADR 0028). Their amounts and units are in
    ``SalesProductTotal``, a seventh of the rows here."""

    pk = models.CompositePrimaryKey("currency", "month", "prev_month", "product_key")
    currency = models.CharField(_("currency"), max_length=3)
    month = models.IntegerField(_("month"))
    prev_month = models.IntegerField(_("month of the previous order"))
    product_key = models.BigIntegerField(_("product"))
    orders = models.IntegerField(_("orders"))

    class Meta:
        verbose_name = _("sales product month")
        verbose_name_plural = _("sales product months")

    def __str__(self) -> str:
        return f"{self.product_key} {self.month}"


class SalesProductTotal(models.Model):
    """``SalesProductDay`` summed per month without the previous month: the revenue, orders and units of a
    product's whole months, from a row per (product, month) (ADR 0028; the buyers come from
    ``SalesProductMonth``)."""

    pk = models.CompositePrimaryKey("currency", "month", "product_key")
    currency = models.CharField(_("currency"), max_length=3)
    month = models.IntegerField(_("month"))
    product_key = models.BigIntegerField(_("product"))
    amount = MoneyField(_("amount"))
    units = models.BigIntegerField(_("units"))
    orders = models.IntegerField(_("orders"))

    class Meta:
        verbose_name = _("sales product total")
        verbose_name_plural = _("sales product totals")

    def __str__(self) -> str:
        return f"{self.product_key} {self.month}"


class SalesProductChannelMonth(models.Model):
    """The line facts summed per (currency, channel, month, month of the buyer's previous order of the product *in
    the channel*, product): what the breakdown by product within one channel reads for its whole months (ADR
    0044). ``orders`` counts (order, product) rows, so a product's buyers in the channel are the ``orders`` whose
    ``prev_month`` is before the period's. ``product_key`` ``EVERY_LINE`` counts the orders with any line by the
    buyer's chain of orders in the channel, for the breakdown's totals (its amount and units are 0: they are the
    products' sums)."""

    EVERY_LINE = -1

    pk = models.CompositePrimaryKey("currency", "channel", "month", "prev_month", "product_key")
    currency = models.CharField(_("currency"), max_length=3)
    channel = models.CharField(_("channel"), max_length=16)
    month = models.IntegerField(_("month"))
    prev_month = models.IntegerField(_("month of the previous order in the channel"))
    product_key = models.BigIntegerField(_("product"))
    amount = MoneyField(_("amount"))
    units = models.BigIntegerField(_("units"))
    orders = models.IntegerField(_("orders"))

    class Meta:
        verbose_name = _("sales product channel month")
        verbose_name_plural = _("sales product channel months")

    def __str__(self) -> str:
        return f"{self.product_key} {self.channel} {self.month}"


class SalesProductChannelTotal(models.Model):
    """``SalesProductChannelMonth`` summed without the previous month: the revenue, orders and units of a product's
    whole months in a channel, a row per (channel, month, product) (ADR 0044)."""

    pk = models.CompositePrimaryKey("currency", "channel", "month", "product_key")
    currency = models.CharField(_("currency"), max_length=3)
    channel = models.CharField(_("channel"), max_length=16)
    month = models.IntegerField(_("month"))
    product_key = models.BigIntegerField(_("product"))
    amount = MoneyField(_("amount"))
    units = models.BigIntegerField(_("units"))
    orders = models.IntegerField(_("orders"))

    class Meta:
        verbose_name = _("sales product channel total")
        verbose_name_plural = _("sales product channel totals")

    def __str__(self) -> str:
        return f"{self.product_key} {self.channel} {self.month}"


class SalesCategoryProduct(models.Model):
    """The category each product had when its category facts were written: a report compares it with the
    catalogue and re-derives the facts of the products that moved (or were deleted) first."""

    product_id = models.BigIntegerField(_("product"), primary_key=True)
    category_id = models.BigIntegerField(_("category"), null=True, blank=True)
    root_id = models.BigIntegerField(_("top-level category"), null=True, blank=True)

    class Meta:
        verbose_name = _("sales fact product category")
        verbose_name_plural = _("sales fact product categories")

    def __str__(self) -> str:
        return f"{self.product_id} → {self.category_id}"


class SalesFactsState(models.Model):
    """The one row saying how far the sales facts reach: every order up to ``last_order_id`` has been read.

    Orders written without a fact (imports, history loads) have higher ids, so a report first catches them up.
    """

    last_order_id = models.BigIntegerField(_("last order read"), default=0)
    rebuilt_at = models.DateTimeField(_("rebuilt at"), null=True, blank=True)
    rebuild_seconds = models.FloatField(_("rebuild time (s)"), null=True, blank=True)
    # Set when a report found a bulk load without facts and queued a rebuild; cleared by the rebuild.
    rebuild_queued_at = models.DateTimeField(_("rebuild queued at"), null=True, blank=True)
    # Customers changed from a little before this on are compared with what the customer day sums were written
    # with before a report reads those (ADR 0045).
    customers_checked_at = models.DateTimeField(_("customers checked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sales facts state")
        verbose_name_plural = _("sales facts states")

    def __str__(self) -> str:
        return f"≤ {self.last_order_id}"
