"""Choices of the segments app, with Japanese labels through gettext."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Subject(models.TextChoices):
    """Who a segment lists: companies (B2B accounts) or contacts (people, B2B buyers and B2C customers)."""

    COMPANY = "company", _("Companies")
    CONTACT = "contact", _("Contacts")


class SegmentKind(models.TextChoices):
    DYNAMIC = "dynamic", _("Dynamic (kept current by its rule)")
    STATIC = "static", _("Static list")


class Match(models.TextChoices):
    ALL = "all", _("all of")
    ANY = "any", _("any of")


class ValueKind(models.TextChoices):
    """What input the builder shows for a condition's value."""

    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    BOOLEAN = "boolean", _("Yes / no")
    PRODUCTS = "products", _("Products")
    CATEGORIES = "categories", _("Categories")
    TAGS = "tags", _("Tags")
    NONE = "none", _("No value")


class PeriodKind(models.TextChoices):
    ANY_TIME = "any_time", _("at any time")
    LAST_DAYS = "last_days", _("in the last N days")
    THIS_WEEK = "this_week", _("this week")
    THIS_MONTH = "this_month", _("this month")
    BETWEEN = "between", _("between two dates")


class MembershipChange(models.TextChoices):
    ENTERED = "entered", _("Entered")
    LEFT = "left", _("Left")


class StaticSource(models.TextChoices):
    CSV = "csv", _("CSV upload")
    SNAPSHOT = "snapshot", _("Snapshot of a segment")
    MANUAL = "manual", _("Added by hand")
