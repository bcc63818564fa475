"""The ingest server's writer: one thread per process that stores every accepted tag batch, many at a time.

A request hands its checked batch to ``TagBatchWriter.submit`` and waits for it to be stored; the thread stores
everything that waits in one statement (``tag_ingest.tag_batches_ingest``): a group commit (``core.group_commit``).
"""

from __future__ import annotations

from collections.abc import Callable

from tokui.core.group_commit import Done, GroupCommitWriter
from tokui.tracking.tag_ingest import tag_batches_ingest, tag_site_hours_flush
from tokui.tracking.types import TagBatch, TrackingSiteConfig

# Events one write may carry; more wait for the next one.
MAX_EVENTS_PER_WRITE = 5_000
# Events that may wait at all; past this the server answers 503 and the tag sends again later.
MAX_WAITING_EVENTS = 50_000

SiteBatch = tuple[TrackingSiteConfig, TagBatch]


class TagBatchWriter(GroupCommitWriter[SiteBatch]):
    """Stores submitted batches from its own thread, in the order they were submitted."""

    def __init__(
        self,
        *,
        write: Callable[[list[SiteBatch]], object] | None = None,
        max_events_per_write: int = MAX_EVENTS_PER_WRITE,
        max_waiting_events: int = MAX_WAITING_EVENTS,
    ) -> None:
        super().__init__(
            write=write or (lambda batches: tag_batches_ingest(batches=batches)),
            size=lambda site_batch: len(site_batch[1].events),
            max_per_write=max_events_per_write,
            max_waiting=max_waiting_events,
            name="tokui-tag-writer",
            on_idle=tag_site_hours_flush,
        )

    def submit(self, *, site: TrackingSiteConfig, batch: TagBatch, done: Done) -> bool:
        """Queue a batch; ``done(None)`` once it is stored, ``done(error)`` if not; ``False`` when full or stopping."""
        return self.submit_item((site, batch), done=done)
