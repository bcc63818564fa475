"""Configuring, testing and syncing a connection: credentials at rest, the sync log, the cursor and the schedule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from tests.integrations.connections.conftest import MakeShopify
from tests.integrations.connectors.shopify_server import TOKEN, shopify_server
from tokui.accounts.models import User
from tokui.commerce.models import Order
from tokui.core.errors import DomainError
from tokui.core.models import AuditLogEntry
from tokui.integrations import services
from tokui.integrations.enums import ConnectorKind, SyncStatus, SyncTrigger
from tokui.integrations.models import Connection, SyncRun

pytestmark = pytest.mark.django_db
CaptureCallbacks = Callable[..., AbstractContextManager[list[Callable[[], object]]]]


def test_credentials_are_stored_encrypted_and_never_in_the_audit_log(make_shopify: MakeShopify) -> None:
    connection = make_shopify()
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_credentials FROM integrations_connection WHERE id = %s", [connection.pk])
        (stored,) = cursor.fetchone()
    assert TOKEN not in stored and "shpss" not in stored
    entry = AuditLogEntry.objects.get(target_type="integrations.Connection")
    assert TOKEN not in str(entry.changes)


def test_a_missing_required_credential_is_refused_with_the_field_named(admin_user: User) -> None:
    with pytest.raises(DomainError) as refused:
        services.connection_create(
            kind=ConnectorKind.BCART, name="B-Cart", source="", config={}, secrets={}, actor=admin_user
        )
    assert refused.value.field == "access_token"
    assert "APIアクセストークン" in refused.value.message
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"shop_domain": "example.com"}, "shop_domain"),
        ({"shop_domain": "demo.myshopify.com", "base_url": "javascript:alert(1)"}, "base_url"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(make_shopify: MakeShopify, config: dict, field: str) -> None:
    with pytest.raises(DomainError) as refused:
        make_shopify(config=config)
    assert refused.value.field == field
    assert not Connection.objects.exists()


def test_two_connections_cannot_share_a_source_name(make_shopify: MakeShopify) -> None:
    make_shopify()
    with pytest.raises(DomainError) as refused:
        make_shopify(name="支店")
    assert refused.value.field == "source"
    assert services.connection_default_source(kind=ConnectorKind.SHOPIFY) == "shopify-2"


def test_editing_with_an_empty_secret_keeps_the_stored_one(make_shopify: MakeShopify, admin_user: User) -> None:
    with shopify_server() as stub:
        connection = make_shopify(stub.url)
        services.connection_update(
            connection=connection,
            name="改名",
            config=connection.config,
            secrets={"access_token": "", "webhook_secret": ""},
            enabled=True,
            sync_interval_minutes=30,
            actor=admin_user,
        )
        assert services.connection_test(connection=connection).ok
    connection.refresh_from_db()
    assert (connection.name, connection.sync_interval_minutes) == ("改名", 30)


def test_test_connection_reports_success_and_a_wrong_token_plainly(make_shopify: MakeShopify) -> None:
    with shopify_server() as stub:
        good = services.connection_test(connection=make_shopify(stub.url))
        bad = services.connection_test(connection=make_shopify(stub.url, token="wrong", source="shopify-b"))
    assert good.ok and "接続しました" in good.message
    assert not bad.ok and "401" in bad.message
    stored = Connection.objects.get(source="shopify-b")
    assert stored.last_test_ok is False and stored.last_test_message == bad.message


def test_an_unreachable_system_fails_the_test_without_an_exception(make_shopify: MakeShopify) -> None:
    result = services.connection_test(connection=make_shopify("http://127.0.0.1:9"))
    assert not result.ok and "Shopify" in result.message


def test_a_sync_stores_the_records_logs_counts_and_moves_the_cursor(
    make_shopify: MakeShopify, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with shopify_server() as stub:
        connection = make_shopify(stub.url)
        with django_capture_on_commit_callbacks(execute=True):
            run = services.connection_sync_request(connection=connection, trigger=SyncTrigger.MANUAL)
        run.refresh_from_db()
        assert run.status == SyncStatus.PARTIAL  # the stub's third order is a guest checkout without a customer
        assert run.counts["orders.created"] == 2 and run.error_count == 1
        assert run.errors[0]["resource"] == "orders"
        connection.refresh_from_db()
        assert connection.sync_cursor is not None and connection.next_sync_at > timezone.now()
        assert Order.objects.filter(source="shopify").count() == 2

        with django_capture_on_commit_callbacks(execute=True):
            again = services.connection_sync_request(connection=connection, trigger=SyncTrigger.MANUAL)
        again.refresh_from_db()
    assert again.updated_since == connection.sync_cursor
    changed = {key: n for key, n in again.counts.items() if key.endswith((".created", ".updated"))}
    assert changed == {}, "a second sync of the same data changed something"
    assert any("updated_at_min" in path for path in stub.requests), "the second sync was not incremental"


def test_a_failed_sync_is_logged_and_keeps_the_cursor(
    make_shopify: MakeShopify, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with shopify_server() as stub:
        connection = make_shopify(stub.url, token="wrong")
        with django_capture_on_commit_callbacks(execute=True):
            run = services.connection_sync_request(connection=connection, trigger=SyncTrigger.MANUAL)
    run.refresh_from_db()
    connection.refresh_from_db()
    assert run.status == SyncStatus.FAILED and "401" in run.message
    assert connection.sync_cursor is None


def test_a_sync_is_not_queued_twice(make_shopify: MakeShopify) -> None:
    connection = make_shopify()
    first = services.connection_sync_request(connection=connection, trigger=SyncTrigger.MANUAL)
    second = services.connection_sync_request(connection=connection, trigger=SyncTrigger.FULL)
    assert first.pk == second.pk and SyncRun.objects.count() == 1


def test_the_schedule_queues_only_enabled_connections_that_are_due(make_shopify: MakeShopify) -> None:
    now = timezone.now()
    due = make_shopify(source="due")
    make_shopify(source="later")
    make_shopify(source="off", enabled=False)
    Connection.objects.filter(source="due").update(next_sync_at=now - dt.timedelta(minutes=1))
    Connection.objects.filter(source="later").update(next_sync_at=now + dt.timedelta(minutes=10))
    assert services.connections_sync_due(now=now) == 1
    assert services.connections_sync_due(now=now) == 0, "a waiting run must not be queued again"
    assert list(SyncRun.objects.values_list("connection_id", "trigger")) == [(due.pk, SyncTrigger.SCHEDULE)]


def test_a_run_whose_worker_died_is_marked_failed_so_the_schedule_goes_on(make_shopify: MakeShopify) -> None:
    connection = make_shopify()
    long_ago = timezone.now() - dt.timedelta(hours=5)
    run = SyncRun.objects.create(
        connection=connection, trigger=SyncTrigger.SCHEDULE, status=SyncStatus.RUNNING, started_at=long_ago
    )
    services.connections_sync_due()
    run.refresh_from_db()
    assert run.status == SyncStatus.FAILED and run.message
