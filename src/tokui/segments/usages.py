"""Where a segment is used: apps that target segments (scenarios, broadcasts) register a provider here in their
``AppConfig.ready()``, so the segment page lists them without the segments app importing those apps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SegmentUsage:
    kind: str
    """What uses it, shown as is (for example シナリオ)."""
    name: str
    url: str = ""


UsageProvider = Callable[[int], list[SegmentUsage]]
"""Receives a segment id, returns where that app uses it."""


class SegmentUsageRegistry:
    def __init__(self) -> None:
        self._providers: list[UsageProvider] = []

    def register(self, provider: UsageProvider) -> UsageProvider:
        if provider not in self._providers:
            self._providers.append(provider)
        return provider

    def usages_of(self, segment_id: int) -> list[SegmentUsage]:
        return [usage for provider in self._providers for usage in provider(segment_id)]


segment_usage_providers = SegmentUsageRegistry()
