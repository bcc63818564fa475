"""What one sync or webhook delivery did, the same for every connector: counts per resource and outcome, the first
errors record by record, and the cursor to pass as ``updated_since`` next time."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from tokui.core.errors import DomainError

# What one bad record (a malformed payload or one the domain refuses) may raise. Anything else (a lost connection,
# a bug) stops the sync and is logged as a failure.
RECORD_ERRORS = (
    DomainError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,  # a field of the wrong shape (a string where a list of objects belongs)
    ArithmeticError,
    DatabaseError,
    ValidationError,
)
# The sync log keeps this many record errors per run; the counts still count them all.
MAX_ERRORS_KEPT = 200


@dataclass
class SyncReport:
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, str]] = field(default_factory=list)
    # Pass this as ``updated_since`` next time (a sync subtracts its overlap itself). None: the caller decides.
    cursor: dt.datetime | None = None

    def record(self, resource: str, outcome: object) -> None:
        self.counts[f"{resource}.{outcome}"] += 1

    def error(self, resource: str, record_id: object, message: str, field: str = "") -> None:
        self.counts[f"{resource}.error"] += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append({"resource": resource, "id": str(record_id), "field": field, "message": message})

    def merge(self, other: SyncReport) -> None:
        self.counts.update(other.counts)
        room = MAX_ERRORS_KEPT - len(self.errors)
        self.errors.extend(other.errors[: max(room, 0)])

    @property
    def error_count(self) -> int:
        return sum(count for key, count in self.counts.items() if key.endswith(".error"))


def apply_record(report: SyncReport, resource: str, apply: Callable[..., object], payload: dict[str, Any]) -> bool:
    """Apply one record in its own savepoint; ``apply`` takes it as ``payload=``. False when it was refused, so one
    bad record is reported and skipped and the others are stored."""
    try:
        with transaction.atomic():
            outcome = apply(payload=payload)
    except RECORD_ERRORS as error:
        field_name = error.field or "" if isinstance(error, DomainError) else ""
        report.error(resource, payload.get("id"), str(error), field_name)
        return False
    report.record(resource, outcome if outcome is not None else "skipped")
    return True
