"""What every importer has: its fields (with the header names that are guessed for them), row parsing, the key
that identifies a record, and :meth:`Importer.apply`, which writes one batch of rows through the owning app's
services. Importers are found in a typed registry by object type."""

from __future__ import annotations

import dataclasses
import logging
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from tokui.accounts.models import User
from tokui.accounts.selectors import sales_reps
from tokui.core.errors import DomainError
from tokui.core.upserts import UpsertResult
from tokui.customers.selectors import companies_visible_to
from tokui.integrations.enums import RowOutcome
from tokui.integrations.importers import values
from tokui.integrations.importers.reading import CellValue, SourceRow, cell_text
from tokui.integrations.types import RowResult

logger = logging.getLogger(__name__)

type ColumnMap = dict[str, int]


@dataclass(frozen=True, slots=True)
class ImportField:
    """A field a column can fill. ``target`` is the name in the service's input (``CompanyIn.phone``).

    Whether a column is needed is not a property of the field but of the importer (``Importer.mapping_rules``): a
    contact file may be keyed by its contact code or by email alone.
    """

    key: str
    label: str | Promise
    parse: Callable[[CellValue], Any]
    aliases: tuple[str, ...] = ()
    max_length: int | None = None
    target: str = ""

    @property
    def target_name(self) -> str:
        return self.target or self.key


class Need(StrEnum):
    """How a field is needed on the mapping screen."""

    REQUIRED = "required"  # its column must be chosen
    ONE_OF = "one_of"  # a column for it or for another field of its group must be chosen
    NEW_RECORDS = "new_records"  # rows that create a record need it; rows that update one may leave it out


@dataclass(frozen=True, slots=True)
class MappingRule:
    """Columns a file needs: a column for at least one of ``fields``. ``identifies``: they are the record's key;
    ``new_records_only``: needed by rows that create a record, so checked per row, never on the mapping."""

    fields: tuple[str, ...]
    identifies: bool = False
    new_records_only: bool = False

    @property
    def need(self) -> Need:
        if self.new_records_only:
            return Need.NEW_RECORDS
        return Need.REQUIRED if len(self.fields) == 1 else Need.ONE_OF


@dataclass(slots=True)
class ParsedRow:
    row: SourceRow
    values: dict[str, Any]
    errors: list[str]

    def has(self, key: str) -> bool:
        return key in self.values


@dataclass(slots=True)
class RunContext:
    """What an importer needs besides the rows: where records come from, who imports, and the file's problems."""

    source: str
    user: User | None
    sees_all_accounts: bool
    options: Mapping[str, str]
    key_problems: Callable[[list[str]], dict[str, str]]
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user is not None else None

    def own_company_ids(self, company_ids: Iterable[int | None]) -> set[int]:
        """Which of ``company_ids`` the importing user may change (all of them unless a sales rep imports)."""
        wanted = {company_id for company_id in company_ids if company_id is not None}
        if self.sees_all_accounts or not wanted:
            return wanted
        if self.user is None:
            return set()
        visible = companies_visible_to(user=self.user).filter(pk__in=wanted)
        return set(visible.values_list("pk", flat=True))

    def cached[T](self, name: str, build: Callable[[], T]) -> T:
        """A lookup table built once per run (sales reps by name, categories by name)."""
        if name not in self.cache:
            self.cache[name] = build()
        value: T = self.cache[name]
        return value


class RowRejectedError(Exception):
    """Raised while a row is prepared to reject it with a message (nothing is written for it)."""


ROW_ERRORS = (DomainError, ValidationError, IntegrityError, DataError, RowRejectedError)


def error_text(error: BaseException, labels: Mapping[str, str | Promise]) -> str:
    """A translated reason for a rejected row, naming the field in the user's words."""
    if isinstance(error, DomainError):
        label = labels.get(error.field or "")
        return f"{label}: {error.message}" if label else error.message
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    if isinstance(error, IntegrityError | DataError):
        logger.info("import row refused by the database: %s", error)
        return _("The database refused this row (a value is too long or clashes with another record).")
    return str(error)


class Importer(ABC):
    object_type: ClassVar[str]
    fields: ClassVar[tuple[ImportField, ...]]
    # The first of these that is mapped identifies a record (its external id); one of them must be mapped.
    key_fields: ClassVar[tuple[str, ...]]
    # Fields that must be mapped for the file to be importable at all (beyond the key).
    mapping_required: ClassVar[tuple[str, ...]] = ()
    # One of each of these groups must be mapped (an order needs a customer code or a contact).
    mapping_one_of: ClassVar[tuple[tuple[str, ...], ...]] = ()
    # One of each of these groups is needed by a row that creates a record (a new company needs its name); a file
    # that only updates records may leave them out, so they are shown on the mapping screen but not enforced there.
    new_record_fields: ClassVar[tuple[tuple[str, ...], ...]] = ()
    # Rows with the same key next to each other are one record (the lines of an order).
    groups_rows: ClassVar[bool] = False

    def field(self, key: str) -> ImportField:
        for candidate in self.fields:
            if candidate.key == key:
                return candidate
        raise KeyError(key)

    def labels(self) -> dict[str, str | Promise]:
        """Field labels by field key and by service input name, for error messages."""
        labels: dict[str, str | Promise] = {}
        for item in self.fields:
            labels[item.key] = item.label
            labels.setdefault(item.target_name, item.label)
        return labels

    def mapping_rules(self) -> list[MappingRule]:
        """What a file of this type needs, in the order the mapping screen lists it."""
        return [
            MappingRule(self.key_fields, identifies=True),
            *(MappingRule((key,)) for key in self.mapping_required),
            *(MappingRule(group) for group in self.mapping_one_of),
            *(MappingRule(group, new_records_only=True) for group in self.new_record_fields),
        ]

    def field_needs(self) -> dict[str, Need]:
        """How each field is needed (fields not named are optional); a field in several rules gets the first one's."""
        needs: dict[str, Need] = {}
        for rule in reversed(self.mapping_rules()):
            for key in rule.fields:
                needs[key] = rule.need
        return needs

    def _names(self, fields: Iterable[str]) -> str:
        return " / ".join(str(self.field(key).label) for key in fields)

    def rule_text(self, rule: MappingRule) -> str:
        """The rule in the user's words, for the list of what the file needs."""
        names = self._names(rule.fields)
        if rule.identifies and len(rule.fields) > 1:
            return _(
                "One of: %(fields)s. It identifies each record; if several are chosen, the first in this list is used."
            ) % {"fields": names}
        if rule.identifies:
            return _("%(field)s. It identifies each record.") % {"field": names}
        if rule.new_records_only and len(rule.fields) > 1:
            return _("For new records, one of: %(fields)s. Rows that update a record may leave it empty.") % {
                "fields": names
            }
        if rule.new_records_only:
            return _("For new records: %(field)s. Rows that update a record may leave it empty.") % {"field": names}
        if len(rule.fields) > 1:
            return _("One of: %(fields)s. Every file needs a column for one of them.") % {"fields": names}
        return _("%(field)s. Every file needs this column.") % {"field": names}

    def mapping_problems(self, columns: ColumnMap) -> list[str]:
        problems: list[str] = []
        for rule in self.mapping_rules():
            if rule.new_records_only or any(key in columns for key in rule.fields):
                continue
            names = self._names(rule.fields)
            if rule.identifies and len(rule.fields) > 1:
                problems.append(
                    _("Choose a column that identifies each record, one of: %(fields)s.") % {"fields": names}
                )
            elif rule.identifies:
                problems.append(_("Choose a column for “%(field)s”: it identifies each record.") % {"field": names})
            elif len(rule.fields) > 1:
                problems.append(_("Choose a column for one of: %(fields)s.") % {"fields": names})
            else:
                problems.append(_("Choose a column for “%(field)s”.") % {"field": names})
        return problems

    def key_field(self, columns: ColumnMap) -> str:
        return next(key for key in self.key_fields if key in columns)

    def key_of(self, row: SourceRow, columns: ColumnMap) -> str:
        """The record key of a row, read cheaply (the first pass over the file uses only this)."""
        key_field = self.key_field(columns)
        index = columns[key_field]
        cell = row.cells[index] if index < len(row.cells) else None
        if cell is None:
            return ""
        return self.normalise_key(key_field, values.code(cell))

    def normalise_key(self, key_field: str, key: str) -> str:
        return key

    def parse(self, row: SourceRow, columns: ColumnMap) -> ParsedRow:
        """Parse every mapped, non-empty cell; collect every problem of the row at once."""
        parsed: dict[str, Any] = {}
        errors: list[str] = []
        for key, index in columns.items():
            cell = row.cells[index] if index < len(row.cells) else None
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                continue
            spec = self.field(key)
            try:
                value = spec.parse(cell)
            except values.ValueProblemError as problem:
                errors.append(f"{spec.label}: {problem.message}")
                continue
            except (ValueError, ArithmeticError, TypeError):
                # A value no parser rule foresaw: the row is refused, the import goes on.
                logger.warning("import: could not read %r as %s", cell, key, exc_info=True)
                errors.append(
                    _("%(field)s: “%(value)s” could not be read.") % {"field": spec.label, "value": cell_text(cell)}
                )
                continue
            if spec.max_length is not None and isinstance(value, str) and len(value) > spec.max_length:
                errors.append(
                    _("%(field)s: at most %(max)d characters (this has %(length)d).")
                    % {"field": spec.label, "max": spec.max_length, "length": len(value)}
                )
                continue
            parsed[key] = value
        return ParsedRow(row=row, values=parsed, errors=errors)

    @abstractmethod
    def apply(self, rows: list[SourceRow], columns: ColumnMap, context: RunContext) -> list[RowResult]:
        """Write one batch through the services and say what happened to each row (in row order)."""


def rejected(row: SourceRow, message: str, key: str = "") -> RowResult:
    return RowResult(
        row_number=row.number,
        outcome=RowOutcome.REJECTED,
        key=key,
        message=message,
        cells=tuple(cell_text(cell) for cell in row.cells),
    )


def changed_labels(before: Mapping[str, Any], after: Mapping[str, Any], labels: Mapping[str, str | Promise]) -> str:
    names = [str(labels.get(name, name)) for name, value in after.items() if before.get(name) != value]
    return _("Changes: %(fields)s") % {"fields": ", ".join(names)} if names else ""


class ImporterRegistry:
    """Importers by object type (``companies``, ``orders``, ...)."""

    def __init__(self) -> None:
        self._importers: dict[str, Importer] = {}

    def register[I: type[Importer]](self, importer_class: I) -> I:
        self._importers[importer_class.object_type] = importer_class()
        return importer_class

    def get(self, object_type: str) -> Importer:
        return self._importers[object_type]

    def types(self) -> list[str]:
        return list(self._importers)


importers = ImporterRegistry()


def stored_values(data_class: type[Any], instance: Any) -> dict[str, Any]:
    """The stored record as the service's input dataclass sees it (``CompanyIn`` fields of a ``Company``)."""
    if instance is None:
        return {}
    return {item.name: getattr(instance, item.name) for item in dataclasses.fields(data_class)}


def attempt[T](write: Callable[[], T], labels: Mapping[str, str | Promise]) -> T | str:
    """Run one row's write in a savepoint; its value, or the reason it was refused (the savepoint rolled back)."""
    try:
        with transaction.atomic():
            return write()
    except ROW_ERRORS as error:
        return error_text(error, labels)


def person_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def sales_rep_ids_by_name() -> dict[str, int]:
    """Sales reps by login name, display name and full name (spaces and width ignored): 佐藤 健 = 佐藤健 = sato."""
    names: dict[str, int] = {}
    for rep in sales_reps():
        for name in (rep.username, rep.display_name, rep.get_full_name(), f"{rep.last_name}{rep.first_name}"):
            if name.strip():
                names.setdefault(person_key(name), rep.pk)
    return names


def upserted(number: int, key: str, result: UpsertResult[Any], changes: str) -> RowResult:
    """The result of a row a service stored; an update says which fields it changed."""
    outcome = str(result.outcome.value)
    return RowResult(number, outcome, key, changes if outcome == RowOutcome.UPDATED else "")
