"""Storing what the tag sends: the good events of checked batches, many batches in one statement.

Both fronts of the ingest endpoint end here: the Django view stores its one batch before it answers, and the ingest
server (``tracking.tag_server``) hands every batch it accepted to a writer thread that stores all that waited in one
go (``tracking.tag_writer``). The statement is the same either way, so a batch is stored the same way whichever
server received it.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from tokui.core.facts import fact_consumers
from tokui.customers.selectors import contact_for_identity
from tokui.tracking.enums import EventSource
from tokui.tracking.event_rows import event_rows_insert
from tokui.tracking.models import AnonymousIdentity, Event, PendingIdentity, TrackingSite, TrackingSiteHour
from tokui.tracking.selectors import contacts_of_anonymous_ids
from tokui.tracking.services import events_dispatch_after_commit, events_redispatch
from tokui.tracking.tag_batches import IDENTIFY_TYPES
from tokui.tracking.types import TagBatch, TagBatchResult, TagEvent, TrackingSiteConfig

# A browser that named an unknown customer is linked if the customer arrives within this many days.
PENDING_IDENTITY_DAYS = 30


def tag_batch_ingest(*, site: TrackingSiteConfig, batch: TagBatch) -> TagBatchResult:
    """Store the good events of one checked tag batch and return what was accepted and refused."""
    tag_batches_ingest(batches=[(site, batch)])
    return TagBatchResult(accepted=len(batch.events), rejected=len(batch.errors), errors=batch.errors)


def tag_batches_ingest(*, batches: Sequence[tuple[TrackingSiteConfig, TagBatch]]) -> int:
    """Append the good events of checked tag batches, in the order they arrived; returns the rows sent.

    Idempotent by the browser's event ids: a batch sent again (a retry, a beacon after a fetch) stores nothing
    twice. Events of a browser already identified get its contact here; a login or sign-up links the browser to
    the contact and attaches its earlier anonymous events to the contact and its company (the tag then marks its
    batches ``identified``, which is when the browser's contact is looked up: the hint decides whether to look,
    never what is found). Only facts some app consumes (cart changes, logins) wait in the outbox; the rest are
    written already dispatched. Page views of any number of batches are one statement; a login adds the statements
    that link the browser, in a transaction with the rows, so later batches of the same call see the link exactly
    as if they had been stored one request at a time.
    """
    if not any(batch.events for _site, batch in batches):
        return 0
    needs_transaction = any(
        event.type in IDENTIFY_TYPES or fact_consumers.consumers_for(event.type, identified=batch.identified)
        for _site, batch in batches
        for event in batch.events
    )
    if not needs_transaction:
        # The hot path: page and product views, one statement.
        return _batches_write(batches)
    with transaction.atomic():
        return _batches_write(batches)


def _batches_write(batches: Sequence[tuple[TrackingSiteConfig, TagBatch]]) -> int:
    now = timezone.now()
    tag = EventSource.TAG.value
    # Most traffic is anonymous: only browsers that say they logged in before cost a lookup, one for all of them.
    known = contacts_of_anonymous_ids(
        anonymous_ids=[batch.anonymous_id for _site, batch in batches if batch.identified and batch.events]
    )
    rows: list[tuple[Any, ...]] = []
    to_dispatch: list[str] = []
    unknown: list[tuple[TrackingSiteConfig, str, TagEvent, str]] = []
    sent = 0
    for site, batch in batches:
        current = known.get(batch.anonymous_id) if batch.identified else None
        stitched: tuple[int, int | None, dt.datetime] | None = None
        for event in batch.events:
            if event.type in IDENTIFY_TYPES:
                found = _identity_resolve(event.properties, site=site)
                if found is not None:
                    current = found
                    stitched = (*found, event.occurred_at)
                else:
                    unknown.append((site, batch.anonymous_id, event, f"{site.id}:{event.id}"))
            key = f"{site.id}:{event.id}"
            wants_dispatch = bool(fact_consumers.consumers_for(event.type, identified=current is not None))
            if wants_dispatch:
                to_dispatch.append(key)
            rows.append(
                (
                    event.type,
                    event.occurred_at,
                    now,
                    current[0] if current else None,
                    current[1] if current else None,
                    batch.anonymous_id,
                    event.properties_json or json.dumps(event.properties, ensure_ascii=False, separators=(",", ":")),
                    tag,
                    key,
                    None if wants_dispatch else now,
                )
            )
        if stitched is not None:
            # The link must see this batch's rows (and earlier ones): write what waits, then link.
            sent += event_rows_insert(rows)
            rows = []
            contact_id, company_id, at = stitched
            anonymous_identify(
                anonymous_id=batch.anonymous_id, contact_id=contact_id, company_id=company_id, identified_at=at
            )
            known[batch.anonymous_id] = (contact_id, company_id)
    sent += event_rows_insert(rows)
    received: Counter[int] = Counter()
    for site, batch in batches:
        received[site.id] += len(batch.events)
    _site_hours.add(received=received, now=now)
    _site_hours_write(_site_hours.take())
    if unknown:
        _pending_identities_note(unknown)
    if to_dispatch:
        # Conflicting rows are skipped without their ids; read back the ones still waiting for dispatch.
        events_dispatch_after_commit(
            list(
                Event.objects.filter(source=tag, idempotency_key__in=to_dispatch, dispatched_at__isnull=True)
                .order_by("id")
                .values_list("id", flat=True)
            )
        )
    return sent


class _SiteHours:
    """Events per site and hour, counted in memory and written at most every FLUSH_SECONDS (and when the ingest
    writer falls idle): one small upsert per flush instead of one per write keeps the hot path at one statement."""

    FLUSH_SECONDS = 2.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: Counter[tuple[int, dt.datetime]] = Counter()
        self._last: dict[tuple[int, dt.datetime], dt.datetime] = {}
        self._flushed_at = 0.0

    def add(self, *, received: Counter[int], now: dt.datetime) -> None:
        hour = now.replace(minute=0, second=0, microsecond=0)
        with self._lock:
            for site_id, count in received.items():
                if count:
                    self._received[(site_id, hour)] += count
                    self._last[(site_id, hour)] = now

    def take(self, *, force: bool = False) -> list[tuple[int, dt.datetime, int, dt.datetime]]:
        """What waits, if a flush is due (or ``force``); the caller writes it."""
        with self._lock:
            if not self._received or (not force and time.monotonic() - self._flushed_at < self.FLUSH_SECONDS):
                return []
            taken = [(site, hour, count, self._last[(site, hour)]) for (site, hour), count in self._received.items()]
            self._received.clear()
            self._last.clear()
            self._flushed_at = time.monotonic()
            return taken


_site_hours = _SiteHours()


def tag_site_hours_flush() -> None:
    """Write the per-hour counts that wait (the writer calls this when it falls idle and when it stops)."""
    _site_hours_write(_site_hours.take(force=True))


def _site_hours_write(rows: list[tuple[int, dt.datetime, int, dt.datetime]]) -> None:
    """Add counts to their site and hour, in one upsert; sites deleted meanwhile are skipped by the join."""
    if not rows:
        return
    connection = connections[TrackingSiteHour.objects.db]
    quote = connection.ops.quote_name
    table = quote(TrackingSiteHour._meta.db_table)
    sites = quote(TrackingSite._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    params: list[Any] = []
    for site_id, hour, count, last in rows:
        params.extend([site_id, adapt(hour), count, adapt(last)])
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    cast = "::timestamptz" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        # "WHERE true": SQLite needs it to tell the SELECT's end from the upsert clause.
        cursor.execute(
            f"WITH counted(site_id, hour, received, last_received_at) AS (VALUES {values}) "
            f"INSERT INTO {table} (site_id, hour, received, last_received_at) "
            f"SELECT c.site_id, c.hour{cast}, c.received, c.last_received_at{cast} FROM counted c "
            f"JOIN {sites} s ON s.id = c.site_id WHERE true "
            f"ON CONFLICT (site_id, hour) DO UPDATE SET received = {table}.received + excluded.received, "
            "last_received_at = excluded.last_received_at",
            params,
        )


def _identity_resolve(properties: dict[str, Any], *, site: TrackingSiteConfig) -> tuple[int, int | None] | None:
    external_id = properties.get("contact_external_id")
    email = properties.get("email")
    found = contact_for_identity(
        external_id=str(external_id)
        if isinstance(external_id, str | int) and not isinstance(external_id, bool)
        else "",
        email=email if isinstance(email, str) else "",
        source=site.contact_source,
    )
    return (found.contact_id, found.company_id) if found is not None else None


def _pending_identities_note(unknown: Sequence[tuple[TrackingSiteConfig, str, TagEvent, str]]) -> None:
    """Remember browsers that named a customer Tokui does not know yet; the latest naming of a browser wins."""
    existing_sites = set(
        TrackingSite.objects.filter(pk__in={site.id for site, *_rest in unknown}).values_list("pk", flat=True)
    )
    for site, anonymous_id, event, key in unknown:
        if site.id not in existing_sites:
            continue
        external_id = event.properties.get("contact_external_id")
        email = event.properties.get("email")
        PendingIdentity.objects.update_or_create(
            anonymous_id=anonymous_id,
            defaults={
                "site_id": site.id,
                "email": email.strip()[:254] if isinstance(email, str) else "",
                "contact_external_id": str(external_id)[:128]
                if isinstance(external_id, str | int) and not isinstance(external_id, bool)
                else "",
                "event_key": key,
                "identified_at": event.occurred_at,
            },
        )


def pending_identities_resolve(*, limit: int = 1000, now: dt.datetime | None = None) -> int:
    """Link browsers whose customer has arrived since they logged in or signed up; returns the browsers linked.

    The identifying fact is handed to its consumers again, so the browser's cart gets its owner too. Browsers
    linked by a later login are left as they are; what waits longer than PENDING_IDENTITY_DAYS is forgotten.
    """
    now = now or timezone.now()
    PendingIdentity.objects.filter(identified_at__lt=now - dt.timedelta(days=PENDING_IDENTITY_DAYS)).delete()
    linked = 0
    for pending in PendingIdentity.objects.select_related("site").order_by("id")[:limit]:
        later = AnonymousIdentity.objects.filter(
            anonymous_id=pending.anonymous_id, last_seen_at__gte=pending.identified_at
        ).exists()
        found = (
            None
            if later
            else contact_for_identity(
                external_id=pending.contact_external_id, email=pending.email, source=pending.site.contact_source
            )
        )
        if later or found is not None:
            with transaction.atomic():
                if found is not None:
                    anonymous_identify(
                        anonymous_id=pending.anonymous_id,
                        contact_id=found.contact_id,
                        company_id=found.company_id,
                        identified_at=pending.identified_at,
                    )
                    events_redispatch(source=EventSource.TAG.value, idempotency_keys=[pending.event_key])
                    linked += 1
                pending.delete()
    return linked


def anonymous_identify(
    *, anonymous_id: str, contact_id: int, company_id: int | None, identified_at: dt.datetime | None = None
) -> int:
    """Link a browser's anonymous id to a contact and give its anonymous facts to the contact and its company.

    The browser's later facts get the contact at ingest. A browser that logs in as someone else (a shared shop PC)
    is linked to the new contact from then on; facts already attributed keep their contact. Returns the facts
    attached by this call (one UPDATE).
    """
    at = identified_at or timezone.now()
    linked = AnonymousIdentity.objects.filter(anonymous_id=anonymous_id).update(contact_id=contact_id, last_seen_at=at)
    if not linked:
        try:
            with transaction.atomic():
                AnonymousIdentity.objects.create(
                    anonymous_id=anonymous_id, contact_id=contact_id, first_seen_at=at, last_seen_at=at
                )
        except IntegrityError:  # another request linked it at the same moment
            AnonymousIdentity.objects.filter(anonymous_id=anonymous_id).update(contact_id=contact_id, last_seen_at=at)
    return Event.objects.filter(anonymous_id=anonymous_id, contact__isnull=True).update(
        contact_id=contact_id, company_id=company_id
    )
