"""Mail through an ESP's HTTP API with django-anymail (SES, SendGrid, Postmark, Mailgun, ...).

The ESP gets the rendered parts (subject, text, HTML) and our headers (Message-ID, List-Unsubscribe); one
connection (HTTP session) carries a whole batch. Where the ESP merges per-recipient values into one body
(``esp_merge``: Mailgun, SendGrid), mails of one version go up to 1,000 to a call, each recipient with only its
fields (ADR 32); elsewhere, and for a mail that had to be rendered whole, one call a mail. The ESP's own tracking
is not needed: links and the open pixel are Tokui's already. Bounces and complaints come back through anymail's
tracking webhooks (``messaging.webhooks``), which find the mail by its ``tokui_outbox_id`` metadata.
"""

from __future__ import annotations

from collections.abc import Sequence

from anymail.exceptions import AnymailAPIError, AnymailError  # type: ignore[import-untyped]
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils.module_loading import import_string

from tokui.messaging.channels.base import Envelope, MergeParts, SendResult, mail_channels
from tokui.messaging.channels.esp_merge import MergeSyntax, merge_syntaxes
from tokui.messaging.enums import AttemptOutcome

_ACCEPTED = {"sent", "queued", "scheduled"}
_REFUSED = {"rejected", "invalid"}
SINGLE_SLICE = 10


def _failure(error: AnymailError) -> tuple[AttemptOutcome, int | None, str]:
    """What a failed call means for each mail in it."""
    text = str(error)[:500]
    if isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None)
        if status is None:
            # The request may have reached the ESP before the connection failed: do not send it again.
            return AttemptOutcome.UNKNOWN, None, text
        outcome = AttemptOutcome.TEMPORARY if status >= 500 or status == 429 else AttemptOutcome.PERMANENT
        return outcome, status, text
    return AttemptOutcome.PERMANENT, None, text


def _result(outbox_id: int, statuses: set[str], esp_id: str) -> SendResult:
    if statuses & _ACCEPTED:
        return SendResult(outbox_id, AttemptOutcome.SENT, None, esp_id)
    if statuses & _REFUSED:
        return SendResult(outbox_id, AttemptOutcome.PERMANENT, None, ",".join(sorted(statuses)))
    return SendResult(outbox_id, AttemptOutcome.UNKNOWN, None, ",".join(sorted(statuses)))


class EspChannel:
    name = "esp"

    def __init__(self, *, backend: str) -> None:
        self.connection = import_string(backend)(fail_silently=False)
        self.syntax: MergeSyntax | None = merge_syntaxes.for_backend(backend)
        self._fits: dict[int, bool] = {}

    @property
    def merges(self) -> bool:
        """Whether ``hand_over`` should render fields for merging instead of whole mails."""
        return self.syntax is not None

    @property
    def hand_over_slice(self) -> int:
        """How many mails ``hand_over`` renders before handing them over: a whole call's worth when merging."""
        return self.syntax.max_recipients if self.syntax is not None else SINGLE_SLICE

    # --- one call a mail ----------------------------------------------------------------------------------------

    def _message(self, envelope: Envelope) -> EmailMultiAlternatives:
        subject, html, text = envelope.subject, envelope.html, envelope.text
        if envelope.merge is not None and envelope.merge_fields is not None:
            subject, html, text = envelope.merge.merged(envelope.merge_fields)
        message = EmailMultiAlternatives(
            subject=subject,
            body=text,
            from_email=envelope.from_header or envelope.mail_from,
            to=[envelope.to],
            headers=envelope.headers,
            connection=self.connection,
        )
        message.attach_alternative(html, "text/html")
        message.metadata = {"tokui_outbox_id": str(envelope.outbox_id)}  # type: ignore[attr-defined]
        return message

    def _send_one(self, envelope: Envelope) -> SendResult:
        message = self._message(envelope)
        try:
            message.send()
        except AnymailError as error:
            return SendResult(envelope.outbox_id, *_failure(error))
        status = getattr(message, "anymail_status", None)
        statuses = set(getattr(status, "status", None) or {"sent"})
        return _result(envelope.outbox_id, statuses, str(getattr(status, "message_id", "") or ""))

    # --- one call for many mails of a version -------------------------------------------------------------------

    def _mergeable(self, envelope: Envelope) -> bool:
        if self.syntax is None or envelope.merge is None or envelope.merge_fields is None:
            return False
        key = envelope.merge.key
        fits = self._fits.get(key)
        if fits is None:
            fits = self._fits[key] = self.syntax.reserved not in envelope.merge.literal_text()
        return fits and self.syntax.takes(envelope.merge_fields)

    def _calls(self, envelopes: list[Envelope]) -> list[list[Envelope]]:
        """The mails of one version in calls of at most ``max_recipients``, no address twice in a call (the ESP
        keys each recipient's values by address)."""
        assert self.syntax is not None
        calls: list[tuple[set[str], list[Envelope]]] = []
        for envelope in envelopes:
            address = envelope.to.lower()
            for seen, call in calls:
                if address not in seen and len(call) < self.syntax.max_recipients:
                    seen.add(address)
                    call.append(envelope)
                    break
            else:
                calls.append(({address}, [envelope]))
        return [call for _seen, call in calls]

    def _send_merged(self, call: list[Envelope]) -> list[SendResult]:
        assert self.syntax is not None
        form: MergeParts = call[0].merge  # type: ignore[assignment]
        subject, html, text = form.fixed_parts(self.syntax.placeholder, key=self.syntax.name)
        # Headers with one value for all (List-Unsubscribe-Post) go once; the rest per recipient.
        names = {name for envelope in call for name in envelope.headers}
        shared = {
            name: call[0].headers[name]
            for name in names
            if all(envelope.headers.get(name) == call[0].headers.get(name) for envelope in call)
        }
        message = EmailMultiAlternatives(
            subject=subject,
            body=text,
            from_email=call[0].from_header or call[0].mail_from,
            to=[envelope.to for envelope in call],
            headers=shared,
            connection=self.connection,
        )
        message.attach_alternative(html, "text/html")
        message.merge_data = {envelope.to: envelope.merge_fields for envelope in call}  # type: ignore[attr-defined]
        message.merge_headers = {  # type: ignore[attr-defined]
            envelope.to: {name: value for name, value in envelope.headers.items() if name not in shared}
            for envelope in call
        }
        message.merge_metadata = {  # type: ignore[attr-defined]
            envelope.to: {"tokui_outbox_id": str(envelope.outbox_id)} for envelope in call
        }
        message.esp_extra = dict(self.syntax.esp_extra)  # type: ignore[attr-defined]
        try:
            message.send()
        except AnymailError as error:
            outcome = _failure(error)
            return [SendResult(envelope.outbox_id, *outcome) for envelope in call]
        status = getattr(message, "anymail_status", None)
        recipients = getattr(status, "recipients", None) or {}
        results = []
        for envelope in call:
            found = recipients.get(envelope.to) or recipients.get(envelope.to.lower())
            if found is None:  # the ESP did not say what became of this one: not sent again
                results.append(SendResult(envelope.outbox_id, AttemptOutcome.UNKNOWN, None, "no recipient status"))
            else:
                results.append(_result(envelope.outbox_id, {str(found.status)}, str(found.message_id or "")))
        return results

    def send_many(self, envelopes: Sequence[Envelope]) -> list[SendResult]:
        self.connection.open()
        by_id: dict[int, SendResult] = {}
        versions: dict[int, list[Envelope]] = {}
        for envelope in envelopes:
            if self._mergeable(envelope):
                versions.setdefault(envelope.merge.key, []).append(envelope)  # type: ignore[union-attr]
            else:
                by_id[envelope.outbox_id] = self._send_one(envelope)
        for same_version in versions.values():
            for call in self._calls(same_version):
                if len(call) == 1:
                    by_id[call[0].outbox_id] = self._send_one(call[0])
                    continue
                for result in self._send_merged(call):
                    by_id[result.outbox_id] = result
        return [by_id[envelope.outbox_id] for envelope in envelopes]

    def close(self) -> None:
        self.connection.close()


@mail_channels.register("esp")
def esp_channel() -> EspChannel:
    return EspChannel(backend=settings.MAIL_ESP_BACKEND or "anymail.backends.test.EmailBackend")
