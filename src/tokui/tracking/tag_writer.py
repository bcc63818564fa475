"""The ingest server's writer: one thread per process that stores every accepted batch, many batches at a time.

A request hands its checked batch to ``TagBatchWriter.submit`` and waits for it to be stored. The thread takes
everything that waits, stores it in one statement (``tag_ingest.tag_batches_ingest``) and tells every waiting
request how it went: a group commit. While one write runs, the next requests gather, so under load one statement
carries many requests, and when the server is idle a lone request is written at once (no timer to wait for).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections

from tokui.tracking.tag_ingest import tag_batches_ingest
from tokui.tracking.types import TagBatch, TrackingSiteConfig

logger = logging.getLogger(__name__)

# Events one write may carry; more wait for the next one.
MAX_EVENTS_PER_WRITE = 5_000
# Events that may wait at all; past this the server answers 503 and the tag sends again later.
MAX_WAITING_EVENTS = 50_000

Done = Callable[[BaseException | None], None]


@dataclass(frozen=True, slots=True)
class _Waiting:
    site: TrackingSiteConfig
    batch: TagBatch
    done: Done


class TagBatchWriter:
    """Stores submitted batches from its own thread, in the order they were submitted."""

    def __init__(
        self,
        *,
        write: Callable[[list[tuple[TrackingSiteConfig, TagBatch]]], object] | None = None,
        max_events_per_write: int = MAX_EVENTS_PER_WRITE,
        max_waiting_events: int = MAX_WAITING_EVENTS,
    ) -> None:
        self._write = write or (lambda batches: tag_batches_ingest(batches=batches))
        self._max_events_per_write = max_events_per_write
        self._max_waiting_events = max_waiting_events
        self._condition = threading.Condition()
        self._waiting: list[_Waiting] = []
        self._waiting_events = 0
        self._thread: threading.Thread | None = None
        self._stopping = False

    def submit(self, *, site: TrackingSiteConfig, batch: TagBatch, done: Done) -> bool:
        """Queue a batch; ``done(None)`` is called from the writer thread once it is stored, ``done(error)`` if not.

        Returns ``False`` (and never calls ``done``) when too much waits already or the writer is stopping.
        """
        events = max(1, len(batch.events))
        with self._condition:
            if self._stopping or self._waiting_events + events > self._max_waiting_events:
                return False
            self._waiting.append(_Waiting(site, batch, done))
            self._waiting_events += events
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tokui-tag-writer", daemon=True)
                self._thread.start()
            self._condition.notify()
        return True

    def stop(self, *, timeout: float = 10.0) -> None:
        """Store what waits, then end the thread (and its database connection)."""
        with self._condition:
            self._stopping = True
            thread = self._thread
            self._condition.notify()
        if thread is not None:
            thread.join(timeout)

    def _take(self) -> list[_Waiting] | None:
        """Wait for batches; take the oldest, up to ``max_events_per_write`` events. ``None``: stopped, all stored."""
        with self._condition:
            while not self._waiting and not self._stopping:
                self._condition.wait()
            if not self._waiting:
                return None
            count = events = 0
            for item in self._waiting:
                count += 1
                events += max(1, len(item.batch.events))
                if events >= self._max_events_per_write:
                    break
            taken, self._waiting = self._waiting[:count], self._waiting[count:]
            self._waiting_events -= events
            return taken

    def _run(self) -> None:
        try:
            while (taken := self._take()) is not None:
                error: BaseException | None = None
                try:
                    self._write([(item.site, item.batch) for item in taken])
                except Exception as failed:
                    logger.exception("storing %d tag batches failed; their requests are answered 503", len(taken))
                    error = failed
                    # A broken connection must not poison the next write: open a new one then.
                    connections.close_all()
                for item in taken:
                    item.done(error)
        finally:
            connections.close_all()
