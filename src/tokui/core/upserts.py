"""Idempotent upserts keyed by (source, external id), safe under concurrent writers.

Re-importing the same record changes nothing and reports ``unchanged``; two workers inserting the same key at
once end with one row (the loser of the unique-constraint race re-reads and updates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from tokui.core.enums import UpsertOutcome


@dataclass(frozen=True, slots=True)
class UpsertResult[M: models.Model]:
    instance: M
    outcome: UpsertOutcome


def _differences(instance: models.Model, values: dict[str, Any]) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    for name, value in values.items():
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        current = getattr(instance, attname)
        if isinstance(value, models.Model):
            value = value.pk
        if current != value:
            changed[attname] = value
    return changed


def upsert_by_key[M: models.Model](model: type[M], *, key: dict[str, Any], values: dict[str, Any]) -> UpsertResult[M]:
    """Create or update the row of ``model`` identified by the unique ``key`` with ``values``."""
    manager = model._default_manager
    for _attempt in range(3):
        instance = manager.filter(**key).first()
        if instance is None:
            try:
                with transaction.atomic():
                    created = manager.create(**key, **values)
                return UpsertResult(created, UpsertOutcome.CREATED)
            except IntegrityError:
                # Another writer inserted the same key between our read and our insert: read it and update.
                continue
        changed = _differences(instance, values)
        if not changed:
            return UpsertResult(instance, UpsertOutcome.UNCHANGED)
        if any(field.name == "updated_at" for field in model._meta.concrete_fields):
            changed["updated_at"] = timezone.now()
        manager.filter(pk=instance.pk).update(**changed)
        instance.refresh_from_db()
        return UpsertResult(instance, UpsertOutcome.UPDATED)
    raise IntegrityError(f"could not upsert {model.__name__} {key}")
