"""Work split over this connection and a second one to the same database, for reads and writes of millions of rows.

PostgreSQL 15 runs one statement on one core, and the aggregate these reads use (``string_agg``) is not parallel
there; two connections each doing half use both cores of a small server. The stats recompute (reads and copy-in)
and the basket screen's read share this.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable

from django.db import connection, connections, transaction
from django.db.backends.utils import CursorWrapper

# One statement's work on whichever connection runs it.
Read = Callable[[CursorWrapper], None]


def beside_second_connection(
    main: Callable[[], None],
    second: Callable[[CursorWrapper], None],
    *,
    failure: list[BaseException],
    name: str,
) -> None:
    """``main`` on this connection while ``second`` runs in a thread on a second connection to the same database
    (in its own transaction, closed after); the first error of either is raised here once both are done.
    ``failure`` is shared with the work so it can stop early: an error of ``main`` is noted in it at once."""
    alias = connection.alias

    def run() -> None:
        other = connections[alias]
        try:
            with transaction.atomic(using=alias), other.cursor() as their:
                second(their)
        except BaseException as error:  # noqa: BLE001 (handed to the caller's thread)
            failure.append(error)
        finally:
            other.close()

    helper = threading.Thread(target=run, name=name)
    helper.start()
    try:
        main()
    except BaseException:
        failure.append(RuntimeError("stopped"))  # the second stops after its current step
        raise
    finally:
        helper.join()
    if failure:
        raise failure[0]


def shared_snapshot(cursor: CursorWrapper) -> str:
    """Start this (outermost) transaction as a read-only repeatable read and export its snapshot, for a second
    connection to read the same rows (``join_snapshot``)."""
    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    cursor.execute("SELECT pg_export_snapshot()")
    return str(cursor.fetchone()[0])


def join_snapshot(cursor: CursorWrapper, snapshot: str) -> None:
    """The second connection's transaction reads at the snapshot ``shared_snapshot`` exported."""
    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")


def taking_turns(reads: Iterable[Read], *, stop: Callable[[], bool] = lambda: False) -> Read:
    """The work of each connection sharing ``reads``: the next one in order, on its own cursor, as soon as it is
    free, until none is left or ``stop()`` says so (a connection that finishes early takes more of them)."""
    queue = deque(reads)

    def work(cursor: CursorWrapper) -> None:
        while not stop():
            try:
                read = queue.popleft()  # atomic
            except IndexError:
                return
            read(cursor)

    return work
