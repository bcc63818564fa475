"""Segments, their rule history, their members and their size over time.

Members are rows (``customer_id`` is a company id or a contact id, by the segment's subject) so that "who is in it"
is a join, not a re-evaluation; a refresh compares the rule's result with these rows in SQL and writes the
difference in bulk, with a ``segment_entered`` / ``segment_left`` fact per change.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tokui.segments.enums import SegmentKind, StaticSource, Subject


class Segment(models.Model):
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    subject = models.CharField(_("lists"), max_length=16, choices=Subject.choices, default=Subject.COMPANY)
    kind = models.CharField(_("kind"), max_length=16, choices=SegmentKind.choices, default=SegmentKind.DYNAMIC)
    rule = models.JSONField(_("rule"), default=dict, blank=True)
    rule_version = models.PositiveIntegerField(_("rule version"), default=1)
    condition_types = models.JSONField(
        _("condition types"), default=list, blank=True, help_text=_("The kinds of condition the rule uses.")
    )
    static_source = models.CharField(_("list made from"), max_length=16, choices=StaticSource.choices, blank=True)
    source_segment = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("copied from")
    )
    member_count = models.PositiveIntegerField(_("members"), default=0)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["kind", "subject"], name="segment_kind_subject")]

    def __str__(self) -> str:
        return self.name


class SegmentRuleVersion(models.Model):
    """Each saved rule, who saved it and when: the segment page's history (誰がいつ変えたか)."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="versions", verbose_name=_("segment"))
    number = models.PositiveIntegerField(_("version"))
    rule = models.JSONField(_("rule"))
    summary = models.TextField(_("summary"), blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("rule version")
        verbose_name_plural = _("rule versions")
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["segment", "number"], name="segment_rule_version_unique")]

    def __str__(self) -> str:
        return f"{self.segment_id} v{self.number}"


class SegmentMember(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members", verbose_name=_("segment"))
    customer_id = models.BigIntegerField(_("customer"))
    entered_at = models.DateTimeField(_("entered at"))

    class Meta:
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")
        constraints = [models.UniqueConstraint(fields=["segment", "customer_id"], name="segment_member_unique")]
        indexes = [models.Index(fields=["customer_id"], name="segment_member_customer")]

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.customer_id}"


class SegmentSize(models.Model):
    """The size after a full refresh, for the size-over-time chart."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sizes", verbose_name=_("segment"))
    measured_at = models.DateTimeField(_("measured at"))
    members = models.PositiveIntegerField(_("members"))
    entered = models.PositiveIntegerField(_("entered"), default=0)
    left = models.PositiveIntegerField(_("left"), default=0)

    class Meta:
        verbose_name = _("segment size")
        verbose_name_plural = _("segment sizes")
        ordering = ["segment", "measured_at"]
        indexes = [models.Index(fields=["segment", "measured_at"], name="segment_size_time")]

    def __str__(self) -> str:
        return f"{self.segment_id} {self.measured_at:%Y-%m-%d %H:%M}: {self.members}"
