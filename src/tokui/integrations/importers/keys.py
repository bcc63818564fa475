"""The first pass over a file: every record key with the rows it is on, kept on disk, not in memory.

A key that occurs twice in one file is ambiguous (which row is right?), so all its rows are refused, with the row
numbers. Finding that needs every key of the file, which for a million rows is more than a worker should hold in
memory; a throw-away SQLite file in the job's temporary directory holds them instead, and the second pass asks
it about each batch's keys. Orders are runs of rows with the same number: the same number in two places is a
duplicate, one run is one order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from django.utils.translation import gettext as _

from tokui.integrations.importers.base import ColumnMap, Importer
from tokui.integrations.importers.reading import SourceRow

FLUSH_EVERY = 5000
SHOWN_PLACES = 10


class KeyIndex:
    """Keys of one file and what is wrong with them (duplicates, over-long orders)."""

    def __init__(self, directory: Path) -> None:
        self._db = sqlite3.connect(directory / "keys.sqlite3")
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE runs (key TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL, n INTEGER)"
        )
        self._pending: list[tuple[str, int, int, int]] = []
        self.has_problems = False
        self.rows = 0

    def close(self) -> None:
        self._db.close()

    def _flush(self) -> None:
        if self._pending:
            self._db.executemany("INSERT INTO runs VALUES (?, ?, ?, ?)", self._pending)
            self._pending = []

    def scan(self, rows: Iterable[SourceRow], importer: Importer, columns: ColumnMap) -> Iterator[int]:
        """Read every row's key; yields the number of rows read so far every ``FLUSH_EVERY`` rows (for progress)."""
        run_key, run_first, run_last, run_length = "", 0, 0, 0
        for row in rows:
            self.rows += 1
            key = importer.key_of(row, columns)
            if importer.groups_rows and key and key == run_key:
                run_last, run_length = row.number, run_length + 1
            else:
                if run_key:
                    self._pending.append((run_key, run_first, run_last, run_length))
                run_key, run_first, run_last, run_length = key, row.number, row.number, 1
            if len(self._pending) >= FLUSH_EVERY:
                self._flush()
                yield self.rows
        if run_key:
            self._pending.append((run_key, run_first, run_last, run_length))
        self._flush()

    def find_problems(self, *, grouped: bool, max_group: int) -> None:
        """Work out the keys that are duplicated (and, for orders, too long) once every key has been read."""
        db = self._db
        db.execute("CREATE INDEX runs_key ON runs (key, first)")
        db.execute(
            "CREATE TABLE problems (key TEXT PRIMARY KEY, kind TEXT, places TEXT, places_count INTEGER, n INTEGER)"
        )
        db.execute(
            """
            INSERT INTO problems
            SELECT key, 'duplicate', group_concat(span, ', '), max(c), max(n) FROM (
                SELECT key,
                       CASE WHEN first = last THEN printf('%,d', first) ELSE printf('%,d–%,d', first, last) END AS span,
                       row_number() OVER (PARTITION BY key ORDER BY first) AS place,
                       count(*) OVER (PARTITION BY key) AS c,
                       n
                FROM runs
            ) WHERE c > 1 AND place <= ? GROUP BY key
            """,
            (SHOWN_PLACES,),
        )
        if grouped:
            db.execute(
                """
                INSERT OR IGNORE INTO problems
                SELECT key, 'too_long', printf('%,d–%,d', first, last), 1, n FROM runs WHERE n > ?
                """,
                (max_group,),
            )
        db.execute("DROP TABLE runs")
        self.has_problems = db.execute("SELECT EXISTS (SELECT 1 FROM problems)").fetchone()[0] == 1
        db.commit()

    def problems_for(self, keys: list[str], *, grouped: bool, max_group: int) -> dict[str, str]:
        """Messages for the keys of one batch that must be refused (one query, and none when the file is clean)."""
        if not self.has_problems or not keys:
            return {}
        messages: dict[str, str] = {}
        unique = sorted(set(keys))
        for start in range(0, len(unique), 900):
            chunk = unique[start : start + 900]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, kind, places, places_count, n FROM problems WHERE key IN ({marks})",
                chunk,
            )
            for key, kind, places, count, length in rows:
                shown = places + (" …" if count > SHOWN_PLACES else "")
                if kind == "too_long":
                    messages[key] = _(
                        "Order “%(key)s” has %(lines)s lines (rows %(rows)s); at most %(max)s lines can be imported "
                        "per order. Check the order numbers."
                    ) % {"key": key, "lines": f"{length:,}", "rows": places, "max": f"{max_group:,}"}
                elif grouped:
                    messages[key] = _(
                        "Order number “%(key)s” appears in separate places in the file (rows %(rows)s). Put all "
                        "lines of an order together, or give different orders different numbers."
                    ) % {"key": key, "rows": shown}
                else:
                    messages[key] = _(
                        "“%(key)s” appears %(count)s times in this file (rows %(rows)s), so it is not clear which row "
                        "is right. Keep one row for it and import again."
                    ) % {"key": key, "count": f"{count:,}", "rows": shown}
        return messages
