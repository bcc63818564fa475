"""Fixed-window request counters in Django's cache (Redis when configured, else each process's memory).

A counter is one cache key per scope, subject and window. ``incr`` comes first because the key usually exists;
only the first request of a window pays for the ``add``. With the local-memory cache each process counts alone, so
the limit holds per process; with Redis it holds across every process and machine.
"""

from __future__ import annotations

import time

from django.core.cache import cache


def rate_limit_exceeded(*, scope: str, subject: str, limit: int, window_seconds: int = 60) -> int | None:
    """Count one request of ``subject``; return the seconds to wait when it is over ``limit`` in this window.

    A limit of 0 or less turns the counter off.
    """
    if limit <= 0:
        return None
    now = time.time()
    window = int(now // window_seconds)
    key = f"tokui:rl:{scope}:{subject}:{window}"
    try:
        count = cache.incr(key)
    except ValueError:
        # The first request of the window creates the key; if another one did so in between, count on it.
        count = 1 if cache.add(key, 1, timeout=window_seconds + 1) else cache.incr(key)
    if count > limit:
        return max(1, int((window + 1) * window_seconds - now))
    return None
