"""Mail templates with their versions, sender identities, the outbox with its delivery log, and opt-outs.

Private to the messaging app: other apps go through ``services`` and ``selectors``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tokui.messaging.enums import (
    AttemptOutcome,
    MailCharset,
    MailKind,
    MailTopic,
    OutboxOrigin,
    OutboxStatus,
    SkipReason,
    SuppressionReason,
)


class SenderIdentity(models.Model):
    """Who a mail is from. 特定電子メール法 requires the sender's name, address and an opt-out in marketing mail."""

    name = models.CharField(_("sender name"), max_length=100, help_text=_("Shown as the From name, e.g. 得意商事"))
    email = models.EmailField(_("sender address"))
    reply_to = models.EmailField(_("reply-to address"), blank=True)
    company_name = models.CharField(_("company name"), max_length=200)
    postal_address = models.CharField(_("postal address"), max_length=300)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        verbose_name = _("sender identity")
        verbose_name_plural = _("sender identities")
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="one_default_sender")
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


class MailTemplate(models.Model):
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=MailKind.choices, default=MailKind.MARKETING)
    topic = models.CharField(_("topic"), max_length=32, choices=MailTopic.choices, default=MailTopic.NEWS)
    subject = models.CharField(_("subject"), max_length=300)
    preheader = models.CharField(_("preheader"), max_length=300, blank=True)
    sender = models.ForeignKey(
        SenderIdentity, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("sender")
    )
    charset = models.CharField(_("character set"), max_length=16, choices=MailCharset.choices, default=MailCharset.UTF8)
    current_version = models.ForeignKey(
        "MailTemplateVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("current version"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

    class Meta:
        verbose_name = _("mail template")
        verbose_name_plural = _("mail templates")
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.name


class MailTemplateVersion(models.Model):
    """One saved state of a template. Versions are never changed: a restore saves the old state as a new version."""

    template = models.ForeignKey(
        MailTemplate, on_delete=models.CASCADE, related_name="versions", verbose_name=_("mail template")
    )
    number = models.PositiveIntegerField(_("version"))
    subject = models.CharField(_("subject"), max_length=300)
    preheader = models.CharField(_("preheader"), max_length=300, blank=True)
    html = models.TextField(_("HTML body"))
    css = models.TextField(_("CSS styles"), blank=True)
    text = models.TextField(_("text part"), blank=True)
    text_edited = models.BooleanField(_("text part edited by hand"), default=False)
    project = models.JSONField(_("editor project"), default=dict, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("saved by"),
    )
    restored_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("restored from")
    )
    created_at = models.DateTimeField(_("saved at"), auto_now_add=True)

    class Meta:
        verbose_name = _("template version")
        verbose_name_plural = _("template versions")
        ordering = ["template", "-number"]
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="one_number_per_template_version")]

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"


class Suppression(models.Model):
    """An address Tokui never mails again (hard bounce, complaint, unsubscribe from everything, staff)."""

    email = models.CharField(_("email"), max_length=254, unique=True, help_text=_("Stored in lower case"))
    reason = models.CharField(_("reason"), max_length=16, choices=SuppressionReason.choices)
    source = models.CharField(_("source"), max_length=100, blank=True)
    detail = models.TextField(_("detail"), blank=True)
    created_at = models.DateTimeField(_("suppressed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppression list")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.email


class TopicOptOut(models.Model):
    """A contact who stopped one topic of marketing mail (the preference page), keeping the others."""

    contact = models.ForeignKey(
        "customers.Contact", on_delete=models.CASCADE, related_name="+", verbose_name=_("contact")
    )
    topic = models.CharField(_("topic"), max_length=32, choices=MailTopic.choices)
    source = models.CharField(_("source"), max_length=100)
    created_at = models.DateTimeField(_("opted out at"), auto_now_add=True)

    class Meta:
        verbose_name = _("topic opt-out")
        verbose_name_plural = _("topic opt-outs")
        constraints = [models.UniqueConstraint(fields=["contact", "topic"], name="one_opt_out_per_topic")]


class OutboxMessage(models.Model):
    """One mail to one recipient. The row exists (with its idempotency key) before any channel is called."""

    # Unique through ``Meta.constraints``, not ``unique=True``: on PostgreSQL that would add a second index for LIKE
    # searches, which nothing does (every index costs each of a mail's three row versions, ADR 29).
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("contact"),
        db_index=False,  # ``outbox_contact_sent`` starts with the contact
    )
    to_email = models.CharField(_("to"), max_length=254, blank=True)
    to_domain = models.CharField(_("domain"), max_length=254, blank=True)
    template_version = models.ForeignKey(
        MailTemplateVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("template version")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=MailKind.choices)
    origin = models.CharField(_("origin"), max_length=16, choices=OutboxOrigin.choices)
    campaign_id = models.CharField(_("campaign"), max_length=64, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED)
    skip_reason = models.CharField(_("reason not sent"), max_length=32, choices=SkipReason.choices, blank=True)
    message_id = models.CharField(_("Message-ID header"), max_length=200)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # Set with a failed, unknown or suppressed status and never cleared: the Outbox page's "needs attention" rows.
    # A column of its own because ``status`` is in no index (see ``Meta.indexes``).
    needs_attention = models.BooleanField(_("needs attention"), db_default=False)
    last_error = models.TextField(_("last error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("queued by"),
    )
    created_at = models.DateTimeField(_("queued at"), auto_now_add=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="outbox_idempotency_key_unique"),
            models.UniqueConstraint(fields=["message_id"], name="outbox_message_id_unique"),
        ]
        # A mail's row is written three times (queued, claimed, sent). Both updates are HOT (the new version goes on
        # the same page, no index is touched) as long as no index holds a column they change: ``status``,
        # ``sent_at``, ``attempts`` and ``last_error`` are in none. The due queue is ``OutboxQueueEntry``; frequency
        # caps and domain rates count the delivery log; the table keeps free room on each page (fillfactor, set in
        # migration 0005 on PostgreSQL) for the two new versions (ADR 39).
        indexes = [
            # The contact's rows when it is deleted (SET_NULL) and its mail history.
            models.Index(fields=["contact"], name="outbox_contact"),
            # The Outbox page filtered to what needs attention.
            models.Index(fields=["-id"], condition=Q(needs_attention=True), name="outbox_needs_attention"),
            # A send's progress page counts its campaign's rows every two seconds while it runs.
            models.Index(fields=["campaign_id"], condition=~Q(campaign_id=""), name="outbox_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.to_email} ({self.message_id})"


class OutboxQueueEntry(models.Model):
    """A mail waiting to be sent (``claimed_at`` empty) or being sent: the outbox's due queue.

    Apart from the message so that claiming and finishing a mail change this small row, whose indexes are the
    queue's, instead of moving the message's row in every index of the outbox (ADR 39). A message has an entry
    from the moment it is queued until its outcome is final (sent, failed, unknown or not sent).
    """

    message = models.OneToOneField(
        OutboxMessage, primary_key=True, on_delete=models.CASCADE, related_name="queue_entry"
    )
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("queued mail")
        verbose_name_plural = _("queued mail")
        indexes = [
            # In the claim's order (a chunk of a segment send shares one time): a claim reads its batch's entries
            # and stops, instead of sorting every due entry to take the first thousand.
            models.Index(
                fields=["next_attempt_at", "message"], condition=Q(claimed_at__isnull=True), name="outbox_queue_due"
            ),
            # Claims a killed worker left behind (``outbox_requeue_stale``).
            models.Index(fields=["claimed_at"], condition=Q(claimed_at__isnull=False), name="outbox_queue_claimed"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.next_attempt_at})"


class DeliveryAttempt(models.Model):
    """Every hand-off to a channel and what came back: the delivery log."""

    message = models.ForeignKey(
        OutboxMessage, on_delete=models.CASCADE, related_name="delivery_attempts", verbose_name=_("outbox message")
    )
    attempted_at = models.DateTimeField(_("attempted at"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=AttemptOutcome.choices)
    code = models.PositiveIntegerField(_("reply code"), null=True, blank=True)
    response = models.TextField(_("reply"), blank=True)
    channel = models.CharField(_("channel"), max_length=32, blank=True)
    # The message's recipient and kind, copied when the attempt is logged: frequency caps and domain rates count
    # accepted attempts here, by index, so that the outbox row's ``sent_at`` needs none (ADR 39).
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("contact"),
        db_index=False,  # ``delivery_contact_time`` starts with the contact
    )
    to_domain = models.CharField(_("domain"), max_length=254, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=MailKind.choices, blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery log")
        ordering = ["message", "attempted_at", "id"]
        indexes = [
            # Frequency caps (a contact's accepted marketing mail since a time), and the contact's rows when deleted.
            models.Index(fields=["contact", "attempted_at"], name="delivery_contact_time"),
            # Per-domain rate limits count accepted mail only.
            models.Index(
                fields=["to_domain", "attempted_at"],
                condition=Q(outcome=AttemptOutcome.SENT),
                name="delivery_domain_sent",
            ),
        ]


class SegmentSend(models.Model):
    """A one-off send of a template to a segment's members, as they were when it was sent.

    The outbox rows carry the campaign label; this row says which segment they went to, for the segment page's
    "where it is used" and the send's progress page.
    """

    segment = models.ForeignKey(
        "segments.Segment", on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("segment")
    )
    segment_name = models.CharField(_("segment name"), max_length=100)
    template_version = models.ForeignKey(
        MailTemplateVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("template version")
    )
    campaign_id = models.CharField(_("campaign label"), max_length=64, unique=True)
    recipients = models.PositiveIntegerField(_("recipients"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("sent by"),
    )
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("send to a segment")
        verbose_name_plural = _("sends to segments")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["segment", "-created_at"], name="segment_send_segment")]

    def __str__(self) -> str:
        return f"{self.segment_name} ← {self.campaign_id}"
