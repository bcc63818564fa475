"""Site time: everything is stored in UTC and scheduled and shown in the site zone (Asia/Tokyo by default)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def site_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_now() -> dt.datetime:
    return timezone.now().astimezone(site_zone())


def local_today() -> dt.date:
    return local_now().date()


def local_date(value: dt.datetime) -> dt.date:
    """The calendar day of an aware datetime in the site zone (an order at 23:30 JST belongs to that JST day)."""
    return value.astimezone(site_zone()).date()


def start_of_local_day(day: dt.date) -> dt.datetime:
    """The UTC-aware instant at which ``day`` begins in the site zone."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=site_zone())


def start_of_local_month(day: dt.date) -> dt.datetime:
    return start_of_local_day(day.replace(day=1))


def months_between(first: dt.date, later: dt.date) -> int:
    """Calendar months from ``first``'s month to ``later``'s (0 within one month; the days do not count)."""
    return (later.year - first.year) * 12 + later.month - first.month


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (or earlier), clamped to the last day of a shorter month."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")
