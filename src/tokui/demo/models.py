from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaughtMail(models.Model):
    """A message received by the built-in mail catcher (embedded mode): nothing leaves the machine."""

    mail_from = models.CharField(_("from"), max_length=320)
    recipients = models.JSONField(_("to"), default=list)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    message_id = models.CharField(_("message id"), max_length=500, blank=True)
    raw = models.BinaryField(_("raw message"))
    size = models.PositiveIntegerField(_("size"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("caught mail")
        verbose_name_plural = _("caught mail")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return self.subject
