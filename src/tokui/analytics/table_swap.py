"""Rebuilding a derived table beside itself on PostgreSQL, then swapping it in: readers never wait for the build.

The nightly rebuild of the sales facts writes millions of rows. Inside the live table (``TRUNCATE`` + ``INSERT``)
every report waits on the truncate's lock for the whole build (12 minutes at 3 million orders). Instead each
table gets a twin (``LIKE`` the live one: columns, defaults, checks), filled without indexes, then indexed with the
live table's own index and constraint definitions, analysed (some vacuumed), and exchanged for the live table in one
short transaction (drop, rename, and the indexes and constraints renamed back to the names the migrations know). Reports
read the old rows until that moment and the new ones after it.

For tables without sequences (the fact tables are keyed by the order and line ids they copy).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from tokui.analytics.pg_parallel import beside_second_connection

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
    backing: dict[str, str]  # constraint name → the CREATE INDEX statement of its index
    triggers: list[str]  # CREATE TRIGGER statements (made again on the twin as it is swapped in)


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
    found = [(str(n), str(d)) for n, d in cursor.fetchall()]
    cursor.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal "
        "ORDER BY tgname",
        [table],
    )
    return _Definitions(
        constraints=constraints,
        indexes=[(name, definition) for name, definition in found if name not in backing],
        backing={name: definition for name, definition in found if name in backing},
        triggers=[str(row[0]) for row in cursor.fetchall()],
    )


# A primary key or unique constraint that can be attached to a unique index built beforehand (not deferrable: such
# a constraint keeps its own index options).
_ATTACHABLE = re.compile(r"^(PRIMARY KEY|UNIQUE) \(")


def _index_steps(definitions: _Definitions, twin: str) -> tuple[list[str], list[str], list[str]]:
    """The statements indexing ``twin`` as the live table is: those to run first, one at a time (constraints
    building their own index under an exclusive lock), the index builds (which may run at once: each takes a
    share lock), and those after them (constraints attached to their unique index, no build)."""
    quote = connection.ops.quote_name
    first, builds, after = [], [], []
    for name, definition in definitions.constraints:
        index = definitions.backing.get(name)
        kind = _ATTACHABLE.match(definition)
        if index is not None and kind is not None and "DEFERRABLE" not in definition:
            builds.append(_index_on_twin(name, index, twin))
            after.append(
                f"ALTER TABLE {quote(twin)} ADD CONSTRAINT {quote(_twin(name))} {kind.group(1)}"
                f" USING INDEX {quote(_twin(name))}"
            )
        else:
            first.append(f"ALTER TABLE {quote(twin)} ADD CONSTRAINT {quote(_twin(name))} {definition}")
    builds += [_index_on_twin(name, definition, twin) for name, definition in definitions.indexes]
    return first, builds, after


def _run_at_once(statements: list[str]) -> None:
    """Run ``statements`` on this connection and a second one at once, each taking the next left (outside a
    transaction: the second connection must see the committed twin)."""
    queue = list(reversed(statements))
    failure: list[BaseException] = []

    def work(cursor: CursorWrapper) -> None:
        while not failure:
            try:
                statement = queue.pop()  # atomic under the GIL
            except IndexError:
                return
            cursor.execute(statement)

    def main() -> None:
        with connection.cursor() as cursor:
            work(cursor)

    beside_second_connection(main, work, failure=failure, name="index-builds")


def _index_on_twin(name: str, definition: str, twin: str) -> str:
    match = _INDEX_DEF.match(definition)
    if match is None:
        raise ValueError(f"unexpected index definition: {definition}")
    unique, _, _, rest = match.groups()
    quote = connection.ops.quote_name
    return f"CREATE {unique or ''}INDEX {quote(_twin(name))} ON {quote(twin)} {rest}"


def rebuild_beside(
    tables: Sequence[str],
    fill: Callable[[dict[str, str]], None],
    *,
    vacuum: Sequence[str] = (),
    on_swap: Callable[[CursorWrapper], None] | None = None,
) -> None:
    """Fill twins of ``tables`` by ``fill`` (given {live name: twin name}), index them as the live tables are,
    then swap them in. On any error the twins are dropped and the live tables stay as they were.

    The live tables' triggers are made again on the twins in the swap's transaction (not before: the fill would
    fire them), and ``on_swap`` runs in it last (a cache of the old rows is emptied there, at the same moment).

    The twins of ``vacuum`` are vacuumed before they are swapped in: the visibility map that VACUUM sets lets
    index-only reads skip the table's pages (ADR 42), and a new table has none until autovacuum gets round to it,
    slowed by its cost limits. VACUUM cannot run in a transaction: a rebuild inside one (as in tests) analyses."""
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
        steps = [_index_steps(definitions[table], twin) for table, twin in twins.items()]
        with connection.cursor() as cursor:
            for statement in (statement for first, _, _ in steps for statement in first):
                cursor.execute(statement)
        # The index builds of every twin over two connections: one build uses a core at a time for most of its
        # work (the parallel workers only sort), so two at once finish in about half the time on two cores.
        builds = [statement for _, table_builds, _ in steps for statement in table_builds]
        if connection.in_atomic_block or len(builds) < 2:
            with connection.cursor() as cursor:
                for statement in builds:
                    cursor.execute(statement)
        else:
            _run_at_once(builds)
        with connection.cursor() as cursor:
            for statement in (statement for _, _, after in steps for statement in after):
                cursor.execute(statement)
            for table, twin in twins.items():
                vacuumed = table in vacuum and not connection.in_atomic_block
                cursor.execute(f"{'VACUUM (ANALYZE)' if vacuumed else 'ANALYZE'} {quote(twin)}")
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
                for trigger in definitions[table].triggers:  # dropped with the old table; the names are free again
                    cursor.execute(trigger)
            if on_swap is not None:
                on_swap(cursor)
    except BaseException:
        with connection.cursor() as cursor:
            for twin in twins.values():
                cursor.execute(f"DROP TABLE IF EXISTS {quote(twin)}")
        raise
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [lock])
