"""The outbox: every mail is a row (with its idempotency key and Message-ID) before any channel is called.

Ways in (``messages_send_to_contacts``, ``message_send_transactional``, ``messages_send_test``) only write rows
and, after commit, queue delivery tasks that carry batches of ids. ``outbox_deliver`` claims due rows in one
statement (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so any number of workers share the queue), checks each mail
again at send time (address, suppression list, consent, topic opt-out, frequency cap, quiet hours, per-domain
rate), renders the rest, hands them to the channel over one connection, and records every attempt in bulk.

Outcomes: accepted → ``sent``; a temporary refusal (4xx, connection refused) → queued again with a growing
delay, until ``TOKUI_MAIL_MAX_ATTEMPTS``; a permanent refusal (5xx) → ``failed``, and a "no such mailbox" reply
(550/551/553) puts the address on the suppression list; a connection lost once the message was handed over →
``unknown``, never resent. A worker killed mid-batch leaves rows in ``sending``; ``outbox_requeue_stale`` queues them
again after the lease, so towards the mail server delivery is at-least-once with a stable Message-ID.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from itertools import batched
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from tokui.customers.models import Contact
from tokui.messaging.channels.base import MailChannel, SendResult
from tokui.messaging.enums import (
    AttemptOutcome,
    MailKind,
    OutboxOrigin,
    OutboxStatus,
    SkipReason,
    SuppressionReason,
)
from tokui.messaging.hand_over import render_and_hand_over
from tokui.messaging.models import MailTemplateVersion, OutboxMessage
from tokui.messaging.outbox_rows import (
    AttemptRow,
    ClaimedMail,
    NewRow,
    claimed_mails,
    delivery_attempts_insert,
    outbox_claim_ids_orm,
    outbox_claim_ids_postgresql,
    outbox_mark_sent,
    outbox_rows_finish,
    outbox_rows_requeue,
    outbox_rows_requeue_stale,
    outbox_rows_store,
)
from tokui.messaging.selectors import (
    contact_addresses,
    contacts_opted_out_of,
    contacts_with_mail_consent,
    domain_sent_counts,
    marketing_sent_counts,
    suppressed_reasons,
)
from tokui.messaging.suppression import mail_bounce_record
from tokui.tracking.enums import EventSource, EventType
from tokui.tracking.services import events_append_rows
from tokui.tracking.types import EventIn

logger = logging.getLogger(__name__)

RETRY_DELAYS = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=15), dt.timedelta(hours=1))
LEASE = dt.timedelta(minutes=10)
RATE_WINDOW = dt.timedelta(minutes=1)
# "No such user / mailbox unavailable / mailbox name not allowed": the address is wrong for good. 552 (mailbox
# full) and 554 (content refused) are not the address's fault, so they fail the mail but do not suppress it.
HARD_BOUNCE_CODES = frozenset({550, 551, 553})
# Unsubscribed addresses still receive transactional mail (an order confirmation); bounces and spam reports do not.
_BLOCKS_TRANSACTIONAL = frozenset(
    {SuppressionReason.HARD_BOUNCE, SuppressionReason.COMPLAINT, SuppressionReason.MANUAL}
)


# --- Ways in ---------------------------------------------------------------------------------------------------------


def message_id_domain() -> str:
    domain = settings.MAIL_MESSAGE_ID_DOMAIN or settings.MAIL_DKIM_DOMAIN
    return domain or parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "tokui.localhost"


def new_message_id(domain: str | None = None) -> str:
    """A Message-ID fixed when the row is written: a resend after a crash carries the same one."""
    return f"<{uuid.uuid4().hex}@{domain or message_id_domain()}>"


def _domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


@dataclass(frozen=True, slots=True)
class SendBatch:
    outbox_ids: list[int]
    created: int


def _deliver_after_commit(outbox_ids: Sequence[int]) -> None:
    from tokui.messaging.tasks import deliver_outbox  # the task module imports the services, not the reverse

    def enqueue() -> None:
        for chunk in batched(outbox_ids, settings.MAIL_BATCH_SIZE, strict=False):
            deliver_outbox.enqueue(outbox_ids=list(chunk))

    transaction.on_commit(enqueue)


@transaction.atomic
def messages_send_to_contacts(
    *,
    template_version: MailTemplateVersion,
    contact_ids: Iterable[int],
    campaign_id: str = "",
    data: dict[str, Any] | None = None,
    created_by: Any = None,
    idempotency_prefix: str = "",
    origin: OutboxOrigin = OutboxOrigin.CONTACTS,
) -> SendBatch:
    """Queue one mail per contact (a one-off send; the segment picker hands its members here).

    Idempotent per ``idempotency_prefix`` and contact: calling again with the same prefix queues nothing new.
    Contacts without an address get a row too, marked not sent at delivery, so the report adds up.
    """
    now = timezone.now()
    prefix = idempotency_prefix or f"send:{uuid.uuid4().hex}"
    template = template_version.template
    rows: list[NewRow] = []
    domain = message_id_domain()
    created_by_id = created_by.pk if getattr(created_by, "pk", None) else None
    for chunk in batched(sorted(set(contact_ids)), 2000, strict=False):
        addresses = contact_addresses(contact_ids=chunk)
        for contact_id in chunk:
            address = addresses.get(contact_id)
            if address is None:
                continue
            email = address.strip()
            rows.append(
                NewRow(
                    idempotency_key=f"{prefix}:{contact_id}",
                    contact_id=contact_id,
                    to_email=email,
                    to_domain=_domain(email),
                    template_version_id=template_version.pk,
                    kind=template.kind,
                    origin=origin,
                    campaign_id=campaign_id,
                    data=data or {},
                    message_id=new_message_id(domain),
                    created_by_id=created_by_id,
                )
            )
    stored = outbox_rows_store(rows, due_at=now)
    _deliver_after_commit(stored.ids)
    return SendBatch(outbox_ids=stored.ids, created=stored.created)


@transaction.atomic
def message_send_transactional(
    *, template_version: MailTemplateVersion, contact: Contact, idempotency_key: str, data: dict[str, Any] | None = None
) -> tuple[OutboxMessage, bool]:
    """One mail to one contact (order confirmation, ...) through the same outbox. The same key twice queues one
    mail: the second call answers the first row and ``False``."""
    key = f"api:{idempotency_key}"
    existing = OutboxMessage.objects.filter(idempotency_key=f"{key}:{contact.pk}").first()
    if existing is not None:
        return existing, False
    batch = messages_send_to_contacts(
        template_version=template_version,
        contact_ids=[contact.pk],
        data=data,
        idempotency_prefix=key,
        origin=OutboxOrigin.API,
    )
    return OutboxMessage.objects.get(pk=batch.outbox_ids[0]), True


@transaction.atomic
def messages_send_test(
    *, template_version: MailTemplateVersion, emails: Sequence[str], preview_contact_id: int | None, created_by: Any
) -> list[int]:
    """Test mails to staff addresses, personalised as ``preview_contact_id`` (or sample data). They skip consent,
    caps and quiet hours, and are marked as tests in the Outbox."""
    now = timezone.now()
    prefix = f"test:{uuid.uuid4().hex}"
    rows = [
        OutboxMessage(
            idempotency_key=f"{prefix}:{index}",
            contact=None,
            to_email=email.strip(),
            to_domain=_domain(email),
            template_version=template_version,
            kind=template_version.template.kind,
            origin=OutboxOrigin.TEST,
            data={"preview_contact_id": preview_contact_id} if preview_contact_id else {},
            message_id=new_message_id(),
            created_by=created_by if getattr(created_by, "pk", None) else None,
        )
        for index, email in enumerate(dict.fromkeys(e.strip() for e in emails if e.strip()))
    ]
    ids = outbox_rows_store(rows, due_at=now).ids
    _deliver_after_commit(ids)
    return ids


# --- Delivery ----------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    deferred: int = 0


def outbox_claim(*, outbox_ids: Sequence[int] | None = None, limit: int | None = None) -> list[ClaimedMail]:
    """Take due queued rows for this worker: ``sending`` from now on, invisible to other workers."""
    now = timezone.now()
    limit = limit or settings.MAIL_BATCH_SIZE
    claim = outbox_claim_ids_postgresql if connection.vendor == "postgresql" else outbox_claim_ids_orm
    return claimed_mails(claim(outbox_ids=outbox_ids, limit=limit, now=now))


def outbox_requeue_stale(*, lease: dt.timedelta = LEASE) -> int:
    """Rows a killed worker left in ``sending`` go back to the queue (they keep their Message-ID)."""
    return outbox_rows_requeue_stale(claimed_before=timezone.now() - lease)


def quiet_hours_end(now: dt.datetime) -> dt.datetime | None:
    """When marketing mail may go again if ``now`` is inside the quiet hours, else ``None``."""
    if not settings.MAIL_QUIET_HOURS:
        return None
    start, end = settings.MAIL_QUIET_HOURS
    local = timezone.localtime(now)
    hour = local.hour
    quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return None
    resume = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if resume <= local:
        resume += dt.timedelta(days=1)
    return resume


@dataclass(slots=True)
class _Decisions:
    send: list[ClaimedMail] = field(default_factory=list)
    skip: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    defer: dict[dt.datetime, list[int]] = field(default_factory=lambda: defaultdict(list))


def _decide(messages: list[ClaimedMail], *, now: dt.datetime) -> _Decisions:
    """The send-time checks, each read once for the whole batch."""
    decisions = _Decisions()
    suppressed = suppressed_reasons(emails=[m.to_email for m in messages])
    real = [m for m in messages if m.origin != OutboxOrigin.TEST]
    marketing = [m for m in real if m.kind == MailKind.MARKETING and m.contact_id]
    contact_ids = [m.contact_id for m in marketing if m.contact_id]
    consented = contacts_with_mail_consent(contact_ids=contact_ids) if marketing else set()
    opted_out: dict[str, set[int]] = {}
    for topic in {m.template_version.template.topic for m in marketing}:
        opted_out[topic] = contacts_opted_out_of(contact_ids=contact_ids, topic=topic)
    cap = settings.MAIL_FREQUENCY_CAP
    sent_counts = (
        marketing_sent_counts(contact_ids=contact_ids, since=now - dt.timedelta(days=settings.MAIL_FREQUENCY_CAP_DAYS))
        if cap and marketing
        else {}
    )
    quiet_until = quiet_hours_end(now)
    limits = settings.MAIL_DOMAIN_RATE_LIMITS
    domain_counts = domain_sent_counts(domains=limits, since=now - RATE_WINDOW) if limits else {}
    for message in messages:
        is_test = message.origin == OutboxOrigin.TEST
        reason = suppressed.get(message.to_email.lower())
        if not is_test and message.contact_id is None:
            decisions.skip[SkipReason.CONTACT_DELETED].append(message.pk)
        elif not message.to_email or "@" not in message.to_email:
            decisions.skip[SkipReason.NO_ADDRESS].append(message.pk)
        elif reason and (message.kind == MailKind.MARKETING or reason in _BLOCKS_TRANSACTIONAL) and not is_test:
            decisions.skip[SkipReason.SUPPRESSED].append(message.pk)
        elif not is_test and message.kind == MailKind.MARKETING and message.contact_id not in consented:
            decisions.skip[SkipReason.NO_CONSENT].append(message.pk)
        elif (
            not is_test
            and message.kind == MailKind.MARKETING
            and message.contact_id in opted_out.get(message.template_version.template.topic, set())
        ):
            decisions.skip[SkipReason.OPTED_OUT].append(message.pk)
        elif (
            not is_test
            and message.kind == MailKind.MARKETING
            and cap
            and sent_counts.get(message.contact_id or 0, 0) >= cap
        ):
            decisions.skip[SkipReason.FREQUENCY_CAP].append(message.pk)
        elif not is_test and message.kind == MailKind.MARKETING and quiet_until is not None:
            decisions.defer[quiet_until].append(message.pk)
        elif message.to_domain in limits and domain_counts.get(message.to_domain, 0) >= limits[message.to_domain]:
            decisions.defer[now + RATE_WINDOW].append(message.pk)
        else:
            if message.to_domain in limits:
                domain_counts[message.to_domain] = domain_counts.get(message.to_domain, 0) + 1
            if cap and message.kind == MailKind.MARKETING and message.contact_id:
                sent_counts[message.contact_id] = sent_counts.get(message.contact_id, 0) + 1
            decisions.send.append(message)
    return decisions


def outbox_deliver(
    *, outbox_ids: Sequence[int] | None = None, limit: int | None = None, channel: MailChannel | None = None
) -> DeliveryReport:
    """Claim, check, render, send and record one batch. Safe to run in any number of workers at once."""
    messages = outbox_claim(outbox_ids=outbox_ids, limit=limit)
    report = DeliveryReport(claimed=len(messages))
    if not messages:
        return report
    now = timezone.now()
    decisions = _decide(messages, now=now)
    results, render_errors = render_and_hand_over(decisions.send, channel)
    by_id = {message.pk: message for message in messages}
    outbox_record(
        results=results, messages=by_id, decisions=decisions, render_errors=render_errors, now=now, report=report
    )
    return report


def _retry_delay(attempts: int) -> dt.timedelta:
    return RETRY_DELAYS[min(attempts - 1, len(RETRY_DELAYS) - 1)]


def outbox_record(
    *,
    results: Sequence[SendResult],
    messages: dict[int, ClaimedMail],
    decisions: _Decisions,
    render_errors: dict[int, str],
    now: dt.datetime,
    report: DeliveryReport,
) -> None:
    """Write the batch's outcomes in a handful of statements: statuses, the delivery log, the facts."""
    channel_name = settings.MAIL_CHANNEL
    attempts: list[AttemptRow] = []
    by_outcome: dict[str, list[SendResult]] = defaultdict(list)
    for result in results:
        attempts.append(
            _log_row(
                messages[result.outbox_id], now=now, outcome=str(result.outcome), code=result.code,
                response=result.response[:2000], channel=channel_name,
            )
        )  # fmt: skip
        by_outcome[result.outcome].append(result)
    with transaction.atomic():
        sent = [result.outbox_id for result in by_outcome[AttemptOutcome.SENT]]
        outbox_mark_sent(sent, now=now)
        for result in by_outcome[AttemptOutcome.UNKNOWN]:
            outbox_rows_finish(
                [result.outbox_id], status=OutboxStatus.UNKNOWN, attempts=F("attempts") + 1, last_error=result.response
            )
        for result in by_outcome[AttemptOutcome.TEMPORARY]:
            tries = messages[result.outbox_id].attempts + 1
            if tries >= settings.MAIL_MAX_ATTEMPTS:
                outbox_rows_finish(
                    [result.outbox_id], status=OutboxStatus.FAILED, attempts=tries, last_error=result.response
                )
                report.failed += 1
            else:
                outbox_rows_requeue(
                    [result.outbox_id], at=now + _retry_delay(tries), attempts=tries, last_error=result.response
                )
                report.retried += 1
        for result in by_outcome[AttemptOutcome.PERMANENT]:
            outbox_rows_finish(
                [result.outbox_id], status=OutboxStatus.FAILED, attempts=F("attempts") + 1, last_error=result.response
            )
        for message_id, error in render_errors.items():
            outbox_rows_finish(
                [message_id], status=OutboxStatus.FAILED, skip_reason=SkipReason.RENDER_ERROR, last_error=error
            )
        for reason, ids in decisions.skip.items():
            outbox_rows_finish(ids, status=OutboxStatus.SUPPRESSED, skip_reason=reason)
        for until, ids in decisions.defer.items():
            outbox_rows_requeue(ids, at=until)
            deferred = str(AttemptOutcome.DEFERRED)
            attempts += [
                _log_row(messages[pk], now=now, outcome=deferred, code=None, response=str(until), channel="")
                for pk in ids
            ]
        delivery_attempts_insert(attempts)
    report.sent += len(sent)
    report.unknown += len(by_outcome[AttemptOutcome.UNKNOWN])
    report.failed += len(by_outcome[AttemptOutcome.PERMANENT]) + len(render_errors)
    report.skipped += sum(len(ids) for ids in decisions.skip.values())
    report.deferred += sum(len(ids) for ids in decisions.defer.values())
    _facts(results=results, messages=messages, now=now)
    for result in by_outcome[AttemptOutcome.PERMANENT]:
        message = messages[result.outbox_id]
        if result.code in HARD_BOUNCE_CODES and message.origin != OutboxOrigin.TEST:
            mail_bounce_record(
                email=message.to_email,
                reason=SuppressionReason.HARD_BOUNCE,
                source="smtp",
                detail=f"{result.code} {result.response}",
                outbox_id=message.pk,
            )


def _log_row(
    message: ClaimedMail, *, now: dt.datetime, outcome: str, code: int | None, response: str, channel: str
) -> AttemptRow:
    """A delivery log row, with the message's recipient and kind that caps and domain rates count (ADR 39)."""
    return (message.pk, now, outcome, code, response, channel, message.contact_id, message.to_domain, message.kind)


def _facts(*, results: Sequence[SendResult], messages: dict[int, ClaimedMail], now: dt.datetime) -> None:
    events = []
    for result in results:
        message = messages[result.outbox_id]
        if message.contact_id is None or message.origin == OutboxOrigin.TEST:
            continue
        if result.outcome == AttemptOutcome.SENT:
            event_type = EventType.MAIL_SENT
        elif result.outcome == AttemptOutcome.PERMANENT:
            event_type = EventType.MAIL_FAILED
        else:
            continue
        company = message.recipient.company_id if message.recipient is not None else None
        events.append(
            EventIn(
                type=event_type.value,
                occurred_at=now,
                contact_id=message.contact_id,
                company_id=company,
                properties={
                    "message_id": message.pk,
                    "template_id": message.template_version.template_id,
                    "campaign_id": message.campaign_id,
                    "kind": message.kind,
                },
                source=EventSource.MAIL.value,
            )
        )
    if events:
        events_append_rows(events=events)


def outbox_deliver_due(*, max_batches: int = 20) -> DeliveryReport:
    """The periodic sweep: stale claims back to the queue, then due mail (retries, deferred) in batches."""
    outbox_requeue_stale()
    total = DeliveryReport()
    for _batch in range(max_batches):
        report = outbox_deliver()
        for name in ("claimed", "sent", "retried", "failed", "unknown", "skipped", "deferred"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        if report.claimed == 0:
            break
    return total
