from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from tokui.core.admin import AuditedAdmin
from tokui.integrations.models import ImportJob, ImportMapping


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin[ImportJob]):
    """Import jobs are made by the import screens; the admin only shows them (and may delete old ones)."""

    list_display = [
        "original_name",
        "object_type",
        "status",
        "rows_total",
        "created_count",
        "updated_count",
        "unchanged_count",
        "rejected_count",
        "created_by",
        "created_at",
    ]
    list_filter = ["object_type", "status"]
    search_fields = ["original_name", "source"]
    exclude = ["run_token"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ImportJob | None = None) -> bool:
        return False


@admin.register(ImportMapping)
class ImportMappingAdmin(AuditedAdmin[ImportMapping]):
    list_display = ["object_type", "header", "updated_at"]
    list_filter = ["object_type"]
