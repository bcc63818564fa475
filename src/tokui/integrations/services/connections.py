"""Writes of the connectors (連携): configure a connection, test it, sync it on demand or on schedule, take webhooks.

A sync runs outside any long transaction: each record is stored in its own savepoint by the connector, so a sync
that dies half-way keeps what it stored and the next run (from the unchanged cursor) fills the rest. The cursor only
moves when a run finishes.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets as token_generator
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tokui.accounts.models import User
from tokui.core.enums import AuditAction
from tokui.core.errors import DomainError
from tokui.core.services import audit_record
from tokui.integrations.connectors.registry import (
    REMOTE_ERRORS,
    ConnectionAccess,
    Connector,
    WebhookRejectedError,
    connector_for,
)
from tokui.integrations.connectors.reports import SyncReport
from tokui.integrations.credentials import CredentialsUnreadableError, credentials_decrypt, credentials_encrypt
from tokui.integrations.enums import ConnectorKind, SyncStatus, SyncTrigger
from tokui.integrations.models import Connection, SyncRun, WebhookReceipt

logger = logging.getLogger(__name__)

SOURCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SHOP_DOMAIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
MIN_INTERVAL_MINUTES = 5
MAX_INTERVAL_MINUTES = 24 * 60
# A run still "running" after this long lost its worker: it is marked failed so the schedule goes on.
RUN_STALE_AFTER = dt.timedelta(hours=3)
WEBHOOK_RECEIPTS_KEPT = dt.timedelta(days=30)
URL_FIELDS = ("base_url", "shop_url")
ACTIVE_RUN_STATUSES = (SyncStatus.QUEUED, SyncStatus.RUNNING)
# What makes a test or a sync fail as "the connection does not work" (shown to the user) rather than as a bug.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (*REMOTE_ERRORS, CredentialsUnreadableError, KeyError, OSError)


@dataclass(frozen=True)
class ConnectionTestResult:
    ok: bool
    message: str


# --- configuration ---------------------------------------------------------------------------------------------


def _clean_config(connector: Connector, config: Mapping[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for item in connector.config_fields:
        value = str(config.get(item.name) or "").strip()
        if item.required and not value:
            raise DomainError(_("Enter %(field)s.") % {"field": item.label}, field=item.name)
        if value and item.name in URL_FIELDS:
            try:
                URLValidator(schemes=["http", "https"])(value)
            except ValidationError as error:
                raise DomainError(
                    _("%(field)s must be an address starting with https://.") % {"field": item.label}, field=item.name
                ) from error
            value = value.rstrip("/")
        if value and item.name == "shop_domain":
            value = value.lower().removeprefix("https://").rstrip("/")
            if not SHOP_DOMAIN_PATTERN.match(value):
                raise DomainError(_("Enter the shop's address ending in .myshopify.com."), field=item.name)
        if value:
            cleaned[item.name] = value
    return cleaned


def _merged_secrets(connector: Connector, stored: Mapping[str, str], given: Mapping[str, str]) -> dict[str, str]:
    """A secret left empty keeps the stored one: secrets are never shown again, so the form cannot refill them."""
    merged: dict[str, str] = {}
    for item in connector.secret_fields:
        value = str(given.get(item.name) or "").strip() or stored.get(item.name, "")
        if item.required and not value:
            raise DomainError(_("Enter %(field)s.") % {"field": item.label}, field=item.name)
        if value:
            merged[item.name] = value
    return merged


def _checked_common(*, name: str, source: str, sync_interval_minutes: int, exclude_pk: int | None = None) -> None:
    if not name.strip():
        raise DomainError(_("Enter a name for the connection."), field="name")
    if not SOURCE_PATTERN.match(source):
        raise DomainError(
            _("Use letters, digits, '-', '_' or '.' for the source name (up to 64, no spaces)."), field="source"
        )
    others = Connection.objects.filter(source=source)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        raise DomainError(_("Another connection already uses this source name."), field="source")
    if not MIN_INTERVAL_MINUTES <= sync_interval_minutes <= MAX_INTERVAL_MINUTES:
        raise DomainError(
            _("Sync between every %(low)s minutes and once a day (%(high)s minutes).")
            % {"low": MIN_INTERVAL_MINUTES, "high": MAX_INTERVAL_MINUTES},
            field="sync_interval_minutes",
        )


def connection_default_source(*, kind: str) -> str:
    """``shopify``, then ``shopify-2``, ... : the first source name no connection uses yet."""
    taken = set(Connection.objects.filter(source__startswith=kind).values_list("source", flat=True))
    candidate, number = kind, 1
    while candidate in taken:
        number += 1
        candidate = f"{kind}-{number}"
    return candidate


@transaction.atomic
def connection_create(
    *,
    kind: str,
    name: str,
    source: str,
    config: Mapping[str, str],
    secrets: Mapping[str, str],
    enabled: bool = True,
    sync_interval_minutes: int = 15,
    actor: User | None,
    ip_address: str | None = None,
) -> Connection:
    if kind not in ConnectorKind.values:
        raise DomainError(_("Tokui has no connector for this system."), field="kind")
    connector = connector_for(kind)
    source = source.strip() or connection_default_source(kind=kind)
    _checked_common(name=name, source=source, sync_interval_minutes=sync_interval_minutes)
    connection = Connection(
        kind=kind,
        name=name.strip(),
        source=source,
        config=_clean_config(connector, config),
        encrypted_credentials=credentials_encrypt(_merged_secrets(connector, {}, secrets)),
        webhook_token=token_generator.token_urlsafe(24),
        enabled=enabled,
        sync_interval_minutes=sync_interval_minutes,
        next_sync_at=timezone.now() if enabled else None,
        created_by=actor,
    )
    try:
        with transaction.atomic():
            connection.save()
    except IntegrityError as error:
        raise DomainError(_("Another connection already uses this source name."), field="source") from error
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target=connection,
        changes={"kind": kind, "source": source, "config": connection.config},
        ip_address=ip_address,
    )
    return connection


@transaction.atomic
def connection_update(
    *,
    connection: Connection,
    name: str,
    config: Mapping[str, str],
    secrets: Mapping[str, str],
    enabled: bool,
    sync_interval_minutes: int,
    actor: User | None,
    ip_address: str | None = None,
) -> Connection:
    """Change a connection. The source name stays: it is what every record pulled so far is stored under."""
    connector = connector_for(connection.kind)
    _checked_common(
        name=name, source=connection.source, sync_interval_minutes=sync_interval_minutes, exclude_pk=connection.pk
    )
    try:
        stored = credentials_decrypt(connection.encrypted_credentials)
    except CredentialsUnreadableError:
        stored = {}  # encrypted under another secret key: the user types them again (required ones are checked)
    new_secrets = _merged_secrets(connector, stored, secrets)
    changed_secrets = sorted(key for key in new_secrets if new_secrets.get(key) != stored.get(key))
    before = {"name": connection.name, "config": connection.config, "enabled": connection.enabled}
    connection.name = name.strip()
    connection.config = _clean_config(connector, config)
    connection.encrypted_credentials = credentials_encrypt(new_secrets)
    connection.sync_interval_minutes = sync_interval_minutes
    if enabled and not connection.enabled:
        connection.next_sync_at = timezone.now()
    connection.enabled = enabled
    connection.save()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target=connection,
        changes={
            "before": before,
            "after": {"name": connection.name, "config": connection.config, "enabled": enabled},
            "secrets_changed": changed_secrets,  # which, never their values
        },
        ip_address=ip_address,
    )
    return connection


@transaction.atomic
def connection_delete(*, connection: Connection, actor: User | None, ip_address: str | None = None) -> None:
    """Forget a connection, its credentials and its sync log. The records it brought in stay."""
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        target=connection,
        changes={"kind": connection.kind, "source": connection.source},
        ip_address=ip_address,
    )
    connection.delete()


def _access(connection: Connection) -> ConnectionAccess:
    def keep(values: dict[str, str]) -> None:
        current = credentials_decrypt(Connection.objects.get(pk=connection.pk).encrypted_credentials)
        Connection.objects.filter(pk=connection.pk).update(
            encrypted_credentials=credentials_encrypt({**current, **values})
        )

    return ConnectionAccess(
        source=connection.source,
        config=connection.config,
        secrets=credentials_decrypt(connection.encrypted_credentials),
        secrets_changed=keep,
    )


def _failure_message(connection: Connection, error: Exception) -> str:
    if isinstance(error, CredentialsUnreadableError):
        return _("The stored credentials can no longer be read (the secret key changed). Enter them again.")
    return _("%(system)s did not answer as expected: %(error)s") % {
        "system": connection.get_kind_display(),
        "error": error,
    }


def connection_test(*, connection: Connection) -> ConnectionTestResult:
    """One cheap request with the stored credentials; the answer is kept on the connection and shown on its page."""
    try:
        result = ConnectionTestResult(ok=True, message=connector_for(connection.kind).test(_access(connection)))
    except CONNECTION_ERRORS as error:
        result = ConnectionTestResult(ok=False, message=_failure_message(connection, error))
    Connection.objects.filter(pk=connection.pk).update(
        last_tested_at=timezone.now(), last_test_ok=result.ok, last_test_message=result.message
    )
    return result


# --- syncing ---------------------------------------------------------------------------------------------------


def _enqueue(run: SyncRun) -> None:
    from tokui.integrations import tasks  # tasks import services; import late to keep one direction

    transaction.on_commit(lambda: tasks.sync_run_execute.enqueue(run_id=run.pk))


@transaction.atomic
def connection_sync_request(*, connection: Connection, trigger: str, user: User | None = None) -> SyncRun:
    """Queue a sync. A connection has at most one waiting or running sync: asking again returns that one."""
    locked = Connection.objects.select_for_update().get(pk=connection.pk)
    active = SyncRun.objects.filter(connection=locked, status__in=ACTIVE_RUN_STATUSES).first()
    if active is not None:
        return active
    run = SyncRun.objects.create(
        connection=locked,
        trigger=trigger,
        requested_by=user,
        updated_since=None if trigger == SyncTrigger.FULL else locked.sync_cursor,
    )
    _enqueue(run)
    return run


def sync_run_execute(*, run_id: int) -> SyncRun | None:
    """Run one queued sync (the task body). A run someone else already took is left alone."""
    now = timezone.now()
    if not SyncRun.objects.filter(pk=run_id, status=SyncStatus.QUEUED).update(
        status=SyncStatus.RUNNING, started_at=now
    ):
        return None
    run = SyncRun.objects.select_related("connection").get(pk=run_id)
    connection = run.connection
    since = None if run.trigger == SyncTrigger.FULL else connection.sync_cursor
    try:
        report = connector_for(connection.kind).sync(_access(connection), since)
    except CONNECTION_ERRORS as error:
        _finish(run, SyncReport(), status=SyncStatus.FAILED, message=_failure_message(connection, error))
        return run
    except Exception as error:  # a bug must not leave the run "running" for ever; it is logged with its trace
        logger.exception("sync run %s of connection %s failed", run.pk, connection.pk)
        _finish(run, SyncReport(), status=SyncStatus.FAILED, message=_("Tokui failed: %(error)s") % {"error": error})
        return run
    status = SyncStatus.PARTIAL if report.error_count else SyncStatus.SUCCEEDED
    _finish(run, report, status=status, message="", cursor=report.cursor or now)
    return run


def _finish(run: SyncRun, report: SyncReport, *, status: str, message: str, cursor: dt.datetime | None = None) -> None:
    finished = timezone.now()
    run.status = status
    run.counts = dict(sorted(report.counts.items()))
    run.errors = report.errors
    run.error_count = report.error_count
    run.message = message
    run.finished_at = finished
    run.save(update_fields=["status", "counts", "errors", "error_count", "message", "finished_at"])
    connection = run.connection
    fields: dict[str, object] = {"next_sync_at": finished + dt.timedelta(minutes=connection.sync_interval_minutes)}
    if cursor is not None:
        fields["sync_cursor"] = cursor
    Connection.objects.filter(pk=connection.pk).update(**fields)


def connections_sync_due(*, now: dt.datetime | None = None) -> int:
    """Queue a sync for every enabled connection whose time has come (the periodic job). Returns how many."""
    now = now or timezone.now()
    SyncRun.objects.filter(status=SyncStatus.RUNNING, started_at__lt=now - RUN_STALE_AFTER).update(
        status=SyncStatus.FAILED, finished_at=now, message=_("The sync was interrupted (the worker stopped).")
    )
    due = Connection.objects.filter(enabled=True, next_sync_at__lte=now).exclude(
        sync_runs__status__in=ACTIVE_RUN_STATUSES
    )
    queued = 0
    for connection in due.distinct():
        connection_sync_request(connection=connection, trigger=SyncTrigger.SCHEDULE)
        queued += 1
    return queued


# --- webhooks --------------------------------------------------------------------------------------------------


class WebhookNotFoundError(Exception):
    """No connection of that system answers to this address."""


class _ReceiptLedger:
    """Event ids applied, kept in a table per connection so a redelivery is applied once even across restarts."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def claim(self, event_id: str) -> bool:
        try:
            with transaction.atomic():
                WebhookReceipt.objects.create(connection=self.connection, event_id=event_id[:128])
        except IntegrityError:
            return False
        return True

    def release(self, event_id: str) -> None:
        WebhookReceipt.objects.filter(connection=self.connection, event_id=event_id[:128]).delete()


def connection_receive_webhook(*, kind: str, token: str, body: bytes, headers: Mapping[str, str]) -> SyncReport:
    """Check and apply one delivery. Raises ``WebhookNotFoundError`` or ``WebhookRejectedError`` (with the HTTP
    status to answer); a refused delivery stores nothing."""
    connection = Connection.objects.filter(kind=kind, webhook_token=token).first()
    receive = connector_for(kind).receive_webhook if kind in ConnectorKind.values else None
    if connection is None or receive is None:
        raise WebhookNotFoundError(token)
    try:
        access = _access(connection)
    except CredentialsUnreadableError as error:
        raise WebhookRejectedError(401, _failure_message(connection, error)) from error
    with transaction.atomic():  # the event id is claimed in the same commit as what it applied
        report = receive(access, body, headers, _ReceiptLedger(connection))
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(
        webhooks_received=F("webhooks_received") + 1, last_webhook_at=now
    )
    if report.error_count:
        SyncRun.objects.create(
            connection=connection,
            trigger=SyncTrigger.WEBHOOK,
            status=SyncStatus.PARTIAL,
            counts=dict(report.counts),
            errors=report.errors,
            error_count=report.error_count,
            started_at=now,
            finished_at=now,
        )
    return report


def webhook_receipts_prune(*, now: dt.datetime | None = None) -> int:
    """Forget event ids older than a month: no system redelivers that late, and the table stays small."""
    cutoff = (now or timezone.now()) - WEBHOOK_RECEIPTS_KEPT
    deleted, _by_model = WebhookReceipt.objects.filter(received_at__lt=cutoff).delete()
    return deleted
