from django.db import models
from django.utils.translation import gettext_lazy as _


class MailLinkKind(models.TextChoices):
    CLICK = "c", _("Click")
    OPEN = "o", _("Open")


class MailKind(models.TextChoices):
    """Marketing mail needs consent and carries an opt-out; transactional mail (order, password) does not."""

    MARKETING = "marketing", _("Marketing mail")
    TRANSACTIONAL = "transactional", _("Transactional mail")


class MailTopic(models.TextChoices):
    """What a marketing mail is about: the preference page lets a contact stop one topic and keep the others."""

    NEWS = "news", _("News and new arrivals")
    CART = "cart", _("Cart reminders")
    RECOMMENDATIONS = "recommendations", _("Recommendations")
    POINTS = "points", _("Points and coupons")


class MailCharset(models.TextChoices):
    UTF8 = "utf-8", _("UTF-8 (recommended)")
    ISO2022JP = "iso-2022-jp", _("ISO-2022-JP (old corporate mail systems)")


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    UNKNOWN = "unknown", _("Outcome unknown")
    SUPPRESSED = "suppressed", _("Not sent")


# The statuses a mail ends in when it was not delivered: their rows are marked ``needs_attention``, which an index
# holds (``status`` is in none, ADR 39).
ATTENTION_STATUSES = frozenset({OutboxStatus.FAILED, OutboxStatus.UNKNOWN, OutboxStatus.SUPPRESSED})


class OutboxOrigin(models.TextChoices):
    TEST = "test", _("Test send")
    CONTACTS = "contacts", _("One-off send")
    SEGMENT = "segment", _("One-off send to a segment")
    API = "api", _("API (transactional)")
    SCENARIO = "scenario", _("Scenario")


class AttemptOutcome(models.TextChoices):
    SENT = "sent", _("Accepted by the server")
    TEMPORARY = "temporary", _("Temporary failure, will retry")
    PERMANENT = "permanent", _("Refused by the server")
    UNKNOWN = "unknown", _("Connection lost after the message was handed over")
    DEFERRED = "deferred", _("Held back (rate limit or quiet hours)")


class SkipReason(models.TextChoices):
    """Why a queued mail was not sent at send time (checked again then, not only when it was queued)."""

    NO_ADDRESS = "no_address", _("No email address")
    SUPPRESSED = "suppressed", _("Address on the suppression list")
    NO_CONSENT = "no_consent", _("No consent to marketing mail")
    OPTED_OUT = "opted_out", _("Opted out of this kind of mail")
    FREQUENCY_CAP = "frequency_cap", _("Frequency cap reached")
    CONTACT_DELETED = "contact_deleted", _("Contact deleted")
    RENDER_ERROR = "render_error", _("The template could not be rendered")


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", _("Address does not exist (bounce)")
    COMPLAINT = "complaint", _("Marked as spam")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed from all mail")
    MANUAL = "manual", _("Added by staff")
