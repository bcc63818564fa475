"""A group commit: one thread per process stores everything that waits in one write, and tells each waiter.

Hot endpoints (the tag's batches, mail open and click hits) hand what they accepted to a writer and wait for it to
be stored. The thread takes everything that waits (up to a size), writes it in one statement and calls back every
waiter: while one write runs the next requests gather, so under load one commit carries many requests, and when the
server is idle a lone request is written at once (no timer to wait for). Past a bound the writer refuses instead of
queueing without limit, and the endpoint answers that it is busy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections

logger = logging.getLogger(__name__)

Done = Callable[[BaseException | None], None]


@dataclass(frozen=True, slots=True)
class _Waiting[T]:
    item: T
    size: int
    done: Done


class GroupCommitWriter[T]:
    """Stores submitted items from its own thread, in the order they were submitted, many per write."""

    def __init__(
        self,
        *,
        write: Callable[[list[T]], object],
        size: Callable[[T], int] = lambda item: 1,
        max_per_write: int,
        max_waiting: int,
        name: str,
        on_idle: Callable[[], object] | None = None,
        idle_seconds: float = 1.0,
    ) -> None:
        self._write = write
        self._size = size
        self._max_per_write = max_per_write
        self._max_waiting = max_waiting
        self._name = name
        # Called from the writer's thread after idle_seconds without anything to write, and once when it stops:
        # for work that may wait for a quiet moment (counters kept in memory).
        self._on_idle = on_idle
        self._idle_seconds = idle_seconds
        self._condition = threading.Condition()
        self._waiting: list[_Waiting[T]] = []
        self._waiting_size = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._writing = False

    def submit_item(self, item: T, *, done: Done) -> bool:
        """Queue an item; ``done(None)`` is called from the writer thread once it is stored, ``done(error)`` if not.

        Returns ``False`` (and never calls ``done``) when too much waits already or the writer is stopping.
        """
        size = max(1, self._size(item))
        with self._condition:
            if self._stopping or self._waiting_size + size > self._max_waiting:
                return False
            self._waiting.append(_Waiting(item, size, done))
            self._waiting_size += size
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._condition.notify_all()
        return True

    def stop(self, *, timeout: float = 10.0) -> None:
        """Store what waits, then end the thread (and its database connection)."""
        with self._condition:
            self._stopping = True
            thread = self._thread
            self._condition.notify_all()
        if thread is not None:
            thread.join(timeout)

    def drain(self, *, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is written (or failed); ``False`` if ``timeout`` passed first."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._waiting and not self._writing, timeout)

    def _take(self) -> list[_Waiting[T]] | None:
        """Wait for items; take the oldest, up to ``max_per_write`` in size. ``None``: stopped and all stored;
        ``[]``: nothing came for ``idle_seconds``."""
        with self._condition:
            while not self._waiting and not self._stopping:
                if not self._condition.wait(self._idle_seconds if self._on_idle else None):
                    return []  # idle: the caller runs on_idle
            if not self._waiting:
                return None
            count = size = 0
            for waiting in self._waiting:
                count += 1
                size += waiting.size
                if size >= self._max_per_write:
                    break
            taken, self._waiting = self._waiting[:count], self._waiting[count:]
            self._waiting_size -= size
            self._writing = True
            return taken

    def _run(self) -> None:
        try:
            while (taken := self._take()) is not None:
                if not taken:
                    self._idle()
                    continue
                error: BaseException | None = None
                try:
                    self._write([waiting.item for waiting in taken])
                except Exception as failed:
                    logger.exception(
                        "%s: storing %d waiting items failed; their requests are told", self._name, len(taken)
                    )
                    error = failed
                    # A broken connection must not poison the next write: open a new one then.
                    connections.close_all()
                for waiting in taken:
                    waiting.done(error)
                with self._condition:
                    self._writing = False
                    self._condition.notify_all()
            self._idle()
        finally:
            connections.close_all()

    def _idle(self) -> None:
        if self._on_idle is None:
            return
        try:
            self._on_idle()
        except Exception:
            logger.exception("%s: the idle work failed", self._name)
            connections.close_all()
