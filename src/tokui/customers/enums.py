from django.db import models
from django.utils.translation import gettext_lazy as _

from tokui.customers.prefectures import Prefecture

__all__ = [
    "ApprovalStatus",
    "Channel",
    "CompanySize",
    "ConsentStatus",
    "CustomFieldEntity",
    "CustomFieldType",
    "Industry",
    "PointLotState",
    "Prefecture",
]


class ApprovalStatus(models.TextChoices):
    """B2B shops approve a wholesale account before it may buy (会員承認)."""

    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUSPENDED = "suspended", _("Suspended")


class CompanySize(models.TextChoices):
    MICRO = "micro", _("Micro (1-4 staff)")
    SMALL = "small", _("Small (5-19 staff)")
    MEDIUM = "medium", _("Medium (20-99 staff)")
    LARGE = "large", _("Large (100+ staff)")


class Industry(models.TextChoices):
    APPAREL_RETAIL = "apparel_retail", _("Apparel shop")
    SELECT_SHOP = "select_shop", _("Select shop")
    DEPARTMENT_STORE = "department_store", _("Department store")
    GENERAL_STORE = "general_store", _("General goods store")
    ONLINE_SHOP = "online_shop", _("Online shop")
    UNIFORM = "uniform", _("Uniform dealer")
    WHOLESALE = "wholesale", _("Wholesaler")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    """Channels a contact can be reached on; consent is kept per channel."""

    EMAIL = "email", _("Email")
    LINE = "line", _("LINE")


class ConsentStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Not asked")
    GRANTED = "granted", _("Opted in")
    WITHDRAWN = "withdrawn", _("Opted out")


class CustomFieldEntity(models.TextChoices):
    COMPANY = "company", _("Company")
    CONTACT = "contact", _("Contact")


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    BOOLEAN = "boolean", _("Yes / no")


class PointLotState(models.TextChoices):
    ACTIVE = "active", _("Active")
    USED = "used", _("Used up")
    EXPIRED = "expired", _("Expired")
