"""API keys: hashed at rest, shown once, scoped, revocable; every request made with a key is logged."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client

from tests.api.conftest import Api, make_api
from tokui.accounts.enums import ApiScope
from tokui.accounts.models import ApiKey, ApiRequestLog, User
from tokui.accounts.services import api_key_create, api_key_revoke
from tokui.core.models import AuditLogEntry

pytestmark = pytest.mark.django_db


def test_a_key_is_stored_only_as_a_sha256_hash_and_a_visible_prefix(admin: User) -> None:
    created = api_key_create(name="ERP", scopes=["read"], created_by=admin)
    token = created.token
    assert token.startswith(f"tokui_{created.key.prefix}_") and len(token) > 40
    stored = ApiKey.objects.get(pk=created.key.pk)
    assert stored.hashed_key == hashlib.sha256(token.encode()).hexdigest()
    secret = token.split("_", 2)[2]
    row = ApiKey.objects.filter(pk=stored.pk).values().get()
    assert not any(isinstance(value, str) and secret in value for value in row.values())


def test_creating_and_revoking_a_key_is_written_to_the_audit_log_without_the_secret(admin: User) -> None:
    created = api_key_create(name="ERP", scopes=["read", "write"], created_by=admin)
    api_key_revoke(key=created.key, revoked_by=admin)
    entries = list(AuditLogEntry.objects.filter(target_type="accounts.ApiKey").order_by("id"))
    assert [entry.action for entry in entries] == ["create", "update"]
    assert entries[0].changes["scopes"] == ["read", "write"] and entries[0].actor == admin
    assert all(created.token not in str(entry.changes) for entry in entries)


def test_a_valid_key_answers_me_with_its_name_and_scopes(read_api: Api) -> None:
    response = read_api.get("/me")
    assert response.status_code == 200
    assert response.json()["scopes"] == ["read"] and response.json()["prefix"] in read_api.token


def test_a_request_without_a_key_is_refused_with_a_json_401(client: Client) -> None:
    response = client.get("/api/companies")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized" and "Bearer" in response.json()["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_key_is_refused_with_a_json_401(client: Client, read_api: Api) -> None:
    forged = read_api.token[:-4] + "AAAA"
    response = client.get("/api/companies", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert set(response.json()) == {"code", "message", "field"}
    assert "登録されていません" in response.json()["message"]


def test_a_revoked_key_is_refused_from_its_next_request_on(read_api: Api, admin: User) -> None:
    assert read_api.get("/companies").status_code == 200
    api_key_revoke(key=ApiKey.objects.get(pk=read_api.key_id), revoked_by=admin)
    response = read_api.get("/companies")
    assert response.status_code == 401
    assert response.json()["code"] == "revoked"


def test_a_key_without_the_needed_scope_is_refused_with_403(read_api: Api) -> None:
    response = read_api.post("/companies/bulk", {"records": [{"external_id": "C-1", "name": "株式会社さくら"}]})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden" and "write" in response.json()["message"]


def test_an_ingest_key_may_send_events_but_not_read_or_write_records(client: Client, admin: User) -> None:
    ingest = make_api(client, admin, ApiScope.INGEST)
    event = {"external_id": "ev-1", "type": "catalog_downloaded", "occurred_at": "2026-04-01T10:00:00+09:00"}
    assert ingest.post("/events/bulk", {"records": [{**event, "anonymous_id": "a-1"}]}).status_code == 200
    assert ingest.get("/companies").status_code == 403
    assert ingest.post("/companies/bulk", {"records": []}).status_code == 403


def test_write_includes_ingest_and_admin_includes_every_scope(client: Client, admin: User) -> None:
    writer = make_api(client, admin, ApiScope.WRITE)
    boss = make_api(client, admin, ApiScope.ADMIN)
    event = {"external_id": "ev-1", "type": "catalog_downloaded", "occurred_at": "2026-04-01T10:00:00+09:00"}
    assert writer.post("/events/bulk", {"records": [{**event, "anonymous_id": "a"}]}).status_code == 200
    assert writer.get("/keys").status_code == 403
    assert boss.get("/keys").status_code == 200 and boss.get("/companies").status_code == 200


def test_the_key_list_never_contains_secrets_or_hashes(client: Client, admin: User) -> None:
    boss = make_api(client, admin, ApiScope.ADMIN)
    body = boss.get("/keys").content.decode()
    assert boss.token.split("_", 2)[2] not in body and "hashed" not in body


def test_every_request_made_with_a_key_is_logged_with_the_key_id(read_api: Api, admin: User) -> None:
    read_api.get("/companies")
    read_api.get("/companies/999999")
    read_api.post("/companies/bulk", {"records": []})  # 403: the key lacks write
    api_key_revoke(key=ApiKey.objects.get(pk=read_api.key_id), revoked_by=admin)
    read_api.get("/companies")  # 401: revoked
    logs = list(ApiRequestLog.objects.order_by("id").values_list("key_id", "method", "path", "status_code"))
    assert logs == [
        (read_api.key_id, "GET", "/api/companies", 200),
        (read_api.key_id, "GET", "/api/companies/999999", 404),
        (read_api.key_id, "POST", "/api/companies/bulk", 403),
        (read_api.key_id, "GET", "/api/companies", 401),
    ]
    assert all(log.duration_ms >= 0 for log in ApiRequestLog.objects.all())


def test_a_request_with_an_unknown_key_is_logged_without_a_key_and_the_health_check_is_not_logged(
    client: Client,
) -> None:
    client.get("/api/health")
    client.get("/api/companies", headers={"Authorization": "Bearer tokui_00000000_nope"})
    assert list(ApiRequestLog.objects.values_list("key_id", "status_code")) == [(None, 401)]


def test_logging_a_request_costs_one_insert_and_last_use_is_written_at_most_once_a_minute(
    read_api: Api, django_assert_num_queries: object
) -> None:
    read_api.get("/me")  # the first use writes last_used_at
    key = ApiKey.objects.get(pk=read_api.key_id)
    assert key.last_used_at is not None
    with django_assert_num_queries(2):  # type: ignore[operator]
        read_api.get("/me")  # the key lookup and the log insert
