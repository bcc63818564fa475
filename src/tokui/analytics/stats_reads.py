"""The full stats recompute's reads: counted orders and order lines out of PostgreSQL as int64 arrays, cheaply.

Each run of table blocks is read by one ``COPY (SELECT string_agg(int8send(…), NULL), … FROM t WHERE <TID
range>)`` in binary: one row of concatenated 8-byte values instead of one message per row (the driver reads row
messages ten times slower than the server writes them), decoded by ``numpy.frombuffer``. What the server spends is
per value sent (the aggregate, the send function and the append cost about as much as reading the row; an
``array_agg`` with its array's output cost a fifth more, ADR 0037) and per numeric operation, so:

- several fields go in one ``int8`` value where they fit: a line's amount, order id and product id; an order's
  total and id. The bit widths come from the largest ids; the amount takes the high bits, where a value too large
  for its share overflows the integer multiplication and raises instead of spilling into the ids. Such a run is
  read again in the next, wider form (and every later run too): slower, never wrong;
- a line's amount comes as integer hundredths the database keeps beside it (``OrderLine.amount_hundredths``, a
  stored generated column): the numeric-to-integer work per line was a third of the lines' read. An order's total
  is read as integer hundredths without numeric arithmetic where it can be: ``(total * 100)::int8`` costs a
  numeric multiplication per row (twice the cast's cost), so whole amounts (``min_scale`` 0: in yen, all) are cast
  first and multiplied as integers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from django.db.backends.utils import CursorWrapper

from tokui.analytics.pg_copy import concatenated, copied_values, copy_out, sent_int8
from tokui.analytics.stats_sql import MONEY_SCALE
from tokui.catalog.models import Product
from tokui.commerce.enums import NON_REVENUE_STATUSES
from tokui.commerce.models import Order, OrderLine

# Table blocks per read (64 MB): a few hundred thousand rows per array, a dozen reads for 10M lines.
BLOCKS_PER_READ = 8192
# Packing is tried while the ids leave the money at least this many bits (hundredths, sign included).
_MONEY_BITS = 24
Decode = Callable[[list[np.ndarray]], list[np.ndarray]]


@dataclass(frozen=True, slots=True)
class Form:
    """One way to read a table's fields: the columns (8 bytes a row over ``t``, as ``concatenated`` takes them) and
    their decoding into the fields (order: id, customer key, placed at, total; line: order id, product id,
    amount)."""

    columns: tuple[str, ...]
    decode: Decode


class Source:
    """A table's rows to read, in its forms from the cheapest; ``form`` is the one in use (a wider one after an
    overflow, for every run read after it)."""

    def __init__(self, table: str, forms: list[Form], where: str, params: tuple[Any, ...]) -> None:
        self.table, self.forms, self.where, self.params = table, forms, where, params
        self.form = 0
        self.lock = threading.Lock()

    def read(self, cursor: CursorWrapper, first: int, end: int | None) -> list[np.ndarray]:
        """The fields of the rows in blocks ``first`` to before ``end`` (``None``: to the end of the table)."""
        while True:
            index = self.form
            form = self.forms[index]
            if index == len(self.forms) - 1:
                return form.decode(self._arrays(cursor, form, first, end))
            # A savepoint so that an overflow (the packed money too large) leaves the transaction usable.
            cursor.execute("SAVEPOINT stats_read")
            try:
                arrays = self._arrays(cursor, form, first, end)
            except psycopg.errors.NumericValueOutOfRange:
                cursor.execute("ROLLBACK TO SAVEPOINT stats_read")
                with self.lock:
                    self.form = max(self.form, index + 1)
                continue
            cursor.execute("RELEASE SAVEPOINT stats_read")
            return form.decode(arrays)

    def _arrays(self, cursor: CursorWrapper, form: Form, first: int, end: int | None) -> list[np.ndarray]:
        ranges = in_blocks(first, end, column="t.ctid")
        statement = (
            f"COPY (SELECT {concatenated(form.columns)} FROM {self.table} t WHERE {ranges} AND {self.where}) "
            "TO STDOUT (FORMAT BINARY)"
        )
        return copied_values(copy_out(cursor, statement, self.params), len(form.columns))


def in_blocks(first: int, end: int | None, *, column: str = "ctid") -> str:
    """A condition for the rows in table blocks ``first`` to before ``end`` (``None``: to the end of the table)."""
    condition = f"{column} >= '({first},0)'::tid"
    return condition if end is None else f"{condition} AND {column} < '({end},0)'::tid"


@dataclass(frozen=True, slots=True)
class Run:
    """Blocks ``first`` to before ``end`` of a source (``None``: to the end of the table, wherever that is by
    then)."""

    source: Source
    first: int
    end: int | None

    def read(self, cursor: CursorWrapper) -> list[np.ndarray]:
        return self.source.read(cursor, self.first, self.end)


def hundredths(column: str, factor: int) -> str:
    """``column`` (numeric with at most two decimals) × 100 × ``factor`` as ``int8``; raises when it does not fit."""
    scale = MONEY_SCALE * factor
    return f"CASE WHEN min_scale({column}) = 0 THEN {column}::int8 * {scale} ELSE ({column} * {scale})::int8 END"


def order_forms(order_bits: int) -> list[Form]:
    """The orders' forms: id and total packed, else each apart. The placed-at timestamp goes as sent
    (microseconds; the site-zone day is computed in arrays, ``AT TIME ZONE`` costing the server more than the rest
    of the row)."""
    ckey = sent_int8("CASE WHEN t.company_id IS NOT NULL THEN t.company_id ELSE -t.contact_id END")
    placed = "timestamptz_send(t.placed_at)"
    plain = Form(
        (sent_int8("t.id"), ckey, placed, sent_int8(hundredths("t.total", 1))),
        lambda arrays: arrays,
    )
    if order_bits + _MONEY_BITS > 63:
        return [plain]
    mask = (1 << order_bits) - 1
    packed = Form(
        (sent_int8(f"{hundredths('t.total', 1 << order_bits)} + t.id"), ckey, placed),
        lambda arrays: [arrays[0] & mask, arrays[1], arrays[2], arrays[0] >> order_bits],
    )
    return [packed, plain]


def line_forms(order_bits: int, product_bits: int) -> list[Form]:
    """The lines' forms: amount, order id and product id in one; the two ids in one and the amount apart; each
    apart."""
    amount = sent_int8("t.amount_hundredths")
    forms = []
    id_bits = order_bits + product_bits
    product_mask = (1 << product_bits) - 1
    if id_bits + _MONEY_BITS <= 63:
        ids = f"t.order_id::int8 * {1 << product_bits} + t.product_id"
        mask = (1 << id_bits) - 1
        forms.append(
            Form(
                (sent_int8(f"t.amount_hundredths * {1 << id_bits} + {ids}"),),
                lambda arrays: [
                    (arrays[0] & mask) >> product_bits,
                    arrays[0] & product_mask,
                    arrays[0] >> id_bits,
                ],
            )
        )
    if order_bits <= 31 and product_bits <= 31:
        # Two ids below 2**31 go as one.
        forms.append(
            Form(
                (sent_int8(f"t.order_id::int8 * {1 << 31} + t.product_id"), amount),
                lambda arrays: [arrays[0] >> 31, arrays[0] & ((1 << 31) - 1), arrays[1]],
            )
        )
    forms.append(Form((sent_int8("t.order_id"), sent_int8("t.product_id"), amount), lambda arrays: arrays))
    return forms


def runs(cursor: CursorWrapper, currency: str) -> tuple[list[Run], list[Run]]:
    """The counted orders and the lines with a product, each cut into runs of blocks."""
    order_table, line_table = Order._meta.db_table, OrderLine._meta.db_table
    cursor.execute(
        "SELECT pg_relation_size(%s) / current_setting('block_size')::int8, "
        "pg_relation_size(%s) / current_setting('block_size')::int8, "
        f"(SELECT MAX(id) FROM {order_table}), (SELECT MAX(id) FROM {Product._meta.db_table})",
        [order_table, line_table],
    )
    order_blocks, line_blocks, top_order, top_product = cursor.fetchone()
    # Read in the same snapshot as the rows: a line's order and product (foreign keys) are at most these.
    order_bits, product_bits = int(top_order or 0).bit_length(), int(top_product or 0).bit_length()
    orders = Source(
        order_table,
        order_forms(order_bits),
        "t.status NOT IN (%s, %s) AND t.currency = %s",
        (*NON_REVENUE_STATUSES, currency),
    )
    lines = Source(line_table, line_forms(order_bits, product_bits), "t.product_id IS NOT NULL", ())
    return _runs(orders, int(order_blocks)), _runs(lines, int(line_blocks))


def _runs(source: Source, blocks: int) -> list[Run]:
    starts = list(range(0, max(blocks, 1), BLOCKS_PER_READ))
    ends: list[int | None] = [*starts[1:], None]
    return [Run(source, first, end) for first, end in zip(starts, ends, strict=True)]
