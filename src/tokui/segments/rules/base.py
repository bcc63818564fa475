"""The typed registry of segment conditions (DESIGN.md convention 9) and what every condition shares.

One class per condition type: its pydantic config (what is stored in the rule JSON), a label, the value kind the
builder shows, its operators, ``check`` (database-dependent validation at save time), ``compile`` (a ``Q`` over the
segment's subject, built from ``Exists`` / ``Subquery`` so a whole rule is one query) and ``describe`` (the
plain-language Japanese summary).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from django.db.models import Q
from django.utils.functional import Promise
from pydantic import BaseModel, ConfigDict

from tokui.core.time import local_date
from tokui.segments.enums import Subject, ValueKind


class RuleError(ValueError):
    """A rule that cannot be saved: ``path`` names the bad node ("1 › 2" = second condition of the first group)."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConditionConfig(BaseModel):
    """Base of every condition config: unknown keys are refused, so a typo never silently matches everyone."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What a rule is evaluated against: the subject and the instant of evaluation (relative dates resolve here)."""

    subject: Subject
    now: dt.datetime
    customer_ids: tuple[int, ...] | None = None
    """Only these customers are evaluated (a refresh for new facts): uncorrelated subqueries narrow to them."""

    @property
    def today(self) -> dt.date:
        """Today in the site zone (Asia/Tokyo by default): "the last 30 days" are JST days."""
        return local_date(self.now)

    @property
    def customer_field(self) -> str:
        """The column of orders, events, carts, favourites and stats that names the subject."""
        return "company_id" if self.subject == Subject.COMPANY else "contact_id"


class ConditionType[C: ConditionConfig]:
    key: ClassVar[str]
    label: ClassVar[str | Promise]
    section: ClassVar[str | Promise]
    """The heading it is listed under in the builder's "add condition" menu."""
    config_model: ClassVar[type[ConditionConfig]]
    value_kind: ClassVar[ValueKind] = ValueKind.NONE
    operators: ClassVar[Mapping[str, str | Promise]] = {}
    subjects: ClassVar[tuple[Subject, ...]] = (Subject.COMPANY, Subject.CONTACT)
    inputs: ClassVar[list[dict[str, Any]]] = []
    """The builder's inputs for the config, in order (see ``segment_builder.js`` for the input types)."""
    defaults: ClassVar[dict[str, Any]] = {}
    """The config of a condition just added in the builder."""

    def check(self, config: C, *, subject: Subject) -> C | None:
        """Validation that needs the database (a custom field or product that must exist): raise ``RuleError``, or
        return the config with cleaned values (``None``: unchanged)."""
        return None

    def compile(self, config: C, ctx: RuleContext) -> Q:
        raise NotImplementedError

    def describe(self, config: C) -> str:
        raise NotImplementedError

    def catalog(self) -> dict[str, Any]:
        """What the builder needs to draw this condition's inputs."""
        return {
            "key": self.key,
            "label": str(self.label),
            "section": str(self.section),
            "value_kind": str(self.value_kind),
            "operators": [{"value": k, "label": str(v)} for k, v in self.operators.items()],
            "subjects": [str(s) for s in self.subjects],
            "inputs": plain(self.inputs),
            "defaults": self.defaults,
        }


def plain(value: Any) -> Any:
    """Lazy translations made text, recursively, for JSON."""
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


def options(choices: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"value": str(key), "label": label} for key, label in choices.items()]


class ConditionRegistry:
    def __init__(self) -> None:
        self._types: dict[str, ConditionType[Any]] = {}

    def register(self, key: str) -> Callable[[type[ConditionType[Any]]], type[ConditionType[Any]]]:
        def decorator(cls: type[ConditionType[Any]]) -> type[ConditionType[Any]]:
            cls.key = key
            self._types[key] = cls()
            return cls

        return decorator

    def get(self, key: str) -> ConditionType[Any] | None:
        return self._types.get(key)

    def all(self) -> list[ConditionType[Any]]:
        return list(self._types.values())


condition_types = ConditionRegistry()
