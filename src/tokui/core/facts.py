"""The registry through which facts on the timeline reach the apps that react to them.

A producer (ingest, orders, mail) appends a fact with ``dispatched_at`` empty; after commit a task hands each batch
to the consumers registered here for its type, then marks it dispatched. Consumer apps register in their
``AppConfig.ready()``, so the producer never imports them. Consumers must be idempotent: a sweeper re-dispatches
anything a crash left undispatched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

FactConsumer = Callable[[Sequence[int]], None]
"""Receives the ids of a batch of ``tracking.Event`` rows of one type."""

ALL_TYPES = "*"


class FactConsumerRegistry:
    def __init__(self) -> None:
        # Per type: each consumer with whether it only wants facts about a known customer.
        self._consumers: dict[str, list[tuple[FactConsumer, bool]]] = defaultdict(list)

    def register(self, *event_types: str, identified_only: bool = False) -> Callable[[FactConsumer], FactConsumer]:
        """Register a consumer of ``event_types``.

        ``identified_only``: the consumer has nothing to do with a fact naming no company or contact (an anonymous
        page view), so such facts need not wait in the outbox for it. Anonymous page views are most of the tag's
        traffic; writing them already dispatched keeps the ingest one statement.
        """

        def decorator(consumer: FactConsumer) -> FactConsumer:
            for event_type in event_types:
                if all(known is not consumer for known, _only in self._consumers[event_type]):
                    self._consumers[event_type].append((consumer, identified_only))
            return consumer

        return decorator

    def unregister(self, consumer: FactConsumer) -> None:
        for event_type, consumers in self._consumers.items():
            self._consumers[event_type] = [entry for entry in consumers if entry[0] is not consumer]

    def consumers_for(self, event_type: str, *, identified: bool = True) -> list[FactConsumer]:
        """The consumers of a fact of ``event_type``; ``identified=False`` for a fact naming no customer."""
        return [
            consumer
            for consumer, only_identified in (*self._consumers.get(event_type, ()), *self._consumers.get(ALL_TYPES, ()))
            if identified or not only_identified
        ]


fact_consumers = FactConsumerRegistry()
