"""The full recompute's write when few figures changed: those rows alone, instead of a rebuilt table (ADR 0036).

The incremental refresh keeps the stats current as orders arrive, so the nightly full recompute mostly finds the
figures it already holds; it is there to catch what no order announced (a product moved to another category
changes favourites, a fix to an order's lines). Writing all of them again — a twin table copied in, indexed,
analysed and swapped (``table_swap``) — cost 2 of its 6 seconds at a million customers. Instead the stored figures
are read back as arrays (one statement per half of the table, queued after the recompute's own reads in its
snapshot: the server reads them while the client finishes its sums, ADR 0037), compared with the computed ones
column by column, exactly (floats by their bits), and only the customers whose figures differ, who are new, or who
no longer have a counted order are written, in one short transaction. Past ``REBUILD_SHARE`` of the customers (a
first run, a change of rules) the twin rebuild is cheaper, and the caller does that.

The table does not move meanwhile: the caller holds the stats lock, which every incremental refresh takes too.
A row keeps its ``refreshed_at`` while its figures stay the same (``StatsRecompute`` records each full run).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, fields

import numpy as np
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from tokui.analytics.models import CustomerStats
from tokui.analytics.pg_copy import concatenated, copied_values, copy_out, sent_int8
from tokui.analytics.pg_parallel import Read, beside_second_connection, taking_turns
from tokui.analytics.stats_arrays import StatsArrays
from tokui.analytics.stats_copy import copy_payload, copy_rows
from tokui.analytics.stats_reads import hundredths, in_blocks

# Above this share of customers written, deleting and inserting row by row costs more than rebuilding the table.
REBUILD_SHARE = 0.2
_NO_FLOAT = -1.0  # intervals are whole days between distinct days: 1 or more
# Three small values go in one int8 of 21 bits each (the output and transfer cost per value, as in reading
# does, ``stats_reads``): days from 2000-01-01 moved up by 2**20 (years 1871-4870), category ids plus one. The top
# code of a field says null; a stored value outside these ranges makes the packed value null (left out of its column:
# the read gives up).
_BITS = 21
_TOP = (1 << _BITS) - 1
_DAY_SHIFT = 1 << 20


def _day(column: str) -> str:
    return f"({column} - DATE '2000-01-01' + {_DAY_SHIFT})"


def _three(values: tuple[str, ...]) -> str:
    """Three SQL values in [0, _TOP] (nulls as _TOP) as one int8; null when any is out of range."""
    inside = " AND ".join(f"({value} IS NULL OR {value} BETWEEN 0 AND {_TOP - 1})" for value in values)
    high, middle, low = (f"COALESCE({value}, {_TOP})::int8" for value in values)
    return f"CASE WHEN {inside} THEN {high} * {1 << 2 * _BITS} + {middle} * {1 << _BITS} + {low} END"


# The stored figures as int8 (floats as float8, compared by their bits), in the order of ``Stored``'s fields.
_COLUMNS = (
    sent_int8("COALESCE(company_id, -contact_id)"),
    sent_int8(_three((_day("first_order_on"), _day("last_order_on"), _day("predicted_next_order_on")))),
    sent_int8("order_count::int8 * 2147483648 + order_days"),
    sent_int8(hundredths("total_spend", 1)),
    sent_int8(hundredths("average_spend", 1)),
    f"float8send(COALESCE(average_interval_days, '{_NO_FLOAT}'::float8))",
    f"float8send(COALESCE(median_interval_days, '{_NO_FLOAT}'::float8))",
    sent_int8(_three(tuple(f"(COALESCE(favourite_category_{rank}_id, -1) + 1)" for rank in (1, 2, 3)))),
)


@dataclass(frozen=True, slots=True)
class Stored:
    """Every stored row's figures, packed as ``_COLUMNS`` reads them, ascending by customer key."""

    ckey: np.ndarray
    days: np.ndarray
    counts: np.ndarray
    spend: np.ndarray
    average_spend: np.ndarray
    average_interval: np.ndarray
    median_interval: np.ndarray
    favourites: np.ndarray


class StoredRead:
    """The stored rows read as arrays in ``PARTS`` runs of the table's blocks, each by whichever connection is free
    (``reads``): the full recompute queues them after its own reads, so that the server reads them while the
    computation keeps the client busy, and a connection free early takes more of them (the table does not move
    meanwhile: the stats lock is held)."""

    PARTS = 6

    def __init__(self) -> None:
        self.table = connection.ops.quote_name(CustomerStats._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_relation_size(%s) / current_setting('block_size')::int8", [self.table])
            blocks = int(cursor.fetchone()[0])
        # Block boundaries: the last run is open-ended (rows past the size seen here are read too).
        starts = [blocks * part // self.PARTS for part in range(self.PARTS)]
        ends: list[int | None] = [*starts[1:], None]
        self.ranges = [in_blocks(start, end) for start, end in zip(starts, ends, strict=True)]
        self.parts: list[list[np.ndarray] | None] = [None] * self.PARTS
        self.unreadable = False  # a stored value outside the packed ranges

    def reads(self) -> list[Read]:
        return [functools.partial(self._read, index=index) for index in range(self.PARTS)]

    def _read(self, cursor: CursorWrapper, index: int) -> None:
        statement = (
            f"COPY (SELECT {concatenated(_COLUMNS)} FROM {self.table} WHERE {self.ranges[index]}) "
            "TO STDOUT (FORMAT BINARY)"
        )
        try:
            self.parts[index] = copied_values(copy_out(cursor, statement), len(_COLUMNS))
        except ValueError:
            self.unreadable = True

    def figures(self) -> Stored | None:
        """The stored rows (every part read), or None when a value could not be read packed."""
        if self.unreadable:
            return None
        parts = [part for part in self.parts if part is not None]
        if len(parts) != self.PARTS:
            raise RuntimeError("the stored figures were not read")
        columns = [np.concatenate(pair) for pair in zip(*parts, strict=True)]
        order = np.argsort(columns[0], kind="stable")
        return Stored(*(column[order] for column in columns))


def stored_figures() -> Stored | None:
    """The stored rows, read now on this connection and a second one, each taking the next part when free."""
    stored = StoredRead()
    work = taking_turns(stored.reads())

    def on_this() -> None:
        with connection.cursor() as cursor:
            work(cursor)

    beside_second_connection(on_this, work, failure=[], name="stats-stored")
    return stored.figures()


def _packed(high: np.ndarray, middle: np.ndarray, low: np.ndarray) -> np.ndarray | None:
    """``_three`` in arrays (values already moved into range, nulls as ``_TOP``); None when any is outside."""
    for values in (high, middle, low):
        if values.size and (int(values.min()) < 0 or int(values.max()) > _TOP):
            return None
    packed: np.ndarray = (high << 2 * _BITS) + (middle << _BITS) + low
    return packed


def _computed_columns(stats: StatsArrays) -> list[np.ndarray] | None:
    """The computed figures as ``Stored`` holds them (null where the SQL leaves them null); None when a value is
    outside the packed ranges (the table is then rebuilt)."""
    interval = stats.has_interval
    predicted = np.where(interval, stats.predicted_day + _DAY_SHIFT, _TOP)
    days = _packed(stats.first_day + _DAY_SHIFT, stats.last_day + _DAY_SHIFT, predicted)
    favourites = stats.favourites + 1
    categories = _packed(favourites[:, 0], favourites[:, 1], favourites[:, 2])
    if days is None or categories is None:
        return None
    no_float = np.float64(_NO_FLOAT).view(np.int64)
    return [
        stats.ckey,
        days,
        (stats.orders << 31) + stats.days,
        stats.spend,
        stats.average_spend,
        np.where(interval, stats.average_interval.view(np.int64), no_float),
        np.where(interval, stats.median_interval.view(np.int64), no_float),
        categories,
    ]


@dataclass(frozen=True, slots=True)
class Changes:
    written: np.ndarray  # positions in the computed arrays of the customers to write (new or changed)
    replaced: np.ndarray  # customer keys whose stored row goes (changed, or no longer computed)


def changes(stats: StatsArrays, stored: Stored) -> Changes | None:
    """Which computed rows differ from the stored ones (``stats.ckey`` ascending and distinct, as computed);
    None when the figures cannot be compared packed."""
    computed = _computed_columns(stats)
    if computed is None:
        return None
    keys = stored.ckey
    if keys.size == 0:
        return Changes(written=np.arange(stats.ckey.size), replaced=keys)
    spot = np.minimum(np.searchsorted(keys, stats.ckey), keys.size - 1)
    found = keys[spot] == stats.ckey
    differs = ~found
    stored_columns = [getattr(stored, field.name) for field in fields(Stored)]
    for mine, theirs in zip(computed[1:], stored_columns[1:], strict=True):
        differs |= mine != theirs[spot]
    written = np.flatnonzero(differs)
    kept = np.zeros(keys.size, dtype=bool)
    kept[spot[found]] = True
    gone = keys[~kept]
    changed = stats.ckey[written[found[written]]]
    return Changes(written=written, replaced=np.concatenate([gone, changed]))


def _subset(stats: StatsArrays, rows: np.ndarray) -> StatsArrays:
    return StatsArrays(**{field.name: getattr(stats, field.name)[rows] for field in fields(StatsArrays)})


def stats_write_changes(*, stats: StatsArrays, stored: Stored | None, refreshed_at: dt.datetime) -> bool:
    """Write only the rows that changed from ``stored`` (read under the same stats lock); ``False`` (nothing
    written) when the table should rather be rebuilt."""
    if stored is None:
        return False  # a stored value outside the packed ranges
    found = changes(stats, stored)
    # An empty table (a first fill) has every row new: past the share, so the twin is built without index upkeep.
    if found is None or found.written.size + found.replaced.size > REBUILD_SHARE * max(
        stats.ckey.size, stored.ckey.size
    ):
        return False
    if found.written.size == 0 and found.replaced.size == 0:
        return True
    names, parts = copy_payload(_subset(stats, found.written), refreshed_at, first_id=None)
    table = connection.ops.quote_name(CustomerStats._meta.db_table)
    replaced = found.replaced
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE company_id = ANY(%s::int8[]) OR contact_id = ANY(%s::int8[])",
            [[int(key) for key in replaced[replaced > 0]], [int(-key) for key in replaced[replaced < 0]]],
        )
        copy_rows(cursor, CustomerStats._meta.db_table, names, parts)
    return True
