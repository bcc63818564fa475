from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tokui.core.models import ExternalKeyed, external_key_constraint
from tokui.customers.enums import (
    ApprovalStatus,
    Channel,
    CompanySize,
    ConsentStatus,
    CustomFieldEntity,
    CustomFieldType,
    Industry,
    PointLotState,
    Prefecture,
)

RATE_RANGE_MESSAGE = _("A rate is a number above 0 and at most 2, such as 0.600 for 60 percent of the list price.")


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)
    color = models.CharField(_("colour"), max_length=16, default="secondary")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PriceGroup(models.Model):
    """A wholesale price group (掛け率グループ): members buy at ``rate`` × list price unless their own rate is set."""

    name = models.CharField(_("name"), max_length=64, unique=True)
    rate = models.DecimalField(
        _("rate"), max_digits=4, decimal_places=3, help_text=_("0.600 means 60 percent of the list price")
    )

    class Meta:
        verbose_name = _("price group")
        verbose_name_plural = _("price groups")
        ordering = ["-rate"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gt=0) & Q(rate__lte=2),
                name="price_group_rate_range",
                violation_error_message=RATE_RANGE_MESSAGE,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rate:.0%})"


class Agency(ExternalKeyed):
    """A sales agency (代理店) that introduced and may manage some customer companies."""

    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["name"]
        constraints = [external_key_constraint("agency_source_external_id")]

    def __str__(self) -> str:
        return self.name


class Company(ExternalKeyed):
    """A customer company (取引先). B2C customers are contacts without one."""

    name = models.CharField(_("company name"), max_length=200)
    name_kana = models.CharField(_("company name (kana)"), max_length=200, blank=True)
    code = models.CharField(_("customer code"), max_length=64, blank=True, db_index=True)
    industry = models.CharField(_("industry"), max_length=32, choices=Industry.choices, blank=True)
    size = models.CharField(_("company size"), max_length=16, choices=CompanySize.choices, blank=True)
    prefecture = models.CharField(_("prefecture"), max_length=2, choices=Prefecture.choices, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=8, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    fax = models.CharField(_("fax"), max_length=32, blank=True)
    website = models.URLField(_("website"), blank=True)
    assigned_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_companies",
        verbose_name=_("assigned sales rep"),
    )
    rank = models.CharField(_("customer rank"), max_length=32, blank=True)
    price_group = models.ForeignKey(
        PriceGroup, null=True, blank=True, on_delete=models.PROTECT, verbose_name=_("price group")
    )
    price_rate = models.DecimalField(
        _("own rate"), max_digits=4, decimal_places=3, null=True, blank=True, help_text=_("Overrides the group rate")
    )
    approval_status = models.CharField(
        _("approval"), max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.APPROVED
    )
    agency = models.ForeignKey(
        Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="companies", verbose_name=_("agency")
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="companies", verbose_name=_("tags"))
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name_kana", "name"]
        constraints = [
            external_key_constraint("company_source_external_id"),
            models.CheckConstraint(
                condition=Q(price_rate__isnull=True) | (Q(price_rate__gt=0) & Q(price_rate__lte=2)),
                name="company_price_rate_range",
                violation_error_message=RATE_RANGE_MESSAGE,
            ),
        ]
        indexes = [
            models.Index(fields=["assigned_rep", "name_kana"]),
            models.Index(fields=["prefecture"]),
            # Segments count live companies: with this index their ids are read in order beside an ordered
            # subquery (a merge join of two index-only scans) instead of hashing the whole table (ADR 22).
            models.Index(fields=["id"], condition=Q(archived_at__isnull=True), name="company_live_id"),
            # Readers of what changed lately (the sales sums per customer, ADR 0045) read these by index.
            models.Index(fields=["updated_at"], name="company_updated"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def effective_rate(self) -> Decimal | None:
        """The rate the company buys at: its own, else its price group's; ``None`` means list price."""
        if self.price_rate is not None:
            return self.price_rate
        if self.price_group is not None:
            return self.price_group.rate
        return None


class ShipToAddress(models.Model):
    """A delivery address of a company (納品先): wholesalers ship to each shop of a chain."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="ship_to_addresses", verbose_name=_("company")
    )
    label = models.CharField(_("label"), max_length=100)
    recipient = models.CharField(_("recipient"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=8, blank=True)
    prefecture = models.CharField(_("prefecture"), max_length=2, choices=Prefecture.choices, blank=True)
    address = models.CharField(_("address"), max_length=300)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        verbose_name = _("ship-to address")
        verbose_name_plural = _("ship-to addresses")
        constraints = [
            models.UniqueConstraint(fields=["company"], condition=Q(is_default=True), name="one_default_ship_to"),
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.address}"


class Contact(ExternalKeyed):
    """A person (担当者): a buyer of a company, or a B2C customer when ``company`` is empty."""

    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.PROTECT, related_name="contacts", verbose_name=_("company")
    )
    name = models.CharField(_("name"), max_length=100)
    name_kana = models.CharField(_("name (kana)"), max_length=100, blank=True)
    email = models.EmailField(_("email"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    prefecture = models.CharField(_("prefecture"), max_length=2, choices=Prefecture.choices, blank=True)
    line_user_id = models.CharField(_("LINE user id"), max_length=64, null=True, blank=True, unique=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts", verbose_name=_("tags"))
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["name_kana", "name"]
        indexes = [
            models.Index(fields=["id"], condition=Q(archived_at__isnull=True), name="contact_live_id"),
            # Readers of what changed lately (the sales sums per customer, ADR 0045) read these by index.
            models.Index(fields=["updated_at"], name="contact_updated"),
        ]
        constraints = [external_key_constraint("contact_source_external_id")]

    def __str__(self) -> str:
        return self.name


class Consent(models.Model):
    """The current consent of a contact on one channel; each change is also a fact on the timeline."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents", verbose_name=_("contact"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=16, choices=ConsentStatus.choices)
    source = models.CharField(_("source"), max_length=100, help_text=_("Where the consent was given or withdrawn"))
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [models.UniqueConstraint(fields=["contact", "channel"], name="one_consent_per_channel")]

    def __str__(self) -> str:
        return f"{self.contact} {self.get_channel_display()}: {self.get_status_display()}"


class ConsentChange(models.Model):
    """Append-only history of consent: the proof of when and where a contact opted in or out (特定電子メール法)."""

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="consent_changes", verbose_name=_("contact")
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=16, choices=ConsentStatus.choices)
    source = models.CharField(_("source"), max_length=100)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("consent change")
        verbose_name_plural = _("consent history")
        ordering = ["-recorded_at", "-id"]


class CustomFieldDefinition(models.Model):
    """A field the shop adds to companies or contacts; values live in their ``custom_fields`` JSON."""

    entity = models.CharField(_("applies to"), max_length=16, choices=CustomFieldEntity.choices)
    key = models.SlugField(_("key"), max_length=64)
    label = models.CharField(_("label"), max_length=100)
    field_type = models.CharField(_("type"), max_length=16, choices=CustomFieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [models.UniqueConstraint(fields=["entity", "key"], name="custom_field_key_per_entity")]

    def __str__(self) -> str:
        return self.label


class PointLot(ExternalKeyed):
    """Points granted at one time, spent oldest-expiry first, expiring together."""

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="point_lots", verbose_name=_("contact")
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="point_lots", verbose_name=_("company")
    )
    granted_points = models.PositiveIntegerField(_("granted points"))
    remaining_points = models.PositiveIntegerField(_("remaining points"))
    granted_at = models.DateTimeField(_("granted at"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=PointLotState.choices, default=PointLotState.ACTIVE)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("point lot")
        verbose_name_plural = _("point lots")
        ordering = ["expires_at", "granted_at"]
        constraints = [
            external_key_constraint("point_lot_source_external_id"),
            models.CheckConstraint(
                condition=Q(contact__isnull=False) | Q(company__isnull=False),
                name="point_lot_has_owner",
                violation_error_message=_("Choose who receives the points."),
            ),
            models.CheckConstraint(
                condition=Q(remaining_points__lte=models.F("granted_points")),
                name="point_lot_remaining_le_granted",
                violation_error_message=_("Remaining points cannot exceed the points granted."),
            ),
        ]
        indexes = [models.Index(fields=["state", "expires_at"])]
