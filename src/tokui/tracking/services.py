"""Writes to the timeline. Every fact is appended here, idempotently, and dispatched to consumers after commit."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import partial
from itertools import batched
from typing import Any
from urllib.parse import urlsplit

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tokui.core.batches import RecordOutcome, duplicate_error, duplicated_keys, record_apply, unknown_reference
from tokui.core.enums import AuditAction, UpsertOutcome
from tokui.core.errors import DomainError
from tokui.core.facts import fact_consumers
from tokui.core.services import audit_record
from tokui.customers.selectors import (
    company_id_of_contact,
    company_ids_by_external_id,
    contact_ids_by_external_id,
)
from tokui.tracking.event_rows import event_rows_insert, event_rows_insert_returning_ids
from tokui.tracking.models import Event, TrackingSite
from tokui.tracking.selectors import event_ids_by_key, tracking_sites_forget
from tokui.tracking.types import EventIn, EventRecordIn

BATCH_SIZE = 2000
DISPATCH_CHUNK = 1000


_pending = threading.local()


def events_dispatch_after_commit(event_ids: list[int]) -> None:
    """Collect the facts of the current transaction and hand them to the worker once, after commit.

    One task per commit (chunked), not one per fact: a bulk load inside one transaction enqueues a handful.
    """
    if not event_ids:
        return
    connection = transaction.get_connection()
    buffer: list[int] | None = getattr(_pending, "ids", None)
    registered = any(callback is _flush_dispatch for _sids, callback, _robust in connection.run_on_commit)
    if buffer is None or not registered:
        # No buffer yet, or the transaction that owned the old buffer rolled back (its callback is gone).
        buffer = _pending.ids = []
        buffer.extend(event_ids)
        transaction.on_commit(_flush_dispatch)
        return
    buffer.extend(event_ids)


def _flush_dispatch() -> None:
    from tokui.tracking.tasks import dispatch_events  # tasks import services; import late to keep one direction

    ids: list[int] = getattr(_pending, "ids", None) or []
    _pending.ids = None
    for start in range(0, len(ids), DISPATCH_CHUNK):
        dispatch_events.enqueue(event_ids=ids[start : start + DISPATCH_CHUNK])


def event_record(
    *,
    type: str,
    occurred_at: dt.datetime | None = None,
    contact_id: int | None = None,
    company_id: int | None = None,
    anonymous_id: str = "",
    properties: dict[str, Any] | None = None,
    source: str = "system",
    idempotency_key: str | None = None,
) -> Event:
    """Append one fact. With an ``idempotency_key`` already stored for ``source``, returns the stored fact."""
    if idempotency_key is not None:
        existing = Event.objects.filter(source=source, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    if contact_id is not None and company_id is None:
        company_id = company_id_of_contact(contact_id=contact_id)
    try:
        with transaction.atomic():
            event = Event.objects.create(
                type=type,
                occurred_at=occurred_at or timezone.now(),
                contact_id=contact_id,
                company_id=company_id,
                anonymous_id=anonymous_id,
                properties=properties or {},
                source=source,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        if idempotency_key is None:
            raise
        return Event.objects.get(source=source, idempotency_key=idempotency_key)
    events_dispatch_after_commit([event.pk])
    return event


def events_record_batch(*, events: Iterable[EventIn], dispatch: bool = True) -> int:
    """Append many facts in batches; facts whose idempotency key is already stored are skipped. Returns rows sent.

    The rows go in as plain tuples (no model instances); facts to dispatch are handed to their consumers by the ids
    the insert answers, after commit. Facts written already dispatched (history loads) are not handed to anyone.
    """
    return _rows_record(events, dispatch=dispatch)


def _event_row(event: EventIn, now: dt.datetime, *, dispatched: bool = True) -> tuple[Any, ...]:
    """An event as a row in ``event_rows.EVENT_ROW_COLUMNS`` order, written already dispatched or waiting for its
    consumers (``dispatched=False``)."""
    return (
        event.type,
        event.occurred_at,
        now,
        event.contact_id,
        event.company_id,
        event.anonymous_id,
        json.dumps(event.properties, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder),
        event.source,
        event.idempotency_key,
        now if dispatched else None,
    )


def _rows_record(events: Iterable[EventIn], *, dispatch: bool) -> int:
    now = timezone.now()
    count = 0
    rows_of = (_event_row(event, now, dispatched=not dispatch) for event in events)
    for chunk in batched(rows_of, BATCH_SIZE, strict=False):
        rows = list(chunk)
        if dispatch:
            events_dispatch_after_commit(event_rows_insert_returning_ids(rows))
        else:
            event_rows_insert(rows)
        count += len(rows)
    return count


def events_append_rows(*, events: Sequence[EventIn]) -> int:
    """Append many facts as plain rows in one statement (hot paths: mail opens and clicks). Returns rows sent.

    Facts of a type some app consumes go through ``events_record_batch`` instead, which knows their ids for the
    outbox; the rest are written already dispatched.
    """
    waiting: list[EventIn] = []
    settled: list[EventIn] = []
    for event in events:
        identified = event.contact_id is not None or event.company_id is not None
        (waiting if fact_consumers.consumers_for(event.type, identified=identified) else settled).append(event)
    sent = events_record_batch(events=waiting) if waiting else 0
    return sent + _rows_record(settled, dispatch=False)


def events_dispatch(*, event_ids: Sequence[int]) -> int:
    """Hand undispatched facts to their consumers, type by type, then mark them dispatched. Returns facts handled."""
    pending = list(
        Event.objects.filter(pk__in=event_ids, dispatched_at__isnull=True).order_by("id").values_list("id", "type")
    )
    by_type: dict[str, list[int]] = defaultdict(list)
    for event_id, event_type in pending:
        by_type[event_type].append(event_id)
    for event_type, ids in by_type.items():
        for consumer in fact_consumers.consumers_for(event_type):
            consumer(ids)
    Event.objects.filter(pk__in=[event_id for event_id, _ in pending]).update(dispatched_at=timezone.now())
    return len(pending)


def events_redispatch(*, source: str, idempotency_keys: Sequence[str]) -> int:
    """Hand facts to their consumers again after commit (consumers are idempotent); returns the facts."""
    events = Event.objects.filter(source=source, idempotency_key__in=list(idempotency_keys))
    ids = list(events.values_list("id", flat=True))
    if ids:
        Event.objects.filter(pk__in=ids).update(dispatched_at=None)
        events_dispatch_after_commit(ids)
    return len(ids)


def events_dispatch_pending(*, limit: int = 1000) -> int:
    """The sweeper: dispatch facts that a crash or a bulk load left undispatched."""
    ids = list(Event.objects.filter(dispatched_at__isnull=True).order_by("id").values_list("id", flat=True)[:limit])
    return events_dispatch(event_ids=ids) if ids else 0


# --- The tracking tag -------------------------------------------------------------------------------------------


def _origins_clean(allowed_origins: Sequence[str]) -> str:
    origins = [origin_normalise(origin) for origin in allowed_origins if origin.strip()]
    if not origins:
        raise DomainError(_("Add at least one origin, such as https://shop.example.jp."), field="allowed_origins")
    return "\n".join(dict.fromkeys(origins))


def _name_clean(name: str) -> str:
    if not name.strip():
        raise DomainError(_("Give the site a name."), field="name")
    return name.strip()


def tracking_site_create(
    *,
    name: str,
    allowed_origins: Sequence[str],
    require_consent: bool = False,
    contact_source: str = "",
    write_key: str | None = None,
    actor: Any = None,
    ip_address: str | None = None,
) -> TrackingSite:
    """Register a shop's pages for the tag; the write key is generated unless given."""
    with transaction.atomic():
        site = TrackingSite.objects.create(
            name=_name_clean(name),
            write_key=write_key or write_key_generate(),
            allowed_origins=_origins_clean(allowed_origins),
            require_consent=require_consent,
            contact_source=contact_source.strip(),
        )
        audit_record(actor=actor, action=AuditAction.CREATE, target=site, ip_address=ip_address)
    return site


def tracking_site_update(
    *,
    site: TrackingSite,
    name: str,
    allowed_origins: Sequence[str],
    require_consent: bool,
    contact_source: str,
    is_active: bool,
    actor: Any = None,
    ip_address: str | None = None,
) -> TrackingSite:
    """Change a site's settings; every server process sees them within 30 s (sites are remembered that long)."""
    wanted = {
        "name": _name_clean(name),
        "allowed_origins": _origins_clean(allowed_origins),
        "require_consent": require_consent,
        "contact_source": contact_source.strip(),
        "is_active": is_active,
    }
    changes = {field: [getattr(site, field), value] for field, value in wanted.items() if getattr(site, field) != value}
    if not changes:
        return site
    with transaction.atomic():
        for field, value in wanted.items():
            setattr(site, field, value)
        site.save(update_fields=list(wanted))
        audit_record(actor=actor, action=AuditAction.UPDATE, target=site, changes=changes, ip_address=ip_address)
    tracking_sites_forget()
    return site


def tracking_site_write_key_rotate(*, site: TrackingSite, actor: Any = None, ip_address: str | None = None) -> str:
    """Give the site a new write key; pages with the old snippet are refused from then on (401)."""
    with transaction.atomic():
        site.write_key = write_key_generate()
        site.save(update_fields=["write_key"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target=site,
            changes={"write_key": ["…", "…"]},
            ip_address=ip_address,
        )
    tracking_sites_forget()
    return site.write_key


def tracking_site_allow_origins(*, site: TrackingSite, origins: Sequence[str]) -> TrackingSite:
    """Add origins a site's pages may send from (those already allowed are kept once)."""
    wanted = [*site.origins, *(origin_normalise(origin) for origin in origins)]
    merged = "\n".join(dict.fromkeys(wanted))
    if merged != site.allowed_origins:
        TrackingSite.objects.filter(pk=site.pk).update(allowed_origins=merged)
        site.allowed_origins = merged
        tracking_sites_forget()
    return site


def write_key_generate() -> str:
    return f"tk_{secrets.token_urlsafe(24)}"


def origin_normalise(origin: str) -> str:
    """``https://Shop.example.jp/`` → ``https://shop.example.jp``; refuses anything that is not an origin."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/") or parts.query:
        raise DomainError(
            _("“%(origin)s” is not an origin; write it as https://shop.example.jp (no path).") % {"origin": origin},
            field="allowed_origins",
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


# --- Facts from other systems (the API's events endpoint) -----------------------------------------------------------

# Facts sent through the API are stored under "api:<their id>", so a sender can never take the key of a fact Tokui
# writes itself (such as "order:12:placed") and make Tokui skip it.
API_EVENT_KEY_PREFIX = "api:"


def api_event_key(external_id: str) -> str:
    return f"{API_EVENT_KEY_PREFIX}{external_id}"


def _api_event_in(
    record: EventRecordIn,
    *,
    source: str,
    contacts: dict[str, tuple[int, int | None]],
    companies: dict[str, int],
) -> EventIn:
    contact_id = company_id = None
    if record.contact_external_id:
        found = contacts.get(record.contact_external_id)
        if found is None:
            raise unknown_reference(_("contact"), record.contact_external_id, field="contact_external_id")
        contact_id, company_id = found
    if record.company_external_id:
        company_id = companies.get(record.company_external_id)
        if company_id is None:
            raise unknown_reference(_("company"), record.company_external_id, field="company_external_id")
    if contact_id is None and company_id is None and not record.anonymous_id:
        raise DomainError(
            _("Name whose event this is: contact_external_id, company_external_id or anonymous_id."),
            field="contact_external_id",
        )
    return EventIn(
        type=record.type,
        occurred_at=record.occurred_at,
        contact_id=contact_id,
        company_id=company_id,
        anonymous_id=record.anonymous_id,
        properties=record.properties,
        source=source,
        idempotency_key=api_event_key(record.external_id),
    )


def events_append_batch(*, source: str, records: Sequence[EventRecordIn]) -> list[RecordOutcome]:
    """Append facts another system sends, in one insert, keyed by that system's event ids.

    A fact is never edited: one sent again is ``unchanged``. Customers are looked up once for the batch; an unknown
    one refuses that event only. Returns one outcome per record, in order.
    """
    duplicates = duplicated_keys(record.external_id for record in records)
    contacts = contact_ids_by_external_id(
        source=source, external_ids=[r.contact_external_id for r in records if r.contact_external_id]
    )
    companies = company_ids_by_external_id(
        source=source, external_ids=[r.company_external_id for r in records if r.company_external_id]
    )
    stored = event_ids_by_key(source=source, idempotency_keys=[api_event_key(r.external_id) for r in records])
    outcomes: dict[int, RecordOutcome] = {}
    new: list[tuple[int, str, EventIn]] = []
    for index, record in enumerate(records):
        key = record.external_id
        if key in duplicates:
            outcomes[index] = RecordOutcome.failed(key, duplicate_error(key))
        elif (event_id := stored.get(api_event_key(key))) is not None:
            outcomes[index] = RecordOutcome(key=key, outcome=UpsertOutcome.UNCHANGED.value, id=event_id)
        else:
            try:
                new.append((index, key, _api_event_in(record, source=source, contacts=contacts, companies=companies)))
            except DomainError as error:
                outcomes[index] = RecordOutcome.failed(key, error)
    if new:
        try:
            with transaction.atomic():
                events_record_batch(events=[event for _i, _k, event in new])
        except DatabaseError:  # a row the database refuses: store the others one by one
            with transaction.atomic():
                for index, key, event in new:
                    outcomes[index] = record_apply(key, partial(_api_event_store, key, event))
        else:
            ids = event_ids_by_key(source=source, idempotency_keys=[api_event_key(key) for _i, key, _e in new])
            for index, key, _event in new:
                outcomes[index] = RecordOutcome(
                    key=key, outcome=UpsertOutcome.CREATED.value, id=ids.get(api_event_key(key))
                )
    return [outcomes[index] for index in range(len(records))]


def _api_event_store(key: str, event: EventIn) -> RecordOutcome:
    stored = event_record(
        type=event.type,
        occurred_at=event.occurred_at,
        contact_id=event.contact_id,
        company_id=event.company_id,
        anonymous_id=event.anonymous_id,
        properties=event.properties,
        source=event.source,
        idempotency_key=event.idempotency_key,
    )
    return RecordOutcome(key=key, outcome=UpsertOutcome.CREATED.value, id=stored.pk)
