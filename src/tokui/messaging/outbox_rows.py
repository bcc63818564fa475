"""The outbox's batch writes: new rows, the claim of a batch, rows marked sent and the delivery log.

On PostgreSQL these are ``COPY`` and single statements with array parameters (ADR 16): per mail they cost a
fraction of the ORM's paths, whose model instances and thousand-placeholder statements dominated recording and
claiming. Other databases (SQLite in development and tests) keep the ORM paths.
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

from tokui.messaging.enums import OutboxStatus
from tokui.messaging.models import DeliveryAttempt, MailTemplateVersion, OutboxMessage
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
    next_attempt_at: dt.datetime
    created_by_id: int | None
    status: str = OutboxStatus.QUEUED
    skip_reason: str = ""
    attempts: int = 0
    claimed_at: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    last_error: str = ""

    def as_model(self) -> OutboxMessage:
        return OutboxMessage(**{name: getattr(self, name) for name in self.__slots__})


_STORE_COLUMNS = (
    "idempotency_key", "contact_id", "to_email", "to_domain", "template_version_id", "kind", "origin", "campaign_id",
    "data", "status", "skip_reason", "message_id", "attempts", "next_attempt_at", "claimed_at", "sent_at",
    "last_error", "created_by_id", "created_at",
)  # fmt: skip


def _store_postgresql(rows: Sequence[OutboxMessage | NewRow]) -> list[int]:
    # COPY into a temporary table, then one INSERT … ON CONFLICT DO NOTHING and one join for the ids: ~30× the
    # rows/s of bulk_create's multi-row INSERTs followed by a look-up of the keys in chunks.
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
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
                        str(row.skip_reason), row.message_id, row.attempts, row.next_attempt_at, row.claimed_at,
                        row.sent_at, row.last_error, row.created_by_id, now,
                    )
                )  # fmt: skip
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM tokui_outbox_in ON CONFLICT DO NOTHING")
        cursor.execute(f"SELECT o.id FROM {table} o JOIN tokui_outbox_in i USING (idempotency_key) ORDER BY o.id")
        ids = [found[0] for found in cursor.fetchall()]
        cursor.execute("DROP TABLE tokui_outbox_in")
    return ids


def outbox_rows_store(rows: Sequence[OutboxMessage | NewRow]) -> list[int]:
    """Insert rows whose idempotency key is new; the ids of every key asked for (new or already there)."""
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _store_postgresql(rows)
    models = [row.as_model() if isinstance(row, NewRow) else row for row in rows]
    for chunk in batched(models, 1000, strict=False):
        OutboxMessage.objects.bulk_create(chunk, ignore_conflicts=True)
    ids: list[int] = []
    for keys in batched([row.idempotency_key for row in rows], 1000, strict=False):
        ids += OutboxMessage.objects.filter(idempotency_key__in=keys).values_list("pk", flat=True)
    return sorted(ids)


def outbox_claim_ids_postgresql(*, outbox_ids: Sequence[int] | None, limit: int, now: dt.datetime) -> list[int]:
    # One statement instead of SELECT … FOR UPDATE plus UPDATE: the rows are locked, skipped by other workers
    # and marked in one round trip; ids travel as one array parameter instead of a thousand placeholders.
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    only: list[Any] = []
    where_ids = ""
    if outbox_ids is not None:
        where_ids, only = "AND id = ANY(%s)", [list(outbox_ids)]
    sql = (
        f"UPDATE {table} SET status = %s, claimed_at = %s WHERE id IN ("
        f"SELECT id FROM {table} WHERE status = %s AND next_attempt_at <= %s {where_ids} "
        "ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [str(OutboxStatus.SENDING), now, str(OutboxStatus.QUEUED), now, *only, limit])
        return [row[0] for row in cursor.fetchall()]


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
        table = connection.ops.quote_name(OutboxMessage._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET status = %s, sent_at = %s, attempts = attempts + 1, claimed_at = NULL, "
                "last_error = '' WHERE id = ANY(%s)",
                [str(OutboxStatus.SENT), now, ids],
            )
        return
    for chunk in batched(ids, 1000, strict=False):
        OutboxMessage.objects.filter(pk__in=chunk).update(
            status=OutboxStatus.SENT, sent_at=now, attempts=F("attempts") + 1, claimed_at=None, last_error=""
        )


# A delivery log row in this column order: message_id, attempted_at, outcome, code, response, channel. A tuple,
# not a model instance: building a thousand ``DeliveryAttempt`` objects cost ≈ 4.5 µs a mail, their COPY less.
AttemptRow = tuple[int, dt.datetime, str, int | None, str, str]
_ATTEMPT_COLUMNS = ("message_id", "attempted_at", "outcome", "code", "response", "channel")


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
