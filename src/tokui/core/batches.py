"""Batches of records from outside systems, applied one savepoint per record.

A bad record (unknown reference, invalid value, a row the database refuses) is reported with its field and reason
and rolled back alone; the good records of the same batch are kept. The batch commits once, so its facts are
dispatched together after commit.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, transaction
from django.utils.translation import gettext as _

from tokui.core.enums import UpsertOutcome
from tokui.core.errors import DomainError
from tokui.core.upserts import UpsertResult

ERROR = "error"


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """What became of one record of a batch: ``created``, ``updated``, ``unchanged`` or ``error``."""

    key: str | None
    outcome: str
    id: int | None = None
    error: DomainError | None = None

    @classmethod
    def failed(cls, key: str | None, error: DomainError) -> RecordOutcome:
        return cls(key=key, outcome=ERROR, error=error)

    @classmethod
    def stored[M: models.Model](cls, key: str | None, result: UpsertResult[M]) -> RecordOutcome:
        return cls(key=key, outcome=result.outcome.value, id=result.instance.pk)


def keep_stored[D](data: D, stored: models.Model | None, keep: Iterable[str]) -> D:
    """``data`` with the fields in ``keep`` taken from the stored row: what the sender left out stays as it is.

    The names are the dataclass's fields, which match the model's attribute names (``company_id``, ...).
    """
    names = list(keep)
    if stored is None or not names:
        return data
    return dataclasses.replace(data, **{name: getattr(stored, name) for name in names})  # type: ignore[type-var]


def duplicated_keys(keys: Iterable[str | None]) -> set[str]:
    """Keys that occur more than once: such records are refused, since nobody can tell which one is meant."""
    return {key for key, count in Counter(k for k in keys if k is not None).items() if count > 1}


def duplicate_error(key: str, *, field: str = "external_id") -> DomainError:
    return DomainError(
        _("“%(key)s” appears more than once in this batch. Send each record once.") % {"key": key},
        field=field,
        code="duplicate",
    )


def unknown_reference(kind: str, key: str, *, field: str) -> DomainError:
    """A reference by external id (or SKU) that the source has not sent yet."""
    return DomainError(
        _("There is no %(kind)s “%(key)s” from this source. Send it first, then this record.")
        % {"kind": kind, "key": key},
        field=field,
        code="unknown_reference",
    )


def database_refused(error: Exception) -> DomainError:
    """A row the database refused (a unique value taken, a value out of range): a clear error, not a 500."""
    if isinstance(error, ValidationError):
        field, messages = next(iter(error.message_dict.items())) if hasattr(error, "error_dict") else (None, [])
        return DomainError(" ".join(messages) or " ".join(error.messages), field=field)
    reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else error.__class__.__name__
    return DomainError(
        _("The database refused this record (%(reason)s). Check its values against the API documentation.")
        % {"reason": reason},
        code="refused",
    )


def records_apply[R](
    records: Sequence[R],
    *,
    key: Callable[[R], str | None],
    apply: Callable[[R], RecordOutcome],
) -> list[RecordOutcome]:
    """Apply each record in its own savepoint inside one transaction; return one outcome per record, in order.

    ``apply`` raises ``DomainError`` for a bad record. Records whose key occurs more than once are refused.
    """
    duplicates = duplicated_keys(key(record) for record in records)
    outcomes: list[RecordOutcome] = []
    with transaction.atomic():
        for record in records:
            record_key = key(record)
            if record_key is not None and record_key in duplicates:
                outcomes.append(RecordOutcome.failed(record_key, duplicate_error(record_key)))
                continue
            outcomes.append(record_apply(record_key, partial(apply, record)))
    return outcomes


def record_apply(key: str | None, apply: Callable[[], RecordOutcome]) -> RecordOutcome:
    """Run ``apply`` in a savepoint; a domain error or a refused row rolls back this record only."""
    try:
        with transaction.atomic():
            return apply()
    except DomainError as error:
        return RecordOutcome.failed(key, error)
    except (DatabaseError, ValidationError, UnicodeError) as error:
        return RecordOutcome.failed(key, database_refused(error))


def outcome_counts(outcomes: Iterable[RecordOutcome]) -> dict[str, int]:
    counts = {outcome.value: 0 for outcome in UpsertOutcome} | {ERROR: 0}
    for item in outcomes:
        counts[item.outcome] += 1
    return counts
