"""The stats rows as binary ``COPY`` data made from the arrays, and the copy into a table (ADR 0023)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db import connection
from django.db.backends.utils import CursorWrapper

from tokui.analytics.pg_copy import COPY_SIGNATURE, COPY_TRAILER
from tokui.analytics.stats_arrays import StatsArrays
from tokui.analytics.stats_sql import MONEY_SCALE

# PostgreSQL's binary dates and timestamps count from 2000-01-01 (UTC).
_EPOCH_TS = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    kind: str  # int4, int8, float8, numeric (binary COPY types)
    nulls: np.ndarray | None
    values: np.ndarray


def _words(kind: str, values: np.ndarray) -> list[np.ndarray | int]:
    """A column's values in binary COPY form as 16-bit words, most significant first (length word pair first)."""
    if kind == "numeric":
        # Scale 2 with a fixed five base-10000 digits (weight 3: up to 10**16, past the column's 14 digits); the
        # server strips the leading zeros.
        magnitude = np.abs(values)
        whole = magnitude // MONEY_SCALE
        digits = [(whole // 10000 ** (3 - index)) % 10000 for index in range(4)]
        sign = np.where(values < 0, 0x4000, 0)
        return [0, 18, 5, 3, sign, 2, *digits, (magnitude % MONEY_SCALE) * (10000 // MONEY_SCALE)]
    if kind == "float8":
        values, kind = values.view(np.int64), "int8"
    width = 4 if kind == "int8" else 2
    return [0, 2 * width] + [values >> (16 * (width - 1 - index)) for index in range(width)]


def _columns(stats: StatsArrays, refreshed_at: dt.datetime, first_id: int | None) -> list[_Column]:
    """The copied columns in order: name, binary type, null mask (None: never null), values."""
    days, favourites = np.int64, stats.favourites
    columns = [
        _Column("company_id", "int8", stats.ckey < 0, stats.ckey),
        _Column("contact_id", "int8", stats.ckey > 0, -stats.ckey),
        _Column("first_order_on", "int4", None, stats.first_day.astype(days)),
        _Column("last_order_on", "int4", None, stats.last_day.astype(days)),
        _Column("order_count", "int4", None, stats.orders),
        _Column("order_days", "int4", None, stats.days),
        _Column("total_spend", "numeric", None, stats.spend),
        _Column("average_spend", "numeric", None, stats.average_spend),
        _Column("average_interval_days", "float8", ~stats.has_interval, stats.average_interval),
        _Column("median_interval_days", "float8", ~stats.has_interval, stats.median_interval),
        _Column("predicted_next_order_on", "int4", ~stats.has_interval, stats.predicted_day),
        _Column("favourite_category_1_id", "int8", favourites[:, 0] < 0, favourites[:, 0]),
        _Column("favourite_category_2_id", "int8", favourites[:, 1] < 0, favourites[:, 1]),
        _Column("favourite_category_3_id", "int8", favourites[:, 2] < 0, favourites[:, 2]),
        _Column(
            "refreshed_at",
            "int8",
            None,
            np.full(stats.ckey.size, (refreshed_at - _EPOCH_TS) // dt.timedelta(microseconds=1), np.int64),
        ),
    ]
    if first_id is not None:
        columns.insert(0, _Column("id", "int8", None, np.arange(first_id, first_id + stats.ckey.size)))
    return columns


def copy_payload(
    stats: StatsArrays, refreshed_at: dt.datetime, *, first_id: int | None
) -> tuple[list[str], list[np.ndarray]]:
    """The column names and the binary ``COPY`` rows (ids from ``first_id`` when given), in matrices of rows.

    Binary rows are fixed-width only while the same columns are null, so the rows are made in groups of one
    null pattern each: every group a matrix of 16-bit words (one row per column word, so each is filled by one
    array operation) turned into rows of big-endian bytes by one transposing copy."""
    columns = _columns(stats, refreshed_at, first_id)
    pattern = np.zeros(stats.ckey.size, np.int64)
    nullable = [(column.name, column.nulls) for column in columns if column.nulls is not None]
    for bit, (_, nulls) in enumerate(nullable):
        pattern |= nulls.astype(np.int64) << bit
    parts: list[np.ndarray] = []
    for value in np.unique(pattern):
        rows = np.flatnonzero(pattern == value)
        null = {name for bit, (name, _) in enumerate(nullable) if int(value) >> bit & 1}
        words: list[np.ndarray | int] = [len(columns)]
        for column in columns:
            words += [0xFFFF, 0xFFFF] if column.name in null else _words(column.kind, column.values[rows])
        matrix = np.empty((len(words), rows.size), np.uint16)
        for index, word in enumerate(words):
            matrix[index] = word
        parts.append(matrix.T.astype(">u2"))
    return [column.name for column in columns], parts


def copy_rows(cursor: CursorWrapper, table: str, names: list[str], parts: list[np.ndarray]) -> None:
    quote = connection.ops.quote_name
    statement = f"COPY {quote(table)} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
    with cursor.cursor.copy(statement) as copy:
        copy.write(COPY_SIGNATURE)
        for part in parts:
            if part.size == 0:
                continue
            data = memoryview(np.ascontiguousarray(part)).cast("B")
            for start in range(0, len(data), 1 << 22):
                copy.write(data[start : start + (1 << 22)])
        copy.write(COPY_TRAILER)
