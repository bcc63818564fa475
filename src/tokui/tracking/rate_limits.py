"""Fixed-window request counters: in each process's memory, or in Redis when configured.

A counter is one per scope, subject and one-minute window. Without Redis (Django's local-memory cache) each
process counts alone, so the limit holds per process; the counters are then a plain dictionary of this process,
since the local-memory cache would pickle and lock every count (measured: a sixth of the ingest server's time per
request). With Redis (``TOKUI_REDIS_URL``) the limit holds across every process and machine: ``incr`` comes first
because the key usually exists; only the first request of a window pays for the ``add``.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.core.cache import cache

_lock = threading.Lock()
_window = -1
_counts: dict[tuple[str, str], int] = {}


def _shared() -> bool:
    return "locmem" not in str(settings.CACHES["default"]["BACKEND"]).lower()


def _count_locally(scope: str, subject: str, window: int) -> int:
    global _window
    with _lock:
        if window != _window:
            # A new window: the old counts are of no use any more (this also keeps the dictionary small).
            _counts.clear()
            _window = window
        count = _counts.get((scope, subject), 0) + 1
        _counts[(scope, subject)] = count
        return count


def _count_shared(scope: str, subject: str, window: int, window_seconds: int) -> int:
    key = f"tokui:rl:{scope}:{subject}:{window}"
    try:
        return int(cache.incr(key))
    except ValueError:
        # The first request of the window creates the key; if another one did so in between, count on it.
        return 1 if cache.add(key, 1, timeout=window_seconds + 1) else int(cache.incr(key))


def rate_limit_exceeded(*, scope: str, subject: str, limit: int, window_seconds: int = 60) -> int | None:
    """Count one request of ``subject``; return the seconds to wait when it is over ``limit`` in this window.

    A limit of 0 or less turns the counter off.
    """
    if limit <= 0:
        return None
    now = time.time()
    window = int(now // window_seconds)
    if _shared():
        count = _count_shared(scope, subject, window, window_seconds)
    else:
        count = _count_locally(f"{scope}:{window_seconds}", subject, window)
    if count > limit:
        return max(1, int((window + 1) * window_seconds - now))
    return None


def rate_limits_forget() -> None:
    """Start every local counter again (tests)."""
    global _window
    with _lock:
        _counts.clear()
        _window = -1
