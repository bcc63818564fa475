"""``column IN ids`` (or texts) as one parameter, whatever the number of values.

Batches name hundreds to tens of thousands of ids: as separate placeholders they cost more Python time to bind than
the statement costs to run, and past 32,766 (SQLite) or 65,535 (PostgreSQL) they fail. One array parameter on
PostgreSQL (``= ANY``, which is how it plans ``IN (a, b, ...)`` anyway), one JSON text on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import F, Lookup, Q


class _InValues(Lookup):
    """``lhs`` is one of the values given as the right-hand side, bound as one parameter."""

    prepare_rhs = False
    array_type = ""

    def values(self) -> list[Any]:
        raise NotImplementedError

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = self.values()
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::{self.array_type}[])", (*lhs_params, values)
        return f"{lhs} IN (SELECT value FROM json_each(%s))", (*lhs_params, json.dumps(values))


def in_ids_sql(column: str, ids: Iterable[int]) -> tuple[str, list[Any]]:
    """``column IN ids`` for hand-written SQL, bound as one parameter (as ``InIds``)."""
    values = [int(pk) for pk in ids]
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [values]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(values)]


class InIds(_InValues):
    """``lhs`` is one of the integer ids given as the right-hand side."""

    lookup_name = "tokui_in_ids"
    array_type = "bigint"

    def values(self) -> list[Any]:
        return [int(pk) for pk in self.rhs]


class InTexts(_InValues):
    """``lhs`` is one of the strings given as the right-hand side."""

    lookup_name = "tokui_in_texts"
    array_type = "text"

    def values(self) -> list[Any]:
        return [str(text) for text in self.rhs]


def ids_q(field: str, ids: Iterable[int]) -> Q:
    """``field`` is one of ``ids``, bound as one parameter."""
    return Q(InIds(F(field), tuple(ids)))


def texts_q(field: str, texts: Iterable[str]) -> Q:
    """``field`` is one of ``texts``, bound as one parameter."""
    return Q(InTexts(F(field), tuple(texts)))
