from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class EventIn:
    """A fact to append to the timeline."""

    type: str
    occurred_at: dt.datetime
    contact_id: int | None = None
    company_id: int | None = None
    anonymous_id: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    source: str = "system"
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class TrackingSiteConfig:
    """What the ingest endpoint needs to know about a registered site, kept in memory between requests."""

    id: int
    name: str
    write_key: str
    origins: frozenset[str]
    require_consent: bool
    contact_source: str


@dataclass(frozen=True, slots=True)
class TagEvent:
    """One checked event of a tag batch; ``id`` is the browser's random event id (the idempotency key).

    ``properties_json`` is ``properties`` as the JSON that is stored, encoded once while checking its size.
    """

    id: str
    type: str
    occurred_at: dt.datetime
    properties: dict[str, Any]
    properties_json: str = ""


@dataclass(frozen=True, slots=True)
class TagEventError:
    """Why one event of a batch was refused; the other events of the batch are kept."""

    index: int
    code: str
    message: str
    field: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "code": self.code, "message": self.message, "field": self.field}


@dataclass(frozen=True, slots=True)
class TagBatch:
    """A checked batch from one browser: its anonymous id, whether the visitor consented, the good events."""

    anonymous_id: str
    consent: bool
    events: list[TagEvent]
    errors: list[TagEventError]
    identified: bool = False


@dataclass(frozen=True, slots=True)
class TagBatchResult:
    accepted: int
    rejected: int
    errors: list[TagEventError]


@dataclass(frozen=True, slots=True)
class EventRecordIn:
    """A fact sent by another system (server to server), with its own id there: sent twice, it is stored once.

    The customer is named by the source's ids; an event of nobody known carries at least an anonymous id.
    """

    external_id: str
    type: str
    occurred_at: dt.datetime
    contact_external_id: str | None = None
    company_external_id: str | None = None
    anonymous_id: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
