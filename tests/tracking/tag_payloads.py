"""Batches as the tag sends them, for the endpoint tests."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django.utils import timezone


def tag_event(type: str = "page_viewed", *, at: dt.datetime | None = None, **properties: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": type,
        "occurred_at": (at or timezone.now()).isoformat(),
        "properties": properties,
    }


def tag_batch(
    *events: dict[str, Any], anonymous_id: str = "anon-0123456789", consent: bool = False, identified: bool = False
) -> bytes:
    return json.dumps(
        {
            "anonymous_id": anonymous_id,
            "sent_at": timezone.now().isoformat(),
            "consent": consent,
            "identified": identified,
            "events": list(events),
        }
    ).encode()
