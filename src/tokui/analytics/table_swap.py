"""Rebuilding a derived table beside itself on PostgreSQL, then swapping it in: readers never wait for the build.

The nightly rebuild of the sales facts writes millions of rows. Inside the live table (``TRUNCATE`` + ``INSERT``)
every report waits on the truncate's lock for the whole build (12 minutes at 3 million orders). Instead each
table gets a twin (``LIKE`` the live one: columns, defaults, checks), filled without indexes, then indexed with the
live table's own index and constraint definitions, analysed, and exchanged for the live table in one short
transaction (drop, rename, and the indexes and constraints renamed back to the names the migrations know). Reports
read the old rows until that moment and the new ones after it.

For tables without sequences (the fact tables are keyed by the order and line ids they copy).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

_SUFFIX = "__rb"
_INDEX_DEF = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON (?:ONLY )?(\S+) (USING .+)$", re.S)
# How long the swap may wait for a running report before giving up (the old rows then stay until the next run).
SWAP_LOCK_TIMEOUT = "60s"


def _twin(name: str) -> str:
    # PostgreSQL cuts names at 63 bytes: keep the suffix, shorten the rest.
    return name[: 63 - len(_SUFFIX)] + _SUFFIX


@dataclass(frozen=True, slots=True)
class _Definitions:
    constraints: list[tuple[str, str]]  # name, definition (primary key, unique, exclusion)
    indexes: list[tuple[str, str]]  # name, CREATE INDEX statement


def _definitions(cursor: CursorWrapper, table: str) -> _Definitions:
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'x') ORDER BY conname",
        [table],
    )
    constraints = [(str(name), str(definition)) for name, definition in cursor.fetchall()]
    backing = {name for name, _ in constraints}
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
        "ORDER BY indexname",
        [table],
    )
    indexes = [(str(n), str(d)) for n, d in cursor.fetchall() if n not in backing]
    return _Definitions(constraints=constraints, indexes=indexes)


def _index_on_twin(name: str, definition: str, twin: str) -> str:
    match = _INDEX_DEF.match(definition)
    if match is None:
        raise ValueError(f"unexpected index definition: {definition}")
    unique, _, _, rest = match.groups()
    quote = connection.ops.quote_name
    return f"CREATE {unique or ''}INDEX {quote(_twin(name))} ON {quote(twin)} {rest}"


def rebuild_beside(tables: Sequence[str], fill: Callable[[dict[str, str]], None]) -> None:
    """Fill twins of ``tables`` by ``fill`` (given {live name: twin name}), index them as the live tables are,
    then swap them in. On any error the twins are dropped and the live tables stay as they were."""
    quote = connection.ops.quote_name
    twins = {table: _twin(table) for table in tables}
    lock = f"tokui.rebuild:{','.join(tables)}"
    with connection.cursor() as cursor:
        # One rebuild of these tables at a time (a second one would drop the first one's twins).
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [lock])
        definitions = {table: _definitions(cursor, table) for table in tables}
        for table, twin in twins.items():
            cursor.execute(f"DROP TABLE IF EXISTS {quote(twin)}")
            cursor.execute(
                f"CREATE TABLE {quote(twin)} (LIKE {quote(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                "INCLUDING STORAGE)"
            )
    try:
        with transaction.atomic():
            fill(twins)
        with connection.cursor() as cursor:
            for table, twin in twins.items():
                for name, definition in definitions[table].constraints:
                    cursor.execute(f"ALTER TABLE {quote(twin)} ADD CONSTRAINT {quote(_twin(name))} {definition}")
                for name, definition in definitions[table].indexes:
                    cursor.execute(_index_on_twin(name, definition, twin))
                cursor.execute(f"ANALYZE {quote(twin)}")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
            cursor.execute(f"LOCK TABLE {', '.join(quote(t) for t in tables)} IN ACCESS EXCLUSIVE MODE")
            for table, twin in twins.items():
                cursor.execute(f"DROP TABLE {quote(table)}")
                cursor.execute(f"ALTER TABLE {quote(twin)} RENAME TO {quote(table)}")
                for name, _ in definitions[table].indexes:
                    cursor.execute(f"ALTER INDEX {quote(_twin(name))} RENAME TO {quote(name)}")
                for name, _ in definitions[table].constraints:
                    # Renaming an index-backed constraint renames its index too.
                    cursor.execute(
                        f"ALTER TABLE {quote(table)} RENAME CONSTRAINT {quote(_twin(name))} TO {quote(name)}"
                    )
    except BaseException:
        with connection.cursor() as cursor:
            for twin in twins.values():
                cursor.execute(f"DROP TABLE IF EXISTS {quote(twin)}")
        raise
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [lock])
