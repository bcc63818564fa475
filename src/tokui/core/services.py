"""Writes of the shared kernel: the audit log."""

from __future__ import annotations

from typing import Any

from django.db import models

from tokui.core.enums import AuditAction
from tokui.core.models import AuditLogEntry


def audit_record(
    *,
    actor: Any,
    action: AuditAction,
    target: models.Model,
    changes: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditLogEntry:
    """Append one audit entry. ``actor`` is a user or ``None`` for the system."""
    return AuditLogEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target_type=target._meta.label,
        target_id=str(target.pk or ""),
        target_repr=str(target)[:255],
        changes=changes or {},
        ip_address=ip_address,
    )
