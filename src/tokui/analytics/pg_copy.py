"""PostgreSQL's binary COPY format and concatenated values, for the reads and writes that move millions of rows.

The basket's reads, the stats recompute's reads and its write all speak them; the formats' fixed parts are here
once.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any

import numpy as np
from django.db.backends.utils import CursorWrapper

# The header: signature (11 bytes), flags (4), header extension length (4); the trailer: a field count of -1.
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = b"\xff\xff"


def copy_out(cursor: CursorWrapper, statement: str, params: Any = None) -> bytes:
    """The whole output of a ``COPY … TO STDOUT (FORMAT BINARY)``, header and trailer included, as one buffer."""
    with cursor.cursor.copy(statement, params) as copy:
        blocks = [bytes(block) for block in copy]
    return blocks[0] if len(blocks) == 1 else b"".join(blocks)


def sent_int8(expression: str) -> str:
    """``expression`` as ``int8``, sent as its 8 bytes (a column for ``concatenated``)."""
    return f"int8send(({expression})::int8)"


def int64_values(data: bytes, *, offset: int = 0, count: int = -1) -> np.ndarray:
    """Big-endian 8-byte values (as ``concatenated`` sends them) as native int64."""
    return np.frombuffer(data, dtype=">i8", count=count, offset=offset).astype(np.int64)


def concatenated(columns: Iterable[str]) -> str:
    """A select list concatenating each column's values over the rows into one ``bytea``: ``columns`` give 8 bytes
    a row (``int8send(…)``, ``float8send(…)``, ``timestamptz_send(…)``; never null). ``string_agg`` of the sent
    values costs the server a fifth less than ``array_agg`` and its array's output, which builds the array, copies
    it and then sends each element with its own length word."""
    return ", ".join(f"string_agg({column}, NULL)" for column in columns)


def copied_values(data: bytes, count: int) -> list[np.ndarray]:
    """The int64 columns of a binary COPY's one row of ``count`` fields from ``concatenated`` (a ``float8`` column
    comes as its values' bit patterns); a null field (no rows) is an empty column. ``ValueError`` when the columns
    differ in length: ``string_agg`` leaves out a null value, so some row had one."""
    columns = []
    position = len(COPY_SIGNATURE) + 2  # the header, then the row's field count
    for _ in range(count):
        (length,) = struct.unpack_from(">i", data, position)
        position += 4
        if length < 0:
            columns.append(np.empty(0, np.int64))
            continue
        columns.append(int64_values(data, offset=position, count=length // 8))
        position += length
    if len({column.size for column in columns}) > 1:
        raise ValueError("a concatenated column left out a null value")
    return columns
