"""What the ingest endpoint refused for each site, kept in Django's cache for the tag screen.

The person installing the tag needs to see why a shop's pages send nothing: an origin not registered, a snippet
without ``data-require-consent`` on a site that requires consent, events with bad fields. Refusals are counted per
site, reason and hour, and the last one of each reason is kept with its origin and message. Only refusals cost
anything; accepted batches never come here. With the local-memory cache each process keeps its own (the screen
says so); with Redis (``TOKUI_REDIS_URL``) every process counts together.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

HOURS_KEPT = 24
_TTL = (HOURS_KEPT + 1) * 3600


def _codes_key(site_id: int) -> str:
    return f"tokui:tag:refused:{site_id}:codes"


def _count_key(site_id: int, code: str, hour: int) -> str:
    return f"tokui:tag:refused:{site_id}:{code}:{hour}"


def _last_key(site_id: int, code: str) -> str:
    return f"tokui:tag:refused:{site_id}:{code}:last"


def tag_refusal_note(*, site_id: int, code: str, origin: str, message: str, count: int = 1) -> None:
    """Count ``count`` refused requests or events of one site for one reason, and remember the latest."""
    hour = int(time.time() // 3600)
    key = _count_key(site_id, code, hour)
    try:
        cache.incr(key, count)
    except ValueError:
        if not cache.add(key, count, timeout=_TTL):
            cache.incr(key, count)
    cache.set(_last_key(site_id, code), (time.time(), origin, message), timeout=_TTL)
    codes: set[str] = cache.get(_codes_key(site_id)) or set()
    if code not in codes:
        # Not atomic: two first refusals of different reasons at once may keep one; the next refusal adds it back.
        cache.set(_codes_key(site_id), {*codes, code}, timeout=_TTL)


@dataclass(frozen=True, slots=True)
class TagRefusal:
    code: str
    count: int
    last_at: dt.datetime
    last_origin: str
    last_message: str


def tag_refusals_recent(*, site_id: int) -> list[TagRefusal]:
    """Refusals of the last 24 hours by reason, the most recent reason first."""
    codes: set[str] = cache.get(_codes_key(site_id)) or set()
    now_hour = int(time.time() // 3600)
    hours = range(now_hour - HOURS_KEPT + 1, now_hour + 1)
    refusals = []
    for code in codes:
        last = cache.get(_last_key(site_id, code))
        if last is None:
            continue
        counts = cache.get_many([_count_key(site_id, code, hour) for hour in hours])
        at, origin, message = last
        refusals.append(
            TagRefusal(
                code=code,
                count=sum(int(value) for value in counts.values()),
                last_at=dt.datetime.fromtimestamp(at, tz=dt.UTC).astimezone(timezone.get_current_timezone()),
                last_origin=origin,
                last_message=message,
            )
        )
    return sorted(refusals, key=lambda refusal: refusal.last_at, reverse=True)
