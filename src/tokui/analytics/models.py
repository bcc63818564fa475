from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tokui.analytics.customer_models import SalesCustomerCategoryMonth as SalesCustomerCategoryMonth
from tokui.analytics.customer_models import SalesCustomerDay as SalesCustomerDay
from tokui.analytics.customer_models import SalesCustomerProductMonth as SalesCustomerProductMonth
from tokui.analytics.customer_models import SalesCustomerRecord as SalesCustomerRecord
from tokui.analytics.enums import CustomerLevel, DashboardKpi, RankMethod

# The sales facts are defined in their own module; importing them here makes them this app's models.
from tokui.analytics.sales_models import SalesCategoryDay as SalesCategoryDay
from tokui.analytics.sales_models import SalesCategoryFact as SalesCategoryFact
from tokui.analytics.sales_models import SalesCategoryProduct as SalesCategoryProduct
from tokui.analytics.sales_models import SalesFactsState as SalesFactsState
from tokui.analytics.sales_models import SalesLineFact as SalesLineFact
from tokui.analytics.sales_models import SalesOrderDay as SalesOrderDay
from tokui.analytics.sales_models import SalesOrderFact as SalesOrderFact
from tokui.core.money import MoneyField
from tokui.core.time import local_today

# The stats tables are rebuilt in bulk (a million rows at a time); a foreign-key check per inserted row would cost
# more than the rebuild itself. Orders protect their company and contact from deletion, and the nightly rebuild
# drops any row whose customer is gone, so the references hold without database constraints.


class CustomerStats(models.Model):
    """Per-customer order figures, materialised: a company (B2B) or a contact without a company (B2C).

    Written only by ``analytics.services`` (incrementally for the customers named by new order facts, and in full
    every night); days are site-zone (JST) days. Only orders that count as sales, in the shop's currency, count.

    No index beyond the key and the two partial unique ones (which serve lookups by company or contact): the
    nightly recompute builds the table anew and every index adds to it (ADR 0023).
    """

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
    first_order_on = models.DateField(_("first order"))
    last_order_on = models.DateField(_("last order"))
    order_count = models.IntegerField(_("orders"))
    order_days = models.IntegerField(_("days with an order"))
    total_spend = MoneyField(_("total spend"))
    average_spend = MoneyField(_("average order value"))
    average_interval_days = models.FloatField(_("average days between orders"), null=True, blank=True)
    median_interval_days = models.FloatField(_("median days between orders"), null=True, blank=True)
    predicted_next_order_on = models.DateField(_("predicted next order"), null=True, blank=True)
    favourite_category_1 = models.ForeignKey(
        "catalog.Category",
        models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("favourite category"),
    )
    favourite_category_2 = models.ForeignKey(
        "catalog.Category",
        models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("second favourite category"),
    )
    favourite_category_3 = models.ForeignKey(
        "catalog.Category",
        models.DO_NOTHING,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="+",
        verbose_name=_("third favourite category"),
    )
    refreshed_at = models.DateTimeField(_("refreshed at"))

    class Meta:
        verbose_name = _("customer stats")
        verbose_name_plural = _("customer stats")
        constraints = [
            models.UniqueConstraint(fields=["company"], condition=Q(company__isnull=False), name="stats_company"),
            models.UniqueConstraint(fields=["contact"], condition=Q(contact__isnull=False), name="stats_contact"),
            models.CheckConstraint(
                condition=Q(company__isnull=False, contact__isnull=True)
                | Q(company__isnull=True, contact__isnull=False),
                name="stats_one_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"stats of company {self.company_id}" if self.company_id else f"stats of contact {self.contact_id}"

    @property
    def days_since_last_order(self) -> int:
        return (local_today() - self.last_order_on).days


class StatsRecompute(models.Model):
    """One full recompute of the stats (the nightly job, or run by hand), so the job knows when it last ran."""

    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    customers = models.IntegerField(_("customers"))

    class Meta:
        verbose_name = _("stats recompute")
        verbose_name_plural = _("stats recomputes")
        ordering = ["-finished_at"]


def default_recency_bounds() -> list[int]:
    return [30, 60, 90, 180]


class RfmSettings(models.Model):
    """The R, F and M boundaries of one customer level; 4 ascending boundaries split each axis into ranks 1-5.

    Recency boundaries are days since the last order (R5 = within the first); frequency and monetary boundaries are
    the least order count and total spend of ranks 2-5. With quintiles, the boundaries come from the data.
    """

    level = models.CharField(_("customers"), max_length=16, choices=CustomerLevel.choices, unique=True)
    recency_method = models.CharField(
        _("recency ranks"), max_length=16, choices=RankMethod.choices, default=RankMethod.FIXED
    )
    recency_bounds = models.JSONField(_("recency boundaries (days)"), default=default_recency_bounds)
    frequency_method = models.CharField(
        _("frequency ranks"), max_length=16, choices=RankMethod.choices, default=RankMethod.FIXED
    )
    frequency_bounds = models.JSONField(_("frequency boundaries (orders)"), default=list)
    monetary_method = models.CharField(
        _("monetary ranks"), max_length=16, choices=RankMethod.choices, default=RankMethod.FIXED
    )
    monetary_bounds = models.JSONField(_("monetary boundaries (total spend)"), default=list)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("RFM settings")
        verbose_name_plural = _("RFM settings")

    def __str__(self) -> str:
        return str(self.get_level_display())


class RfmGroup(models.Model):
    """A named group of cells of the R×F grid (新規, 優良, ...); a cell belongs to at most one group."""

    settings = models.ForeignKey(RfmSettings, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(_("name"), max_length=50)
    cells = models.JSONField(_("cells"), default=list, help_text=_("R×F cells as [r, f] pairs"))
    sort_order = models.IntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("RFM group")
        verbose_name_plural = _("RFM groups")
        ordering = ["settings", "sort_order", "id"]
        constraints = [models.UniqueConstraint(fields=["settings", "name"], name="rfm_group_name_unique")]

    def __str__(self) -> str:
        return self.name


class RfmSnapshot(models.Model):
    """A customer's R, F and M ranks in one month (the first day of the month names it), to show movement.

    The group is not stored: it is read through the current group definitions, so movement between two months
    always compares like with like.
    """

    month = models.DateField(_("month"))
    level = models.CharField(_("customers"), max_length=16, choices=CustomerLevel.choices)
    customer_id = models.BigIntegerField(_("customer"))
    r = models.SmallIntegerField("R")
    f = models.SmallIntegerField("F")
    m = models.SmallIntegerField("M")
    as_of = models.DateField(_("as of"))

    class Meta:
        verbose_name = _("RFM snapshot")
        verbose_name_plural = _("RFM snapshots")
        constraints = [
            models.UniqueConstraint(fields=["level", "month", "customer_id"], name="rfm_snapshot_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.level} {self.customer_id}: R{self.r}F{self.f}M{self.m}"


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


class KpiGoal(models.Model):
    """A manager's goal for one dashboard KPI in one month (目的とKPI)."""

    kpi = models.CharField(_("KPI"), max_length=32, choices=DashboardKpi.choices)
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    target = models.DecimalField(_("goal"), max_digits=16, decimal_places=2)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("set by")
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("KPI goal")
        verbose_name_plural = _("KPI goals")
        constraints = [models.UniqueConstraint(fields=["kpi", "month"], name="kpi_goal_month_unique")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.get_kpi_display()}: {self.target}"


class CustomerPrediction(models.Model):
    """The models' view of one customer, stored by the nightly run (analytics.clv): still active, orders expected,
    value of a year, and whether the usual reorder interval has passed (発注遅延予備軍)."""

    company = models.OneToOneField(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="prediction",
        verbose_name=_("company"),
    )
    contact = models.OneToOneField(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="prediction",
        verbose_name=_("contact"),
    )
    probability_alive = models.FloatField(_("probability still active"), null=True, blank=True)
    expected_orders_90_days = models.FloatField(_("orders expected in 90 days"), null=True, blank=True)
    expected_order_value = MoneyField(_("expected order value"), null=True, blank=True)
    clv_365_days = MoneyField(_("predicted value of a year"), null=True, blank=True)
    usual_interval_days = models.FloatField(_("usual reorder interval (days)"), null=True, blank=True)
    overdue = models.BooleanField(_("past the usual reorder interval"), default=False)
    computed_on = models.DateField(_("computed on"))

    class Meta:
        verbose_name = _("customer prediction")
        verbose_name_plural = _("customer predictions")
        constraints = [
            models.CheckConstraint(
                condition=Q(company__isnull=False) | Q(contact__isnull=False), name="customer_prediction_has_customer"
            )
        ]
        indexes = [models.Index(fields=["overdue"], name="customer_prediction_overdue")]

    def __str__(self) -> str:
        return f"{self.company_id or self.contact_id} {self.computed_on}"


class BasketPartner(models.Model):
    """One of a product's most frequent partners (よく一緒に購入されている商品) over the trailing window of the last
    build: ``orders_together`` counted orders held both, ``confidence`` is product → partner.

    Rebuilt whole by the nightly run (``analytics.services.basket_partners_rebuild``), so reading one product's
    partners is an index lookup: mails with recommendations read them for every recipient.
    """

    product = models.ForeignKey(
        "catalog.Product",
        models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("product"),
    )
    partner = models.ForeignKey(
        "catalog.Product",
        models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("bought with"),
    )
    rank = models.PositiveSmallIntegerField(_("rank"))
    orders_together = models.IntegerField(_("orders together"))
    confidence = models.FloatField(_("confidence"))
    lift = models.FloatField(_("lift"))

    class Meta:
        verbose_name = _("product bought together")
        verbose_name_plural = _("products bought together")
        constraints = [models.UniqueConstraint(fields=["product", "rank"], name="basket_partner_rank")]

    def __str__(self) -> str:
        return f"{self.product_id} → {self.partner_id} ({self.orders_together})"


class BasketPartnerBuild(models.Model):
    """When the partners were last built, and over which orders."""

    built_at = models.DateTimeField(_("built at"))
    window_start = models.DateTimeField(_("counted from"))
    window_end = models.DateTimeField(_("counted until"))
    orders_total = models.IntegerField(_("orders counted"))
    partners = models.IntegerField(_("partner rows"))

    class Meta:
        verbose_name = _("bought-together build")
        verbose_name_plural = _("bought-together builds")

    def __str__(self) -> str:
        return f"{self.built_at:%Y-%m-%d %H:%M} ({self.partners})"


class PredictionCalibration(models.Model):
    """The nightly hold-out check of the reorder model (analytics.clv.clv_calibration), kept for the prediction page:
    fitted on the orders up to ``cutoff``, the orders it predicted for the following ``holdout_days`` against what
    the customers then did, overall and by repeat purchases before the cut-off (``rows``)."""

    computed_on = models.DateField(_("computed on"))
    cutoff = models.DateField(_("fitted on orders up to"))
    holdout_days = models.IntegerField(_("hold-out days"))
    customers = models.IntegerField(_("customers"))
    predicted_total = models.FloatField(_("orders predicted"))
    actual_total = models.IntegerField(_("orders placed"))
    rows = models.JSONField(_("by repeat purchases"), default=list)

    class Meta:
        verbose_name = _("prediction check")
        verbose_name_plural = _("prediction checks")

    def __str__(self) -> str:
        return f"{self.computed_on}: {self.predicted_total:.0f} / {self.actual_total}"


class BasketDayPack(models.Model):
    """One past day's basket lines packed for the basket screen (ADR 0053): PostgreSQL only, a cache of the line facts.

    ``lines`` holds the day's distinct (order, product) line facts as big-endian int64 ``order_id << 32 |
    product_id``, grouped by order with the products ascending, so a year is read as 365 values instead of 5M
    index entries. A trigger on the line facts deletes the pack of any day whose lines change; the worker packs the
    days again (``basket_packs.basket_packs_fill``) and the screen reads the lines of a day without a pack as before.
    """

    day = models.DateField(_("day"), primary_key=True)
    lines = models.BinaryField(_("lines"))
    built_at = models.DateTimeField(_("built at"))

    class Meta:
        verbose_name = _("basket day pack")
        verbose_name_plural = _("basket day packs")

    def __str__(self) -> str:
        return f"{self.day} ({len(self.lines) // 8})"
