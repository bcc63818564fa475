from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.core.cache import cache

from tokui.tracking.models import TrackingSite
from tokui.tracking.rate_limits import rate_limits_forget
from tokui.tracking.selectors import tracking_sites_forget
from tokui.tracking.services import tracking_site_create
from tokui.tracking.tag_ingest import _site_hours

SHOP_ORIGIN = "https://shop.example.jp"


@pytest.fixture(autouse=True)
def _fresh_limits_and_sites() -> Iterator[None]:
    """Rate-limit counters and remembered sites must not leak from one test into the next."""
    cache.clear()
    rate_limits_forget()
    tracking_sites_forget()
    _site_hours.take(force=True)  # counts of an earlier test's sites stay with it
    _site_hours._flushed_at = 0.0  # the first write of a test writes its counts at once
    yield
    cache.clear()
    rate_limits_forget()
    tracking_sites_forget()


@pytest.fixture
def site(db: None) -> TrackingSite:
    return tracking_site_create(name="テスト店舗", allowed_origins=[SHOP_ORIGIN, "http://localhost:3000"])


@pytest.fixture
def rate_window() -> None:
    """Rate limits count in fixed one-minute windows: start a test that counts requests well inside one, so a
    minute that ends halfway through does not reset its counter (the test would then see no 429)."""
    into_minute = time.time() % 60
    if into_minute > 45:
        time.sleep(60 - into_minute + 0.5)
