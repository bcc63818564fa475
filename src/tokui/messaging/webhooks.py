"""Bounces, complaints and unsubscribes reported by an ESP through django-anymail's tracking webhooks.

anymail verifies and normalises each ESP's webhook (``/m/esp/<esp>/tracking/``, secret in
``TOKUI_ANYMAIL_WEBHOOK_SECRET``) and announces each event with its ``tracking`` signal; the one receiver here
calls one service per event.
"""

from __future__ import annotations

from typing import Any

from anymail.signals import AnymailTrackingEvent, tracking  # type: ignore[import-untyped]

from tokui.messaging.enums import SuppressionReason
from tokui.messaging.suppression import mail_bounce_record

_REASONS = {
    "bounced": SuppressionReason.HARD_BOUNCE,
    "rejected": SuppressionReason.HARD_BOUNCE,
    "complained": SuppressionReason.COMPLAINT,
    "unsubscribed": SuppressionReason.UNSUBSCRIBED,
}


def esp_event_receive(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    reason = _REASONS.get(str(event.event_type))
    if reason is None or not event.recipient:
        return  # deliveries, opens and clicks: Tokui counts its own
    metadata = event.metadata or {}
    outbox_id = metadata.get("tokui_outbox_id")
    mail_bounce_record(
        email=str(event.recipient),
        reason=reason,
        source=f"esp:{esp_name}"[:100],
        detail=str(event.description or event.mta_response or event.reject_reason or "")[:2000],
        outbox_id=int(str(outbox_id)) if str(outbox_id or "").isdigit() else None,
    )


def connect() -> None:
    tracking.connect(esp_event_receive, dispatch_uid="tokui.messaging.esp_event_receive")
