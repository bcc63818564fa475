from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Max, QuerySet, Sum
from django.templatetags.static import static

from tokui.accounts.selectors import user_is_administrator
from tokui.tracking.models import AnonymousIdentity, Event, TrackingSite, TrackingSiteHour
from tokui.tracking.types import TrackingSiteConfig


def timeline_for_company(*, company_id: int) -> QuerySet[Event]:
    """Every fact of a company and its contacts, newest first (contact facts carry their company)."""
    return Event.objects.filter(company_id=company_id).select_related("contact").order_by("-occurred_at", "-id")


def timeline_for_contact(*, contact_id: int) -> QuerySet[Event]:
    return Event.objects.filter(contact_id=contact_id).order_by("-occurred_at", "-id")


def events_count(*, type: str | None = None) -> int:
    events = Event.objects.all()
    if type:
        events = events.filter(type=type)
    return events.count()


# The ingest endpoint looks its write key up on every request; sites change rarely, so each process keeps what it
# read for a short while. An admin change (a new origin, a deactivated key) takes effect within SITE_MEMO_SECONDS.
SITE_MEMO_SECONDS = 30.0
_SITE_MEMO_MAX = 10_000
_site_memo: dict[str, tuple[float, TrackingSiteConfig | None]] = {}


def tracking_site_remembered(*, write_key: str) -> tuple[bool, TrackingSiteConfig | None]:
    """``(True, site or None)`` when this process still remembers the key, else ``(False, None)``; no query.

    The ingest server's event loop must not wait for the database: it asks here first and looks the key up in a
    thread only when this process does not remember it.
    """
    remembered = _site_memo.get(write_key)
    if remembered is not None and remembered[0] > time.monotonic():
        return True, remembered[1]
    return False, None


def tracking_site_for_key(*, write_key: str) -> TrackingSiteConfig | None:
    """The active site with this public write key, or ``None``; remembered for ``SITE_MEMO_SECONDS``."""
    known, remembered_site = tracking_site_remembered(write_key=write_key)
    if known:
        return remembered_site
    now = time.monotonic()
    config = None
    if 0 < len(write_key) <= 64:
        site = TrackingSite.objects.filter(write_key=write_key, is_active=True).first()
        if site is not None:
            config = TrackingSiteConfig(
                id=site.pk,
                name=site.name,
                write_key=site.write_key,
                origins=frozenset(site.origins),
                require_consent=site.require_consent,
                contact_source=site.contact_source,
            )
    if len(_site_memo) >= _SITE_MEMO_MAX:  # unknown keys are remembered too; never let them grow without bound
        _site_memo.clear()
    _site_memo[write_key] = (now + SITE_MEMO_SECONDS, config)
    return config


def tracking_sites_forget() -> None:
    """Drop what this process remembers of sites (after a change, and between tests)."""
    _site_memo.clear()


def tracking_site_by_name(*, name: str) -> TrackingSite | None:
    return TrackingSite.objects.filter(name=name).first()


def contacts_of_anonymous_ids(*, anonymous_ids: Iterable[str]) -> dict[str, tuple[int, int | None]]:
    """``{anonymous id: (contact id, company id)}`` of the browsers among these that were identified (one query)."""
    wanted = sorted(set(anonymous_ids))
    if not wanted:
        return {}
    rows = AnonymousIdentity.objects.filter(anonymous_id__in=wanted).values_list(
        "anonymous_id", "contact_id", "contact__company_id"
    )
    return {anonymous_id: (contact_id, company_id) for anonymous_id, contact_id, company_id in rows}


def contact_of_anonymous_id(*, anonymous_id: str) -> tuple[int, int | None] | None:
    """The (contact id, company id) a browser's anonymous id was identified as, if it was."""
    row = (
        AnonymousIdentity.objects.filter(anonymous_id=anonymous_id)
        .values_list("contact_id", "contact__company_id")
        .first()
    )
    return (row[0], row[1]) if row is not None else None


def events_anonymous_ids(*, event_ids: Sequence[int], source: str) -> list[str]:
    """The distinct anonymous ids of some facts of one source (for consumers that work per browser)."""
    return sorted(
        set(
            Event.objects.filter(pk__in=list(event_ids), source=source)
            .exclude(anonymous_id="")
            .values_list("anonymous_id", flat=True)
        )
    )


@dataclass(frozen=True, slots=True)
class EventRow:
    id: int
    type: str
    occurred_at: dt.datetime
    properties: dict[str, Any]


def events_of_anonymous_id(*, anonymous_id: str, source: str, types: Iterable[str], limit: int = 500) -> list[EventRow]:
    """The latest ``limit`` facts of some types from one browser, oldest first."""
    rows = list(
        Event.objects.filter(anonymous_id=anonymous_id, source=source, type__in=list(types))
        .order_by("-occurred_at", "-id")
        .values_list("id", "type", "occurred_at", "properties")[:limit]
    )
    rows.reverse()
    return [EventRow(id=row[0], type=row[1], occurred_at=row[2], properties=row[3] or {}) for row in rows]


# --- Facts sent through the API, and filtered lists ----------------------------------------------------------------


def event_ids_by_key(*, source: str, idempotency_keys: Iterable[str]) -> dict[str, int]:
    """``{idempotency key: event id}`` of the facts of ``source`` already stored under those keys (one query)."""
    wanted = sorted(set(idempotency_keys))
    if not wanted:
        return {}
    rows = Event.objects.filter(source=source, idempotency_key__in=wanted).values_list("idempotency_key", "id")
    return {key: pk for key, pk in rows if key is not None}


def events_matching(
    *,
    source: str | None = None,
    type: str | None = None,
    since: dt.datetime | None = None,
    company_id: int | None = None,
    contact_id: int | None = None,
) -> QuerySet[Event]:
    """Facts oldest id first (a stable order to page), filtered by source, type, time and customer."""
    events = Event.objects.all()
    if source:
        events = events.filter(source=source)
    if type:
        events = events.filter(type=type)
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if company_id is not None:
        events = events.filter(company_id=company_id)
    if contact_id is not None:
        events = events.filter(contact_id=contact_id)
    return events.order_by("id")


# --- The tag screen ---------------------------------------------------------------------------------------------


def user_manages_tracking_sites(*, user: Any) -> bool:
    """Sites decide which web pages may write into the timeline: administrators only."""
    return user_is_administrator(user=user)


@dataclass(frozen=True, slots=True)
class SiteActivity:
    site: TrackingSite
    received_24h: int
    last_received_at: dt.datetime | None


def tracking_sites_with_activity(*, now: dt.datetime) -> list[SiteActivity]:
    """Every site with the events it sent in the last 24 hours and when it last sent any (two queries)."""
    since = now - dt.timedelta(hours=24)
    recent = dict(
        TrackingSiteHour.objects.filter(hour__gt=since - dt.timedelta(hours=1))
        .values("site_id")
        .annotate(total=Sum("received"))
        .values_list("site_id", "total")
    )
    last = dict(
        TrackingSiteHour.objects.values("site_id").annotate(at=Max("last_received_at")).values_list("site_id", "at")
    )
    return [
        SiteActivity(site=site, received_24h=recent.get(site.pk, 0), last_received_at=last.get(site.pk))
        for site in TrackingSite.objects.order_by("name")
    ]


def tracking_site_get(*, site_id: int) -> TrackingSite | None:
    return TrackingSite.objects.filter(pk=site_id).first()


def tracking_site_hours(*, site_id: int, now: dt.datetime, hours: int = 24) -> list[tuple[dt.datetime, int]]:
    """Events received per hour for the last ``hours`` hours, oldest first, hours without events as 0."""
    current = now.replace(minute=0, second=0, microsecond=0)
    slots = [current - dt.timedelta(hours=n) for n in range(hours - 1, -1, -1)]
    counts = dict(TrackingSiteHour.objects.filter(site_id=site_id, hour__gte=slots[0]).values_list("hour", "received"))
    return [(slot, counts.get(slot, 0)) for slot in slots]


def tracking_site_recent_events(*, site_id: int, limit: int = 20) -> list[Event]:
    """The newest events the site's pages sent (the timeline is searched only when the site sent any lately)."""
    if not TrackingSiteHour.objects.filter(site_id=site_id).exists():
        return []
    return list(
        Event.objects.filter(source="tag", idempotency_key__startswith=f"{site_id}:")
        .select_related("contact", "company")
        .order_by("-id")[:limit]
    )


def tracking_site_snippet(*, site: TrackingSite) -> str:
    """The one line a shop puts in every page: the tag from this server, the site's write key, its consent rule."""
    base = settings.SITE_URL.rstrip("/")
    consent = " data-require-consent" if site.require_consent else ""
    return (
        f'<script async src="{base}{static("tokui/tracker/tokui.js")}" data-key="{site.write_key}"{consent}></script>'
    )


def event_ids_received_since(*, types: Sequence[str], since: dt.datetime) -> list[int]:
    """Ids of the facts of ``types`` stored since ``since`` (by arrival, not by when they happened)."""
    return list(Event.objects.filter(type__in=list(types), received_at__gte=since).values_list("pk", flat=True))
