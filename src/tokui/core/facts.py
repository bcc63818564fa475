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
        self._consumers: dict[str, list[FactConsumer]] = defaultdict(list)

    def register(self, *event_types: str) -> Callable[[FactConsumer], FactConsumer]:
        def decorator(consumer: FactConsumer) -> FactConsumer:
            for event_type in event_types:
                if consumer not in self._consumers[event_type]:
                    self._consumers[event_type].append(consumer)
            return consumer

        return decorator

    def unregister(self, consumer: FactConsumer) -> None:
        for consumers in self._consumers.values():
            if consumer in consumers:
                consumers.remove(consumer)

    def consumers_for(self, event_type: str) -> list[FactConsumer]:
        return [*self._consumers.get(event_type, []), *self._consumers.get(ALL_TYPES, [])]


fact_consumers = FactConsumerRegistry()
