from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from tokui.tracking.models import TrackingSite
from tokui.tracking.selectors import tracking_sites_forget
from tokui.tracking.services import tracking_site_create

SHOP_ORIGIN = "https://shop.example.jp"


@pytest.fixture(autouse=True)
def _fresh_limits_and_sites() -> Iterator[None]:
    """Rate-limit counters and remembered sites must not leak from one test into the next."""
    cache.clear()
    tracking_sites_forget()
    yield
    cache.clear()
    tracking_sites_forget()


@pytest.fixture
def site(db: None) -> TrackingSite:
    return tracking_site_create(name="テスト店舗", allowed_origins=[SHOP_ORIGIN, "http://localhost:3000"])
