from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from tokui.tracking.enums import EventType, event_type_label

KNOWN = Q(company__isnull=False) | Q(contact__isnull=False)


def property_text(key: str) -> Cast:
    """A property of the fact as text, on both databases (what segment conditions compare; the indexes below are
    on exactly this expression, so PostgreSQL matches them)."""
    return Cast(KeyTextTransform(key, "properties"), output_field=models.TextField())


class Event(models.Model):
    """One fact on the one timeline: a page view, an order, a mail opened, a consent change, ...

    ``dispatched_at`` is the transactional outbox: a fact is written undispatched in the same transaction as the
    change it records and handed to its consumers after commit (see ``tokui.core.facts``).
    """

    type = models.CharField(_("type"), max_length=64)
    occurred_at = models.DateTimeField(_("occurred at"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    # No index of their own: the timeline indexes below start with them. Most events of the tag are anonymous
    # page views, and every index an event enters costs on each of the tens of thousands written per second.
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
        verbose_name=_("contact"),
    )
    company = models.ForeignKey(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
        verbose_name=_("company"),
    )
    anonymous_id = models.CharField(_("anonymous id"), max_length=64, blank=True)
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=64, default="system")
    idempotency_key = models.CharField(_("idempotency key"), max_length=128, null=True, blank=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="event_source_idempotency_key",
            )
        ]
        indexes = [
            # Partial: an anonymous event (no company, no contact yet) is never read through them.
            models.Index(
                fields=["company", "-occurred_at", "-id"],
                condition=Q(company__isnull=False),
                name="event_company_timeline",
            ),
            models.Index(
                fields=["contact", "-occurred_at", "-id"],
                condition=Q(contact__isnull=False),
                name="event_contact_timeline",
            ),
            models.Index(fields=["type", "occurred_at"], name="event_type_time"),
            models.Index(fields=["anonymous_id"], condition=~Q(anonymous_id=""), name="event_anonymous"),
            models.Index(fields=["id"], condition=Q(dispatched_at__isnull=True), name="event_undispatched"),
            # Segments' view conditions (a product, the new arrivals, a category in the last N days): the property,
            # then the time, then the customer (key columns: SQLite has no INCLUDE), so they are index-only scans.
            # Known customers only: the tag's anonymous views enter neither. Migration 0007 adds statistics on the
            # two expressions, as PostgreSQL keeps none for the expressions of a partial index.
            models.Index(
                property_text("sku"),
                F("occurred_at"),
                F("company"),
                F("contact"),
                condition=Q(type=EventType.PRODUCT_VIEWED) & KNOWN,
                name="event_viewed_sku",
            ),
            models.Index(
                property_text("category_id"),
                F("occurred_at"),
                F("company"),
                F("contact"),
                condition=Q(type__in=[EventType.CATEGORY_VIEWED, EventType.PRODUCT_VIEWED]) & KNOWN,
                name="event_viewed_category",
            ),
            # Segments' mail conditions (opened nothing in 30 days): the mail facts of a period with their customer.
            models.Index(
                fields=["type", "occurred_at", "company", "contact"],
                condition=Q(type__in=[EventType.MAIL_SENT, EventType.MAIL_OPENED, EventType.MAIL_CLICKED]) & KNOWN,
                name="event_mail_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.type_label}"

    @property
    def type_label(self) -> str:
        return event_type_label(self.type, source=self.source)


class TrackingSite(models.Model):
    """A shop's pages that carry the tag: its public write key, the origins it may send from and its consent rule.

    The write key is public (it is in every page of the shop); what protects the endpoint is the list of origins a
    browser may send from, the size and rate limits, and that the tag can only append page facts.
    """

    name = models.CharField(_("name"), max_length=100)
    write_key = models.CharField(_("write key"), max_length=64, unique=True)
    allowed_origins = models.TextField(
        _("allowed origins"),
        help_text=_("One origin per line, such as https://shop.example.jp (scheme, host and port; no path)."),
    )
    require_consent = models.BooleanField(
        _("requires consent"),
        default=False,
        help_text=_("The tag sends nothing until the shop's page reports the visitor's consent."),
    )
    contact_source = models.CharField(
        _("source of customer ids"),
        max_length=64,
        blank=True,
        help_text=_(
            "The source whose external ids the shop's pages send as contact_external_id (for example bcart). "
            "Empty: any source."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tracking site")
        verbose_name_plural = _("tracking sites")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def origins(self) -> list[str]:
        return [line.strip().rstrip("/") for line in self.allowed_origins.splitlines() if line.strip()]


class AnonymousIdentity(models.Model):
    """Which contact a browser's anonymous id belongs to, learnt when the visitor logged in or signed up."""

    anonymous_id = models.CharField(_("anonymous id"), max_length=64, unique=True)
    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="anonymous_identities", verbose_name=_("contact")
    )
    first_seen_at = models.DateTimeField(_("first identified at"))
    last_seen_at = models.DateTimeField(_("last identified at"))

    class Meta:
        verbose_name = _("anonymous identity")
        verbose_name_plural = _("anonymous identities")
        indexes = [models.Index(fields=["contact"], name="anonymous_identity_contact")]

    def __str__(self) -> str:
        return self.anonymous_id


class TrackingSiteHour(models.Model):
    """Events a site's pages sent in one hour: what the tag screen shows to tell whether the tag is working.

    Counted by the ingest writer in one upsert per write, so the screen never scans the timeline.
    """

    site = models.ForeignKey(TrackingSite, on_delete=models.CASCADE, related_name="hours", verbose_name=_("site"))
    hour = models.DateTimeField(_("hour"))
    received = models.PositiveIntegerField(_("events received"), default=0)
    last_received_at = models.DateTimeField(_("last received at"))

    class Meta:
        verbose_name = _("tag activity per hour")
        verbose_name_plural = _("tag activity per hour")
        constraints = [models.UniqueConstraint(fields=["site", "hour"], name="tracking_site_hour_unique")]

    def __str__(self) -> str:
        return f"{self.site_id} {self.hour:%Y-%m-%d %H}:00"


class PendingIdentity(models.Model):
    """A browser that logged in or signed up as someone Tokui does not know yet (a new customer of the shop whose
    record arrives later through a connector, the API or an import). A periodic job links it once the contact
    exists, so the visit before the sign-up and the cart still become the customer's."""

    anonymous_id = models.CharField(_("anonymous id"), max_length=64, unique=True)
    site = models.ForeignKey(TrackingSite, on_delete=models.CASCADE, related_name="+", verbose_name=_("site"))
    email = models.CharField(_("email"), max_length=254, blank=True)
    contact_external_id = models.CharField(_("customer id at the shop"), max_length=128, blank=True)
    event_key = models.CharField(_("identifying event"), max_length=128)
    identified_at = models.DateTimeField(_("identified at"))

    class Meta:
        verbose_name = _("identity waiting for its contact")
        verbose_name_plural = _("identities waiting for their contact")

    def __str__(self) -> str:
        return self.anonymous_id
