"""Appending many timeline rows fast: the rows as tuples, without model instances, in one statement.

The tag's ingest and the mail hits write here (both through a group-commit writer): ``INSERT ... ON CONFLICT DO
NOTHING`` of rows in ``EVENT_ROW_COLUMNS`` order. Rows skipped as duplicates (same source and idempotency key) are
not reported back; callers that need ids read them afterwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import connections, transaction

from tokui.tracking.models import Event

# From this many rows PostgreSQL gets them by COPY (cheaper per row, dearer per write); fewer go in one INSERT.
PG_COPY_MIN_ROWS = 100
# SQLite takes at most 32,766 parameters per statement; ten per row.
SQLITE_ROWS_PER_STATEMENT = 500

EVENT_ROW_COLUMNS = (
    "type",
    "occurred_at",
    "received_at",
    "contact_id",
    "company_id",
    "anonymous_id",
    "properties",
    "source",
    "idempotency_key",
    "dispatched_at",
)
# How each column travels in the binary COPY to PostgreSQL (properties as JSON text, cast to jsonb on insert).
_PG_COPY_TYPES = ("text", "timestamptz", "timestamptz", "int8", "int8", "text", "text", "text", "text", "timestamptz")
_PG_STAGING = "tokui_tag_rows"


def event_rows_insert(rows: Sequence[tuple[Any, ...]]) -> int:
    """``INSERT ... ON CONFLICT DO NOTHING`` of rows in EVENT_ROW_COLUMNS order, without model instances.

    The ORM's per-field preparation costs more than the database for small batches. PostgreSQL gets the rows by a
    binary ``COPY`` into a session's staging table and one ``INSERT ... SELECT`` from it (measured: a quarter of
    the Python time of one multi-row INSERT with the same rows); SQLite gets multi-row VALUES within its limit of
    parameters.
    """
    _insert(rows, returning=False)
    return len(rows)


def event_rows_insert_returning_ids(rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """As ``event_rows_insert``, answering the ids of the rows written (not of duplicates skipped): for facts
    that are dispatched to consumers by id."""
    return _insert(rows, returning=True)


def _insert(rows: Sequence[tuple[Any, ...]], *, returning: bool) -> list[int]:
    if not rows:
        return []
    connection = connections[Event.objects.db]
    quote = connection.ops.quote_name
    table = quote(Event._meta.db_table)
    columns = ", ".join(quote(column) for column in EVENT_ROW_COLUMNS)
    suffix = " RETURNING id" if returning else ""
    if connection.vendor == "postgresql":
        if len(rows) >= PG_COPY_MIN_ROWS:
            return _pg_copy_insert(connection, table=table, columns=columns, rows=rows, suffix=suffix)
        return _pg_unnest_insert(connection, table=table, columns=columns, rows=rows, suffix=suffix)
    adapt = connection.ops.adapt_datetimefield_value
    placeholders = "(" + ", ".join(["%s"] * len(EVENT_ROW_COLUMNS)) + ")"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), SQLITE_ROWS_PER_STATEMENT):
            chunk = rows[start : start + SQLITE_ROWS_PER_STATEMENT]
            params: list[Any] = []
            for row in chunk:
                params.extend(adapt(value) if isinstance(value, dt.datetime) else value for value in row)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([placeholders] * len(chunk))} "
                f"ON CONFLICT DO NOTHING{suffix}",
                params,
            )
            if returning:
                ids += [found[0] for found in cursor.fetchall()]
    return ids


def _pg_unnest_insert(
    connection: Any, *, table: str, columns: str, rows: Sequence[tuple[Any, ...]], suffix: str
) -> list[int]:
    # One statement (no transaction of its own): each column as one array, unnested into rows. The arrays travel as
    # binary parameters of a server-side-binding cursor; Django's client-side cursor would spell them out as SQL
    # text, which costs more Python time than the whole write for a few rows.
    from psycopg import Cursor

    arrays = ", ".join(f"%s::{kind}[]" for kind in _PG_COPY_TYPES)
    names = ", ".join(f"c{n}" for n in range(len(EVENT_ROW_COLUMNS)))
    select = ", ".join(
        f"c{n}::jsonb" if column == "properties" else f"c{n}" for n, column in enumerate(EVENT_ROW_COLUMNS)
    )
    connection.ensure_connection()
    with Cursor(connection.connection) as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {select} FROM unnest({arrays}) AS rows({names}) "
            f"ON CONFLICT DO NOTHING{suffix}",
            [list(column) for column in zip(*rows, strict=True)],
            binary=True,
        )
        return [found[0] for found in cursor.fetchall()] if suffix else []


def _pg_copy_insert(
    connection: Any, *, table: str, columns: str, rows: Sequence[tuple[Any, ...]], suffix: str
) -> list[int]:
    # The staging table lives as long as the session and empties itself at every commit. It is created "if not
    # exists" on every write (one short statement): a transaction that rolls back takes a new table with it, so
    # remembering that it was made would be wrong exactly then.
    names = ", ".join(f"c{n}" for n in range(len(EVENT_ROW_COLUMNS)))
    select = ", ".join(
        f"c{n}::jsonb" if column == "properties" else f"c{n}" for n, column in enumerate(EVENT_ROW_COLUMNS)
    )
    definition = ", ".join(f"c{n} {kind}" for n, kind in enumerate(_PG_COPY_TYPES))
    with transaction.atomic(using=connection.alias, savepoint=False), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_PG_STAGING} ({definition}) ON COMMIT DELETE ROWS")
        with cursor.cursor.copy(f"COPY {_PG_STAGING} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(list(_PG_COPY_TYPES))
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {select} FROM {_PG_STAGING} ON CONFLICT DO NOTHING{suffix}"
        )
        return [found[0] for found in cursor.fetchall()] if suffix else []
