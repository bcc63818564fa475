"""Values passed between the import steps, the views and other apps."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True, slots=True)
class RowResult:
    """What happened to one row of a file. ``cells`` is kept for rejected rows (they go to the error file)."""

    row_number: int
    outcome: str
    key: str = ""
    message: str = ""
    cells: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class FieldChoice:
    """A field a column can be mapped to, for the mapping screen. ``need``: ``required``, ``one_of``,
    ``new_records`` (see ``importers.base.Need``) or empty when the field is optional."""

    key: str
    label: str | Promise
    need: str = ""


@dataclass(frozen=True, slots=True)
class MappingColumn:
    """One column of the file on the mapping screen: its name, a few values and the field chosen for it."""

    index: int
    name: str
    samples: list[str]
    field: str


@dataclass(frozen=True, slots=True)
class ImportCounts:
    total: int | None
    done: int
    created: int
    updated: int
    unchanged: int
    rejected: int

    @property
    def importable(self) -> int:
        return self.created + self.updated


@dataclass(frozen=True)
class SyncCount:
    outcome: str  # created / updated / unchanged / skipped / error / ...
    label: str
    count: int


@dataclass(frozen=True)
class SyncCountRow:
    """One kind of record in a sync run's result, with the count of each outcome."""

    resource: str
    label: str
    counts: list[SyncCount]
