from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tokui.accounts.models import ApiKey, ApiRequestLog, User
from tokui.core.admin import AuditedAdmin


@admin.register(User)
class TokuiUserAdmin(AuditedAdmin[User], UserAdmin[User]):
    list_display = ["username", "display_name", "email", "role", "is_active"]
    list_filter = ["role", "is_active"]
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (_("Role and access"), {"fields": ("role", "display_name", "sees_all_accounts")}),
    )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    """Read-only: keys are made and revoked under Settings → API keys, which writes the audit log."""

    list_display = ["name", "prefix", "scopes", "created_by", "created_at", "last_used_at", "revoked_at"]
    exclude = ["hashed_key"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False


@admin.register(ApiRequestLog)
class ApiRequestLogAdmin(admin.ModelAdmin[ApiRequestLog]):
    list_display = ["at", "key", "method", "path", "status_code", "duration_ms"]
    list_filter = ["status_code", "method"]
    list_select_related = ["key"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiRequestLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiRequestLog | None = None) -> bool:
        return False
