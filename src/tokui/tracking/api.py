"""API: facts (events) sent server to server, and the timeline of one customer, newest first.

Browsers send their events through the tracking tag's own endpoint (``tokui.tracking.views``), not through here.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema

from tokui.accounts.api_auth import ApiKeyAuth
from tokui.accounts.api_contract import (
    READ_ERRORS,
    READ_ONE_ERRORS,
    SOURCE_HELP,
    SOURCE_PATTERN,
    WRITE_ERRORS,
    AwareTime,
    BulkIn,
    BulkOut,
    JsonObject,
    Page,
    PageQuery,
    QueryTime,
    RawRecord,
    RecordIn,
    SiteTime,
    bulk_apply,
    paginate,
    records_schema,
)
from tokui.accounts.enums import ApiScope
from tokui.customers.selectors import company_get, contact_get
from tokui.tracking.models import Event
from tokui.tracking.selectors import events_matching, timeline_for_company, timeline_for_contact
from tokui.tracking.services import API_EVENT_KEY_PREFIX, events_append_batch
from tokui.tracking.types import EventRecordIn

router = Router(tags=["events"])

Source = Annotated[str, Query(pattern=SOURCE_PATTERN, description=SOURCE_HELP)]
EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


class EventRecord(RecordIn):
    """A fact from another system, e.g. `{"external_id": "ev-1", "type": "sample_requested", ...}`."""

    external_id: str = Field(
        min_length=1, max_length=120, description="The event's id in the source: sent twice, stored once"
    )
    type: str = Field(
        pattern=EVENT_TYPE_PATTERN, description="e.g. order_shipped, sample_requested, catalog_downloaded"
    )
    occurred_at: AwareTime
    contact_external_id: str | None = Field(None, max_length=128)
    company_external_id: str | None = Field(None, max_length=128)
    anonymous_id: str = Field("", max_length=64)
    properties: JsonObject = Field(default_factory=dict)

    def to_domain(self) -> EventRecordIn:
        return EventRecordIn(
            external_id=self.external_id,
            type=self.type,
            occurred_at=self.occurred_at,
            contact_external_id=self.contact_external_id or None,
            company_external_id=self.company_external_id or None,
            anonymous_id=self.anonymous_id,
            properties=self.properties,
        )


class EventBulkIn(BulkIn):
    records: Annotated[list[RawRecord], records_schema(EventRecord)]


class EventOut(Schema):
    id: int
    type: str
    label: str
    occurred_at: SiteTime
    contact_id: int | None
    company_id: int | None
    anonymous_id: str
    source: str
    external_id: str | None
    properties: dict[str, Any]

    @staticmethod
    def resolve_label(event: Event) -> str:
        return event.type_label

    @staticmethod
    def resolve_external_id(event: Event) -> str | None:
        key = event.idempotency_key or ""
        return key.removeprefix(API_EVENT_KEY_PREFIX) if key.startswith(API_EVENT_KEY_PREFIX) else None


class EventFilters(PageQuery):
    source: str | None = Field(None, pattern=SOURCE_PATTERN)
    type: str | None = Field(None, pattern=EVENT_TYPE_PATTERN)
    since: QueryTime | None = Field(None, description="Occurred at or after this time")
    company_id: int | None = Field(None, ge=1, le=2**63 - 1)
    contact_id: int | None = Field(None, ge=1, le=2**63 - 1)


class TimelineFilters(PageQuery):
    type: str | None = Field(None, pattern=EVENT_TYPE_PATTERN)


@router.post("/events/bulk", response={200: BulkOut, **WRITE_ERRORS}, auth=ApiKeyAuth(ApiScope.INGEST))
def events_bulk(request: HttpRequest, source: Source, payload: EventBulkIn) -> BulkOut:
    """Append up to 1,000 facts to customers' timelines; an event id sent again is `unchanged`.

    Needs the `ingest` scope (or `write`). Customers are named by their ids in `source`.
    """
    return bulk_apply(
        source=source,
        records=payload.records,
        model=EventRecord,
        to_domain=EventRecord.to_domain,
        apply=lambda records: events_append_batch(source=source, records=records),
    )


@router.get("/events", response={200: Page[EventOut], **READ_ERRORS}, auth=ApiKeyAuth(ApiScope.READ))
def events_list(request: HttpRequest, filters: Query[EventFilters]) -> dict[str, Any]:
    """Facts in id order (the order they were stored), filtered by source, type, time and customer."""
    events = events_matching(
        source=filters.source,
        type=filters.type,
        since=filters.since,
        company_id=filters.company_id,
        contact_id=filters.contact_id,
    )
    return paginate(events, page=filters)


@router.get(
    "/companies/{company_id}/timeline",
    response={200: Page[EventOut], **READ_ONE_ERRORS},
    auth=ApiKeyAuth(ApiScope.READ),
)
def company_timeline(request: HttpRequest, company_id: int, filters: Query[TimelineFilters]) -> dict[str, Any]:
    """The timeline of a company (顧客カルテ): its facts and its contacts' facts, newest first."""
    if not 0 < company_id < 2**63 or company_get(company_id=company_id) is None:
        raise Http404
    events = timeline_for_company(company_id=company_id)
    if filters.type:
        events = events.filter(type=filters.type)
    return paginate(events, page=filters)


@router.get(
    "/contacts/{contact_id}/timeline",
    response={200: Page[EventOut], **READ_ONE_ERRORS},
    auth=ApiKeyAuth(ApiScope.READ),
)
def contact_timeline(request: HttpRequest, contact_id: int, filters: Query[TimelineFilters]) -> dict[str, Any]:
    """The timeline of one contact, newest first."""
    if not 0 < contact_id < 2**63 or contact_get(contact_id=contact_id) is None:
        raise Http404
    events = timeline_for_contact(contact_id=contact_id)
    if filters.type:
        events = events.filter(type=filters.type)
    return paginate(events, page=filters)
