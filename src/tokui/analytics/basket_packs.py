"""Past days' basket lines packed one value a day, for the basket screen (ADR 0053). PostgreSQL only.

The screen counts the pairs and sets of a period's (order, product) lines when it is read. Over a year at 3M orders
that is 5.1M line facts, and reading them from the basket index took 0.5-0.7 s of the page's second even over two
connections: an index entry, a sent value and an append per line. The lines of a past day change rarely, so each
day's are kept packed in one ``bytea`` (``BasketDayPack``): a year is 365 values, 41 MB, read in under 0.1 s.

The packs are a cache of the line facts, kept exact by the database rather than by every writer:

- a trigger on the line facts (migration ``analytics.0028``) deletes the pack of every day whose lines are inserted,
  deleted or changed (a change to the buyer's chains alone, which the basket does not read, keeps it), and all of
  them on a truncate; the nightly rebuild swaps in a new line-fact table, so the swap recreates the trigger on it
  and deletes every pack in the same transaction (``table_swap``, ``sales_facts``);
- the worker packs the days without a pack every minute (``basket_packs_fill``) under a share lock on the line
  facts, so no write can commit between its read and its pack (a write waits for it, then deletes the pack);
- the screen reads, in one snapshot, the packs of the period's past days and the line facts of every other day
  (today, a day changed since the last minute, a day never packed): the same rows as without packs.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
from django.db import OperationalError, connection, transaction

from tokui.analytics.models import BasketDayPack, SalesLineFact
from tokui.analytics.pg_copy import COPY_SIGNATURE, copy_out
from tokui.core.time import local_today

# Each line is ``order_id << 32 | product_id``: a day with an order id from 2**31 or a product id from 2**32 on
# is not packed (its lines are read from the facts).
_PRODUCT_BITS = 32
# The worker keeps packs for this many days back: the screen's longest usual period (two years) and a margin.
PACKED_DAYS = 800
# Days packed per transaction: the share lock holds the order-fact consumer back for about 0.1 s at most.
_DAYS_PER_FILL = 31
# The fill waits this long for a writer of the line facts, else tries again on the next minute.
_LOCK_TIMEOUT = "2s"
# PostgreSQL's binary dates count days from 2000-01-01.
_PG_EPOCH = dt.date(2000, 1, 1)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _fill_sql() -> str:
    """Pack each of the days given (a ``date[]``): its distinct (order, product) keys in ascending order, or
    nothing when a key would not fit (NULL there, so ``bool_and`` is false)."""
    packs, facts = _q(BasketDayPack._meta.db_table), _q(SalesLineFact._meta.db_table)
    order_limit, product_limit = 1 << (63 - _PRODUCT_BITS), 1 << _PRODUCT_BITS
    key = (
        f"CASE WHEN f.order_id < {order_limit} AND f.product_id < {product_limit}"
        f" THEN f.order_id::int8 * {product_limit} + f.product_id END"
    )
    return (
        f"INSERT INTO {packs} (day, lines, built_at) "
        "SELECT d.day, COALESCE(p.lines, ''::bytea), now() FROM unnest(%s::date[]) AS d(day) "
        "CROSS JOIN LATERAL (SELECT string_agg(int8send(k.key), NULL ORDER BY k.key) AS lines,"
        " bool_and(k.key IS NOT NULL) AS fits "
        f"FROM (SELECT DISTINCT {key} AS key FROM {facts} f WHERE f.day = d.day AND f.product_id IS NOT NULL) k) p "
        "WHERE p.fits IS NOT FALSE "
        "ON CONFLICT (day) DO NOTHING"
    )


def basket_packs_fill(*, days: int = PACKED_DAYS, today: dt.date | None = None) -> int:
    """Pack the past ``days`` days (up to yesterday) that have no pack, the latest first, and drop the packs of
    days before them; returns the days packed.

    Each batch takes a share lock on the line facts: writers wait for it (and then delete the pack of any day they
    change), so a pack holds exactly the lines committed when it was made. A writer holding the lock longer than
    ``_LOCK_TIMEOUT`` makes this stop; the next minute goes on."""
    if connection.vendor != "postgresql":
        return 0
    today = today or local_today()
    with connection.cursor() as cursor:
        # Days further back are read from the facts (a rarer, longer period): their packs are not kept either.
        cursor.execute(
            f"DELETE FROM {_q(BasketDayPack._meta.db_table)} WHERE day < %s", [today - dt.timedelta(days=days)]
        )
        cursor.execute(
            f"SELECT d::date FROM generate_series(%s::date, %s::date, '1 day') d WHERE NOT EXISTS "
            f"(SELECT 1 FROM {_q(BasketDayPack._meta.db_table)} p WHERE p.day = d::date) ORDER BY 1 DESC",
            [today - dt.timedelta(days=days), today - dt.timedelta(days=1)],
        )
        missing = [row[0] for row in cursor.fetchall()]
    packed = 0
    for start in range(0, len(missing), _DAYS_PER_FILL):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{_LOCK_TIMEOUT}'")
                cursor.execute(f"LOCK TABLE {_q(SalesLineFact._meta.db_table)} IN SHARE MODE")
                cursor.execute(_fill_sql(), [missing[start : start + _DAYS_PER_FILL]])
                packed += max(int(cursor.rowcount), 0)
        except OperationalError:  # the lock was not granted in time
            break
    return packed


def basket_packs_clear(cursor: Any) -> None:
    """Delete every pack (the line facts were replaced as a whole), on the caller's cursor and transaction."""
    cursor.execute(f"DELETE FROM {_q(BasketDayPack._meta.db_table)}")


def packed_lines(cursor: Any, *, first_day: dt.date, after_day: dt.date) -> tuple[list[dt.date], np.ndarray]:
    """The packed days in [first_day, after_day) and their lines' keys, in one ``COPY`` (binary: raw bytes, no
    hex text to decode), on the caller's cursor and snapshot."""
    data = copy_out(
        cursor,
        f"COPY (SELECT day, lines FROM {_q(BasketDayPack._meta.db_table)} WHERE day >= %s AND day < %s ORDER BY day)"
        " TO STDOUT (FORMAT BINARY)",
        [first_day, after_day],
    )
    days: list[dt.date] = []
    parts: list[np.ndarray] = []
    view, position = memoryview(data), len(COPY_SIGNATURE)
    # Each row: field count (2 bytes), the date's length and days since 2000-01-01, the lines' length and bytes.
    while struct.unpack_from(">h", view, position)[0] == 2:
        _, offset, size = struct.unpack_from(">iii", view, position + 2)
        days.append(_PG_EPOCH + dt.timedelta(days=offset))
        start = position + 14
        parts.append(np.frombuffer(view[start : start + size], dtype=">i8"))
        position = start + size
    keys = np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)
    return days, keys


def unpacked(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (order ids, product ids) of packed keys."""
    return keys >> np.int64(_PRODUCT_BITS), keys & np.int64((1 << _PRODUCT_BITS) - 1)


def days_left(first_day: dt.date, after_day: dt.date, packed: Sequence[dt.date]) -> list[dt.date]:
    """The days in [first_day, after_day) without a pack."""
    have = set(packed)
    return [
        day
        for day in (first_day + dt.timedelta(days=n) for n in range((after_day - first_day).days))
        if day not in have
    ]
