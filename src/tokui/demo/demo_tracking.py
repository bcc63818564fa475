"""The demo shop's registration for the tracking tag: a site whose write key the shop pages carry."""

from __future__ import annotations

from collections.abc import Sequence

from tokui.demo.names import DEMO_SOURCE
from tokui.tracking.models import TrackingSite
from tokui.tracking.selectors import tracking_site_by_name
from tokui.tracking.services import tracking_site_allow_origins, tracking_site_create

DEMO_SITE_NAME = "Tokui デモショップ"
DEMO_ORIGINS = ("http://127.0.0.1:8000", "http://localhost:8000")


def demo_tracking_site_ensure(*, origins: Sequence[str] = DEMO_ORIGINS) -> TrackingSite:
    """Create the demo shop's tracking site if missing, and allow ``origins``; safe to call on every start.

    The demo asks for consent like a careful Japanese shop would, and its pages name customers by the demo's
    own customer ids.
    """
    site = tracking_site_by_name(name=DEMO_SITE_NAME)
    if site is None:
        return tracking_site_create(
            name=DEMO_SITE_NAME, allowed_origins=origins, require_consent=True, contact_source=DEMO_SOURCE
        )
    return tracking_site_allow_origins(site=site, origins=origins)
