"""The full recompute of the per-customer stats on PostgreSQL: rows out as arrays, figures in NumPy, rows in by COPY.

The one ``INSERT … SELECT`` of ``stats_sql`` took a minute at 1M customers and 10M order lines: PostgreSQL
hash-joins the lines with the orders, sorts and hashes for the window functions and groups, spilling to disk, all
on one core. Here the counted orders and the lines leave the database once, as integer arrays (``stats_reads``:
``string_agg`` of sent values over runs of table blocks, by a binary ``COPY``, several fields packed in one
value), on two connections that share one snapshot: the one that reads the last run of orders computes their
figures (``stats_arrays``) while the other reads lines, whose spend is summed per customer and category as each
run arrives; the stored figures are read last, in the same snapshot (``stats_changes``). Only the rows that
changed are written (ADR 0036); when many did, the rows go back by one binary ``COPY`` into a twin of the table
that is then swapped in (``table_swap``), so pages read the previous figures until the new ones are complete
(ADR 0023).

While it runs, incremental refreshes wait on an advisory lock (``refresh_lock_sql``): one that started earlier is
finished before the snapshot is taken, one that comes later runs on the swapped-in table. Either way every order
is counted by the full recompute or by a refresh after it.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from tokui.analytics.models import CustomerStats
from tokui.analytics.pg_parallel import (
    Read,
    beside_second_connection,
    join_snapshot,
    shared_snapshot,
    taking_turns,
)
from tokui.analytics.stats_arrays import (
    CategorySpend,
    LineRows,
    OrderFigures,
    OrderRows,
    Products,
    StatsArrays,
    local_days,
    order_figures,
    orders_exact,
)
from tokui.analytics.stats_changes import StoredRead, stats_write_changes
from tokui.analytics.stats_copy import copy_payload, copy_rows
from tokui.analytics.stats_reads import Run, runs
from tokui.analytics.table_swap import rebuild_beside
from tokui.catalog.models import Product
from tokui.core.money import minor_units
from tokui.core.time import site_zone

# Advisory lock key: the full recompute holds it exclusively, each incremental refresh shared.
STATS_LOCK = "tokui.analytics.stats"


def refresh_lock_sql() -> str:
    """Taken (shared) by every incremental refresh on PostgreSQL, exclusively by the full recompute."""
    return f"SELECT pg_advisory_xact_lock_shared(hashtext('{STATS_LOCK}'))"


def _columns_of(parts: list[Run], found: dict[Run, list[np.ndarray]]) -> list[np.ndarray]:
    return [np.concatenate(column) for column in zip(*(found[part] for part in parts), strict=True)]


def _order_rows(columns: list[np.ndarray]) -> OrderRows:
    order_id, ckey, placed, total = columns
    return OrderRows(order_id=order_id, ckey=ckey, day=local_days(placed, site_zone()), total=total)


def _line_rows(fields: list[np.ndarray]) -> LineRows:
    order_id, product_id, amount = fields
    return LineRows(order_id=order_id, product_id=product_id, amount=amount)


def _products() -> Products:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, category_id FROM {Product._meta.db_table} WHERE category_id IS NOT NULL")
        rows = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 2)
    return Products(product_id=rows[:, 0], category_id=rows[:, 1])


class _Computation:
    """The orders' figures once every run of orders is read, and the lines' category spend as each run of lines
    is read (by either connection); lines read before the figures exist wait in ``waiting``. The thread that adds
    the last run of lines chooses the favourites at once, while the other connection goes on to the reads queued
    after the lines."""

    def __init__(self, currency: str) -> None:
        self.places = minor_units(currency)
        self.order_parts: list[Run] = []
        self.order_columns: dict[Run, list[np.ndarray]] = {}
        self.products = Products(np.empty(0, np.int64), np.empty(0, np.int64))  # read at the snapshot
        self.figures: OrderFigures | None = None
        self.spend: CategorySpend | None = None
        self.waiting: list[list[np.ndarray]] = []
        self.lines_to_add = 0
        self.favourites: np.ndarray | None = None
        self.hopeless = False  # nothing to compute in arrays: the remaining reads are skipped
        self.lock = threading.Lock()

    def start(self, order_parts: list[Run], line_parts: list[Run], products: Products) -> None:
        self.order_parts, self.order_columns = order_parts, {}
        self.lines_to_add = len(line_parts)
        self.products = products

    def part_read(self, part: Run, columns: list[np.ndarray]) -> None:
        """Called by the thread that read ``part``; the one that reads the last run of orders computes their
        figures (the other reads on)."""
        if part not in self.order_parts:
            self.lines_read(columns)
            return
        with self.lock:
            self.order_columns[part] = columns
            complete = len(self.order_columns) == len(self.order_parts)
        if complete:
            self.orders_read(_columns_of(self.order_parts, self.order_columns))
            self.order_columns = {}

    def orders_read(self, columns: list[np.ndarray]) -> None:
        orders = _order_rows(columns)
        if orders.order_id.size == 0 or not orders_exact(orders):
            self.hopeless = True
            return
        figures = order_figures(orders, places=self.places)
        spend = CategorySpend(
            order_id=figures.order_id,
            order_customer=figures.order_customer,
            products=self.products,
            customers=figures.stats.ckey.size,
        )
        with self.lock:
            self.figures, self.spend = figures, spend
            waiting, self.waiting = self.waiting, []
        for columns_read in waiting:
            self._add(spend, columns_read)

    def lines_read(self, columns: list[np.ndarray]) -> None:
        with self.lock:
            spend = self.spend
            if spend is None:
                self.waiting.append(columns)
                return
        self._add(spend, columns)

    def _add(self, spend: CategorySpend, columns: list[np.ndarray]) -> None:
        spend.add(_line_rows(columns))
        with self.lock:
            self.lines_to_add -= 1
            last = self.lines_to_add == 0
        if last:
            self.favourites = spend.favourites()

    def result(self) -> StatsArrays | None:
        if self.hopeless or self.figures is None or self.spend is None or not self.spend.exact():
            return None
        # No lines at all: nothing chose them yet.
        favourites = self.favourites if self.favourites is not None else self.spend.favourites()
        return replace(self.figures.stats, favourites=favourites)


def stats_compute(*, currency: str, also: Sequence[Read] = ()) -> StatsArrays | None:
    """Every customer's stats in arrays: the orders read and their figures computed, the lines summed per
    customer and category as they are read, the favourites chosen; then the reads ``also`` gives (in the same
    snapshot, while the lines' sums finish). Outside a transaction a second connection reads at the same snapshot
    meanwhile; inside one (whose uncommitted rows another connection cannot see) this one reads all. ``None``:
    nothing to compute, or sums too large to compute exactly in arrays (the SQL then computes)."""
    computation = _Computation(currency)
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            order_parts, line_parts = runs(cursor, currency)
            computation.start(order_parts, line_parts, _products())
            for read in _reads(computation, order_parts + line_parts, also):
                if computation.hopeless:
                    break
                read(cursor)
    else:
        _read_on_two(currency, computation, also)
    return computation.result()


def _reads(computation: _Computation, parts: list[Run], also: Sequence[Read]) -> list[Read]:
    def reading(part: Run) -> Read:
        return lambda cursor: computation.part_read(part, part.read(cursor))

    return [reading(part) for part in parts] + list(also)


def _read_on_two(currency: str, computation: _Computation, also: Sequence[Read]) -> None:
    """This connection and a second one read the runs of orders, then of lines, then ``also``, as they come; the
    one that reads the last run of orders computes their figures while the other reads on."""
    failure: list[BaseException] = []
    with transaction.atomic(), connection.cursor() as cursor:
        snapshot = shared_snapshot(cursor)
        # The plans are simple scans: compiling them would cost more than it saves.
        cursor.execute("SET LOCAL jit = off")
        order_parts, line_parts = runs(cursor, currency)
        computation.start(order_parts, line_parts, _products())
        work = taking_turns(
            _reads(computation, order_parts + line_parts, also), stop=lambda: bool(failure) or computation.hopeless
        )

        def second(their: CursorWrapper) -> None:
            join_snapshot(their, snapshot)
            their.execute("SET LOCAL jit = off")
            work(their)

        beside_second_connection(lambda: work(cursor), second, failure=failure, name="stats-lines")


def _copy_in_on_two(table: str, names: list[str], parts: list[np.ndarray]) -> None:
    """Half of every part's rows copied by a second connection meanwhile (committed on its own: the table is a
    twin no one reads, dropped if anything fails)."""
    first = [part[: part.shape[0] // 2] for part in parts]
    second = [part[part.shape[0] // 2 :] for part in parts]

    def copy_first() -> None:
        with connection.cursor() as cursor:
            copy_rows(cursor, table, names, first)

    beside_second_connection(
        copy_first, lambda their: copy_rows(their, table, names, second), failure=[], name="stats-copy"
    )


def stats_replace_all(*, currency: str, refreshed_at: dt.datetime, fallback: Callable[[], int]) -> int:
    """Replace every stats row by the figures computed in arrays (``fallback`` when those cannot be); the
    rows' count. Outside a transaction the rows go into a twin swapped in; inside one, into the table itself."""
    table = CustomerStats._meta.db_table
    quote = connection.ops.quote_name
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_xact_lock(hashtext('{STATS_LOCK}'))")
        stats = stats_compute(currency=currency)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {quote(table)}")
            if stats is None:
                return fallback()
            names, parts = copy_payload(stats, refreshed_at, first_id=None)
            copy_rows(cursor, table, names, parts)
        return int(stats.ckey.size)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_advisory_lock(hashtext('{STATS_LOCK}'))")
    try:
        # The stored figures are read after the orders and lines, in the same snapshot: the server reads them
        # while the client still sums the last lines.
        stored = StoredRead()
        stats = stats_compute(currency=currency, also=stored.reads())
        if stats is None:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {quote(table)}")
                return fallback()
        if stats_write_changes(stats=stats, stored=stored.figures(), refreshed_at=refreshed_at):
            return int(stats.ckey.size)
        names, parts = copy_payload(stats, refreshed_at, first_id=1)

        def fill(twins: dict[str, str]) -> None:
            _copy_in_on_two(twins[table], names, parts)
            with connection.cursor() as cursor:
                # The twin has the column but not its identity (the live table's sequence goes with it).
                cursor.execute(
                    f"ALTER TABLE {quote(twins[table])} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY "
                    f"(START WITH {stats.ckey.size + 1})"
                )

        rebuild_beside([table], fill)
        return int(stats.ckey.size)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_advisory_unlock(hashtext('{STATS_LOCK}'))")
