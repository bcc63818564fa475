from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerLevel(models.TextChoices):
    """Who an analysis counts as one customer: the company (B2B) or a contact without a company (B2C)."""

    COMPANY = "company", _("Companies (B2B)")
    CONTACT = "contact", _("Individual customers (B2C)")


class RankMethod(models.TextChoices):
    """How the boundaries between ranks 1-5 are set."""

    FIXED = "fixed", _("Fixed boundaries")
    QUANTILE = "quantile", _("Quintiles (a fifth each)")


class RfmAxis(models.TextChoices):
    RECENCY = "r", _("Recency")
    FREQUENCY = "f", _("Frequency")
    MONETARY = "m", _("Monetary")


class DashboardKpi(models.TextChoices):
    """The dashboard's KPIs a manager sets a monthly goal for (目的とKPI)."""

    REVENUE = "revenue", _("Revenue")
    ORDERS = "orders", _("Orders")
    ACTIVE_COMPANIES = "active_companies", _("Active companies")
    REPEAT_RATE = "repeat_rate", _("Repeat customer rate (%)")
    F2_RATE = "f2_rate", _("F2 conversion (%)")
    ABANDONED_CARTS = "abandoned_carts", _("Abandoned carts")
    DORMANT_COMPANIES = "dormant_companies", _("Dormant companies")


# KPIs where less is better: reaching the goal means staying at or under it.
KPIS_LOWER_IS_BETTER = frozenset({DashboardKpi.ABANDONED_CARTS, DashboardKpi.DORMANT_COMPANIES})


class OverdueOrder(models.TextChoices):
    """How the customers past their usual reorder interval (発注遅延予備軍) are listed. Those just past it first by
    default: they are the ones a call can still keep; a customer a year past it has most likely gone already."""

    JUST_PAST = "just_past", _("Just past their interval first")
    LONGEST_PAST = "longest_past", _("Longest past their interval first")


class CustomerDimension(models.TextChoices):
    """What the order day sums per customer are keyed by (ADR 0045): a buyer's prefecture, company size or rep."""

    PREFECTURE = "prefecture", _("Prefecture")
    SIZE = "size", _("Company size")
    REP = "rep", _("Sales rep")
