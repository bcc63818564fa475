"""Validation of custom field values against the fields the shop defined."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from tokui.core.errors import DomainError
from tokui.customers.enums import CustomFieldEntity, CustomFieldType
from tokui.customers.models import CustomFieldDefinition


def custom_fields_clean(*, entity: CustomFieldEntity, values: dict[str, Any]) -> dict[str, Any]:
    """Check each value against its definition and return JSON-ready values; unknown keys are refused."""
    if not values:
        return {}
    definitions = {d.key: d for d in CustomFieldDefinition.objects.filter(entity=entity, key__in=list(values))}
    cleaned: dict[str, Any] = {}
    for key, raw in values.items():
        definition = definitions.get(key)
        if definition is None:
            raise DomainError(
                _("There is no custom field “%(key)s”. Add it under Settings → Custom fields first.") % {"key": key},
                field=f"custom_fields.{key}",
            )
        cleaned[key] = None if raw in (None, "") else _clean_value(definition, raw)
    return cleaned


def _clean_value(definition: CustomFieldDefinition, raw: Any) -> Any:
    field = f"custom_fields.{definition.key}"
    match definition.field_type:
        case CustomFieldType.NUMBER:
            try:
                return str(Decimal(str(raw)))
            except InvalidOperation:
                raise DomainError(_("%(label)s must be a number.") % {"label": definition.label}, field=field) from None
        case CustomFieldType.DATE:
            try:
                return dt.date.fromisoformat(str(raw)).isoformat()
            except ValueError:
                raise DomainError(
                    _("%(label)s must be a date such as 2026-04-01.") % {"label": definition.label}, field=field
                ) from None
        case CustomFieldType.CHOICE:
            if raw not in definition.choices:
                raise DomainError(
                    _("%(label)s must be one of: %(choices)s.")
                    % {"label": definition.label, "choices": ", ".join(map(str, definition.choices))},
                    field=field,
                )
            return raw
        case CustomFieldType.BOOLEAN:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"true", "1", "yes", "はい"}:
                return True
            if text in {"false", "0", "no", "いいえ"}:
                return False
            raise DomainError(_("%(label)s must be yes or no.") % {"label": definition.label}, field=field)
        case _:
            return str(raw)
