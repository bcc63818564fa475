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
