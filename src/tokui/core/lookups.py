"""``column IN ids`` as one parameter, whatever the number of ids.

Batches name hundreds to tens of thousands of ids: as separate placeholders they cost more Python time to bind than
the statement costs to run, and past 32,766 (SQLite) or 65,535 (PostgreSQL) they fail. One array parameter on
PostgreSQL (``= ANY``, which is how it plans ``IN (a, b, ...)`` anyway), one JSON text on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db.models import F, Lookup, Q


class InIds(Lookup):
    """``lhs`` is one of the integer ids given as the right-hand side."""

    lookup_name = "tokui_in_ids"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        ids = [int(pk) for pk in self.rhs]
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s::bigint[])", (*lhs_params, ids)
        return f"{lhs} IN (SELECT value FROM json_each(%s))", (*lhs_params, json.dumps(ids))


def ids_q(field: str, ids: Iterable[int]) -> Q:
    """``field`` is one of ``ids``, bound as one parameter."""
    return Q(InIds(F(field), tuple(ids)))
