"""Mail through an ESP's HTTP API with django-anymail (SES, SendGrid, Postmark, Mailgun, ...).

The ESP gets the rendered parts (subject, text, HTML) and our headers (Message-ID, List-Unsubscribe); one
connection (HTTP session) carries a whole batch. The ESP's own tracking is not needed: links and the open pixel
are Tokui's already. Bounces and complaints come back through anymail's tracking webhooks (``messaging.webhooks``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from anymail.exceptions import AnymailAPIError, AnymailError  # type: ignore[import-untyped]
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.module_loading import import_string

from tokui.messaging.channels.base import Envelope, SendResult, mail_channels
from tokui.messaging.enums import AttemptOutcome

_ACCEPTED = {"sent", "queued", "scheduled"}
_REFUSED = {"rejected", "invalid"}


class EspChannel:
    name = "esp"

    def __init__(self, *, backend: str) -> None:
        self.connection: Any = import_string(backend)(fail_silently=False)

    def _message(self, envelope: Envelope) -> EmailMultiAlternatives:
        message = EmailMultiAlternatives(
            subject=envelope.subject,
            body=envelope.text,
            from_email=envelope.from_header or envelope.mail_from,
            to=[envelope.to],
            headers=envelope.headers,
            connection=self.connection,
        )
        message.attach_alternative(envelope.html, "text/html")
        message.metadata = {"tokui_outbox_id": str(envelope.outbox_id)}  # type: ignore[attr-defined]
        return message

    def send_many(self, envelopes: Sequence[Envelope]) -> list[SendResult]:
        results = []
        self.connection.open()
        for envelope in envelopes:
            message = self._message(envelope)
            try:
                message.send()
            except AnymailAPIError as error:
                status = getattr(error, "status_code", None)
                if status is None:
                    # The request may have reached the ESP before the connection failed: do not send it again.
                    results.append(SendResult(envelope.outbox_id, AttemptOutcome.UNKNOWN, None, str(error)[:500]))
                else:
                    outcome = AttemptOutcome.TEMPORARY if status >= 500 or status == 429 else AttemptOutcome.PERMANENT
                    results.append(SendResult(envelope.outbox_id, outcome, status, str(error)[:500]))
                continue
            except AnymailError as error:
                results.append(SendResult(envelope.outbox_id, AttemptOutcome.PERMANENT, None, str(error)[:500]))
                continue
            status = getattr(message, "anymail_status", None)
            statuses = set(getattr(status, "status", None) or {"sent"})
            esp_id = str(getattr(status, "message_id", "") or "")
            if statuses & _ACCEPTED:
                results.append(SendResult(envelope.outbox_id, AttemptOutcome.SENT, None, esp_id))
            elif statuses & _REFUSED:
                results.append(
                    SendResult(envelope.outbox_id, AttemptOutcome.PERMANENT, None, ",".join(sorted(statuses)))
                )
            else:
                results.append(SendResult(envelope.outbox_id, AttemptOutcome.UNKNOWN, None, ",".join(sorted(statuses))))
        return results

    def close(self) -> None:
        self.connection.close()


@mail_channels.register("esp")
def esp_channel() -> EspChannel:
    return EspChannel(backend=settings.MAIL_ESP_BACKEND or "anymail.backends.test.EmailBackend")
