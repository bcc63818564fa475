"""PostgreSQL's binary COPY format, for the reads and writes that move millions of rows as arrays.

The basket's fallback read, the stats recompute's reads and its write all speak it; the format's fixed parts are
here once.
"""

from __future__ import annotations

import struct
from typing import Any

from django.db.backends.utils import CursorWrapper

# The header: signature (11 bytes), flags (4), header extension length (4); the trailer: a field count of -1.
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = b"\xff\xff"


def copy_out(cursor: CursorWrapper, statement: str, params: Any = None) -> bytes:
    """The whole output of a ``COPY … TO STDOUT (FORMAT BINARY)``, header and trailer included, as one buffer."""
    with cursor.cursor.copy(statement, params) as copy:
        blocks = [bytes(block) for block in copy]
    return blocks[0] if len(blocks) == 1 else b"".join(blocks)
