from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from tokui.accounts.enums import ApiScope, Role


class User(AbstractUser):
    """A staff member of the shop operator. The role decides what they may see and change."""

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    # A sales rep normally sees only the companies assigned to them; a manager may open everything to a rep.
    sees_all_accounts = models.BooleanField(_("sees all accounts"), default=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def is_sales_rep(self) -> bool:
        return self.role == Role.SALES_REP

    @property
    def can_edit_customers(self) -> bool:
        return self.role in {Role.ADMIN, Role.MARKETER, Role.SALES_REP}


def api_key_hash(token: str) -> str:
    """The SHA-256 of a full key, as stored. A key holds 256 random bits, so its plain hash cannot be guessed back."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiKey(models.Model):
    """A key another system uses to call the API. Only a SHA-256 hash of the key is stored; it is shown once.

    The key reads ``tokui_<prefix>_<secret>``; the prefix is stored in clear to find the key and to show it.
    """

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    hashed_key = models.CharField(_("key hash"), max_length=64, unique=True)
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Written at most once a minute per key, so a busy key costs no extra write per request.
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("revoked by"),
    )

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} (tokui_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def scope_labels(self) -> list[str]:
        return [str(ApiScope(scope).label) for scope in self.scopes if scope in ApiScope.values]


class ApiRequestLog(models.Model):
    """One API request: which key, what, the answer and how long it took. One insert per request."""

    key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="requests", verbose_name=_("API key")
    )
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=255)
    status_code = models.PositiveSmallIntegerField(_("status"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("API request")
        verbose_name_plural = _("API requests")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["key", "-at"], name="api_request_key_time"),
            models.Index(fields=["at"], name="api_request_time"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.method} {self.path} {self.status_code}"
