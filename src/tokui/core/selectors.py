from __future__ import annotations

from django.db.models import QuerySet

from tokui.core.models import AuditLogEntry


def audit_entries(*, target_type: str | None = None, target_id: str | None = None) -> QuerySet[AuditLogEntry]:
    entries = AuditLogEntry.objects.select_related("actor")
    if target_type:
        entries = entries.filter(target_type=target_type)
    if target_id:
        entries = entries.filter(target_id=target_id)
    return entries
