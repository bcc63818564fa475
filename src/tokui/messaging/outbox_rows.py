"""The outbox's batch writes: new rows with their queue entries, the claim of a batch, outcomes and the delivery log.

On PostgreSQL these are ``COPY`` and single statements with array parameters (ADR 16): per mail they cost a
fraction of the ORM's paths, whose model instances and thousand-placeholder statements dominated recording and
claiming. Other databases (SQLite in development and tests) keep the ORM paths.

A queued or claimed mail has an ``OutboxQueueEntry``; claiming marks the entry, an outcome deletes it (or puts it back
with a later time), and the message's own row changes only in columns no index holds, so its updates are HOT (ADR 39).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import batched
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone

from tokui.messaging.enums import ATTENTION_STATUSES, OutboxStatus
from tokui.messaging.models import DeliveryAttempt, MailTemplateVersion, OutboxMessage, OutboxQueueEntry
from tokui.messaging.types import MailRecipient


@dataclass(slots=True)
class NewRow:
    """An outbox row to insert: a plain object, since a model instance per recipient costs more than its insert."""

    idempotency_key: str
    contact_id: int | None
    to_email: str
    to_domain: str
    template_version_id: int
    kind: str
    origin: str
    campaign_id: str
    data: dict[str, Any]
    message_id: str
    created_by_id: int | None
    status: str = OutboxStatus.QUEUED
    skip_reason: str = ""
    attempts: int = 0
    sent_at: dt.datetime | None = None
    last_error: str = ""

    def as_model(self) -> OutboxMessage:
        return OutboxMessage(**{name: getattr(self, name) for name in self.__slots__})


_STORE_COLUMNS = (
    "idempotency_key", "contact_id", "to_email", "to_domain", "template_version_id", "kind", "origin", "campaign_id",
    "data", "status", "skip_reason", "message_id", "attempts", "sent_at", "last_error", "created_by_id", "created_at",
)  # fmt: skip


@dataclass(slots=True)
class StoredRows:
    ids: list[int]  # of every key asked for, new or already there, in id order
    created: int  # how many keys were new


def _store_postgresql(rows: Sequence[OutboxMessage | NewRow], *, due_at: dt.datetime) -> StoredRows:
    # COPY into a temporary table, then one INSERT … ON CONFLICT DO NOTHING and one join for the ids: ~30× the
    # rows/s of bulk_create's multi-row INSERTs followed by a look-up of the keys in chunks. The new rows' queue
    # entries go in with the same statement, which also counts them (no look-up of the keys before).
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    queue = connection.ops.quote_name(OutboxQueueEntry._meta.db_table)
    columns = ", ".join(_STORE_COLUMNS)
    now = timezone.now()
    # The temporary table lives until the commit: a transaction of its own when the caller has none.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS tokui_outbox_in")
        cursor.execute(
            f"CREATE TEMPORARY TABLE tokui_outbox_in ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY tokui_outbox_in ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    (
                        row.idempotency_key, row.contact_id, row.to_email, row.to_domain, row.template_version_id,
                        str(row.kind), str(row.origin), row.campaign_id, json.dumps(row.data), str(row.status),
                        str(row.skip_reason), row.message_id, row.attempts, row.sent_at, row.last_error,
                        row.created_by_id, now,
                    )
                )  # fmt: skip
        cursor.execute(
            f"WITH new AS (INSERT INTO {table} ({columns}) SELECT {columns} FROM tokui_outbox_in "
            "ON CONFLICT DO NOTHING RETURNING id, status), "
            f"entries AS (INSERT INTO {queue} (message_id, next_attempt_at) "
            "SELECT id, %s FROM new WHERE status = %s) "
            "SELECT count(*) FROM new",
            [due_at, str(OutboxStatus.QUEUED)],
        )
        created = cursor.fetchone()[0]
        cursor.execute(f"SELECT o.id FROM {table} o JOIN tokui_outbox_in i USING (idempotency_key) ORDER BY o.id")
        ids = [found[0] for found in cursor.fetchall()]
        cursor.execute("DROP TABLE tokui_outbox_in")
    return StoredRows(ids=ids, created=created)


def _ids_by_key(keys: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for chunk in batched(keys, 1000, strict=False):
        ids.update(OutboxMessage.objects.filter(idempotency_key__in=chunk).values_list("idempotency_key", "pk"))
    return ids


def outbox_rows_store(rows: Sequence[OutboxMessage | NewRow], *, due_at: dt.datetime) -> StoredRows:
    """Insert rows whose idempotency key is new, the queued ones due at ``due_at``; the ids of every key asked for
    (new or already there) and how many were new."""
    if not rows:
        return StoredRows(ids=[], created=0)
    if connection.vendor == "postgresql":
        return _store_postgresql(rows, due_at=due_at)
    with transaction.atomic():
        ids = _ids_by_key([row.idempotency_key for row in rows])
        new = {row.idempotency_key: row for row in rows if row.idempotency_key not in ids}
        models = [row.as_model() if isinstance(row, NewRow) else row for row in new.values()]
        for chunk in batched(models, 1000, strict=False):
            OutboxMessage.objects.bulk_create(chunk, ignore_conflicts=True)
        ids.update(_ids_by_key(list(new)))
        entries = [
            OutboxQueueEntry(message_id=ids[key], next_attempt_at=due_at)
            for key, row in new.items()
            if row.status == OutboxStatus.QUEUED
        ]
        OutboxQueueEntry.objects.bulk_create(entries, batch_size=1000, ignore_conflicts=True)
    return StoredRows(ids=sorted(ids.values()), created=len(new))


def outbox_claim_ids_postgresql(*, outbox_ids: Sequence[int] | None, limit: int, now: dt.datetime) -> list[int]:
    # One statement: the due entries are locked, skipped by other workers and marked, and their messages marked
    # ``sending``, in one round trip; ids travel as one array parameter instead of a thousand placeholders.
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    queue = connection.ops.quote_name(OutboxQueueEntry._meta.db_table)
    only: list[Any] = []
    where_ids = ""
    if outbox_ids is not None:
        where_ids, only = "AND message_id = ANY(%s)", [list(outbox_ids)]
    sql = (
        f"WITH claimed AS (UPDATE {queue} SET claimed_at = %s WHERE message_id IN ("
        f"SELECT message_id FROM {queue} WHERE claimed_at IS NULL AND next_attempt_at <= %s {where_ids} "
        "ORDER BY next_attempt_at, message_id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING message_id) "
        f"UPDATE {table} o SET status = %s FROM claimed WHERE o.id = claimed.message_id RETURNING o.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, now, *only, limit, str(OutboxStatus.SENDING)])
        return [row[0] for row in cursor.fetchall()]


def outbox_claim_ids_orm(*, outbox_ids: Sequence[int] | None, limit: int, now: dt.datetime) -> list[int]:
    with transaction.atomic():
        due = OutboxQueueEntry.objects.filter(claimed_at__isnull=True, next_attempt_at__lte=now)
        if outbox_ids is not None:
            due = due.filter(message_id__in=list(outbox_ids))
        ids = list(
            due.select_for_update(skip_locked=True)
            .order_by("next_attempt_at", "message_id")
            .values_list("message_id", flat=True)[:limit]
        )
        OutboxQueueEntry.objects.filter(message_id__in=ids).update(claimed_at=now)
        OutboxMessage.objects.filter(pk__in=ids).update(status=OutboxStatus.SENDING)
    return ids


def outbox_rows_requeue_stale(*, claimed_before: dt.datetime) -> int:
    """Claims older than ``claimed_before`` (a killed worker's) back to the queue; how many."""
    with transaction.atomic():
        stale = OutboxQueueEntry.objects.filter(claimed_at__lt=claimed_before).select_for_update(skip_locked=True)
        ids = list(stale.values_list("message_id", flat=True))
        OutboxQueueEntry.objects.filter(message_id__in=ids).update(claimed_at=None)
        return OutboxMessage.objects.filter(pk__in=ids).update(status=OutboxStatus.QUEUED)


@dataclass(slots=True)
class ClaimedMail:
    """A claimed outbox row with what its send needs: plain values read in one query (three model instances a row,
    the message, its contact and the contact's company, cost more than the rest of the claim)."""

    pk: int
    contact_id: int | None
    to_email: str
    to_domain: str
    template_version_id: int
    kind: str
    origin: str
    campaign_id: str
    data: dict[str, Any]
    message_id: str
    attempts: int
    recipient: MailRecipient | None
    template_version: MailTemplateVersion


_CLAIM_COLUMNS = (
    "pk", "contact_id", "to_email", "to_domain", "template_version_id", "kind", "origin", "campaign_id", "data",
    "message_id", "attempts", "contact__name", "contact__email", "contact__company_id", "contact__company__name",
)  # fmt: skip


def claimed_mails(ids: Sequence[int]) -> list[ClaimedMail]:
    """The claimed rows ``ids`` in id order, each with its recipient and template version."""
    wanted: Any = ids
    if connection.vendor == "postgresql":  # one array parameter instead of a thousand placeholders
        wanted = RawSQL("SELECT unnest(%s::bigint[])", [list(ids)])
    rows = list(OutboxMessage.objects.filter(pk__in=wanted).order_by("id").values_list(*_CLAIM_COLUMNS))
    # A batch shares a few versions: read each once instead of joining its 20 KB of HTML onto every row.
    versions = MailTemplateVersion.objects.select_related("template__sender").in_bulk({row[4] for row in rows})
    mails = []
    for row in rows:
        pk, contact_id, email, domain, version_id, kind, origin, campaign, data, message_id, attempts, *who = row
        name, contact_email, company_id, company_name = who
        recipient = None
        if contact_id is not None:
            recipient = MailRecipient(
                id=contact_id, name=name, email=contact_email, company_id=company_id, company_name=company_name or ""
            )
        mails.append(
            ClaimedMail(
                pk=pk, contact_id=contact_id, to_email=email, to_domain=domain, template_version_id=version_id,
                kind=kind, origin=origin, campaign_id=campaign, data=data or {}, message_id=message_id,
                attempts=attempts, recipient=recipient, template_version=versions[version_id],
            )
        )  # fmt: skip
    return mails


def outbox_mark_sent(ids: list[int], *, now: dt.datetime) -> None:
    if connection.vendor == "postgresql" and ids:
        # One array parameter: a thousand placeholders cost more to bind client-side than the statement to run.
        # The entries' DELETE runs in the same statement (a data-modifying WITH runs whether read or not).
        table = connection.ops.quote_name(OutboxMessage._meta.db_table)
        queue = connection.ops.quote_name(OutboxQueueEntry._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH done AS (DELETE FROM {queue} WHERE message_id = ANY(%s)) "
                f"UPDATE {table} SET status = %s, sent_at = %s, attempts = attempts + 1, last_error = '' "
                "WHERE id = ANY(%s)",
                [ids, str(OutboxStatus.SENT), now, ids],
            )
        return
    for chunk in batched(ids, 1000, strict=False):
        OutboxQueueEntry.objects.filter(message_id__in=chunk).delete()
        OutboxMessage.objects.filter(pk__in=chunk).update(
            status=OutboxStatus.SENT, sent_at=now, attempts=F("attempts") + 1, last_error=""
        )


def outbox_rows_finish(ids: Sequence[int], *, status: OutboxStatus, **fields: Any) -> None:
    """Final outcomes other than sent (failed, unknown, not sent): out of the queue, and on the attention list."""
    attention = status in ATTENTION_STATUSES
    for chunk in batched(ids, 1000, strict=False):
        OutboxQueueEntry.objects.filter(message_id__in=chunk).delete()
        OutboxMessage.objects.filter(pk__in=chunk).update(status=status, needs_attention=attention, **fields)


def outbox_rows_requeue(ids: Sequence[int], *, at: dt.datetime, **fields: Any) -> None:
    """Back to the queue, due at ``at`` (a retry, quiet hours, a domain's rate)."""
    for chunk in batched(ids, 1000, strict=False):
        OutboxQueueEntry.objects.filter(message_id__in=chunk).update(next_attempt_at=at, claimed_at=None)
        OutboxMessage.objects.filter(pk__in=chunk).update(status=OutboxStatus.QUEUED, **fields)


# A delivery log row in this column order: message_id, attempted_at, outcome, code, response, channel, contact_id,
# to_domain, kind. A tuple, not a model instance: building a thousand ``DeliveryAttempt`` objects cost ≈ 4.5 µs a
# mail, their COPY less.
AttemptRow = tuple[int, dt.datetime, str, int | None, str, str, int | None, str, str]
_ATTEMPT_COLUMNS = (
    "message_id", "attempted_at", "outcome", "code", "response", "channel", "contact_id", "to_domain", "kind",
)  # fmt: skip


def delivery_attempts_insert(rows: Sequence[AttemptRow]) -> None:
    """The delivery log of a batch: ``COPY`` on PostgreSQL (several times faster than a multi-row INSERT)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        attempts = [DeliveryAttempt(**dict(zip(_ATTEMPT_COLUMNS, row, strict=True))) for row in rows]
        DeliveryAttempt.objects.bulk_create(attempts, batch_size=1000)
        return
    table = connection.ops.quote_name(DeliveryAttempt._meta.db_table)
    columns = ", ".join(_ATTEMPT_COLUMNS)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
