"""Dataclasses passed between the analytics app and its readers (screens, segments)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class RfmGroupDef:
    name: str
    cells: frozenset[tuple[int, int]]
    id: int | None = None


@dataclass(frozen=True, slots=True)
class RfmRules:
    """The boundaries and groups of one customer level (see ``RfmSettings``)."""

    level: str
    recency_method: str
    recency_bounds: tuple[int, ...]
    frequency_method: str
    frequency_bounds: tuple[int, ...]
    monetary_method: str
    monetary_bounds: tuple[Decimal, ...]
    groups: tuple[RfmGroupDef, ...] = ()


@dataclass(frozen=True, slots=True)
class RfmCell:
    r: int
    f: int
    customers: int
    revenue: Decimal
    customer_share: float
    revenue_share: float
    group: str


@dataclass(frozen=True, slots=True)
class RfmGrid:
    level: str
    as_of: dt.date
    rows: list[list[RfmCell]]
    """R5 first; each row F1..F5."""
    customers: int
    revenue: Decimal
    groups: list[tuple[str, int, Decimal]] = field(default_factory=list)
    """(group, customers, revenue) in the groups' order, then customers in no group."""


@dataclass(frozen=True, slots=True)
class RfmMovement:
    level: str
    from_month: dt.date
    to_month: dt.date
    labels: list[str]
    """The groups, then "in no group", then "no orders yet" (not yet a customer that month)."""
    matrix: list[list[int]]
    """``matrix[from][to]``: customers in group ``labels[from]`` last month and ``labels[to]`` this month."""
