"""The API request log: pruned daily past its retention, and shown to administrators (and nobody else)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.fixtures import Settings

from tests.factories import UserFactory
from tokui.accounts.enums import Role
from tokui.accounts.models import ApiKey, ApiRequestLog, User
from tokui.accounts.services import api_key_create, api_request_log_prune, api_request_record
from tokui.accounts.tasks import api_request_log_prune as prune_task
from tokui.accounts.views import REQUESTS_PER_PAGE
from tokui.core.schedule import periodic_jobs

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)


def _key(admin: User, name: str = "ERP") -> ApiKey:
    return api_key_create(name=name, scopes=["read"], created_by=admin).key


def _log(key: ApiKey | None, *, age: dt.timedelta, status: int = 200, path: str = "/api/companies") -> ApiRequestLog:
    return api_request_record(
        key_id=key.pk if key else None, method="GET", path=path, status_code=status, duration_ms=12, at=NOW - age
    )


# --- Pruning ---------------------------------------------------------------------------------------------------


def test_pruning_deletes_requests_older_than_the_retention_and_keeps_the_rest(admin: User, settings: Settings) -> None:
    settings.API_LOG_RETENTION_DAYS = 90
    key = _key(admin)
    old = [_log(key, age=dt.timedelta(days=days)) for days in (91, 200)]
    kept = [_log(key, age=dt.timedelta(days=days)) for days in (0, 89)]
    assert api_request_log_prune(now=NOW) == len(old)
    assert set(ApiRequestLog.objects.values_list("pk", flat=True)) == {row.pk for row in kept}


def test_pruning_a_backlog_larger_than_a_batch_deletes_all_of_it(admin: User) -> None:
    key = _key(admin)
    for minutes in range(7):
        _log(key, age=dt.timedelta(days=100, minutes=minutes))
    _log(key, age=dt.timedelta(days=1))
    assert api_request_log_prune(now=NOW, retention_days=30, batch_size=3) == 7
    assert ApiRequestLog.objects.count() == 1


def test_a_retention_of_zero_keeps_the_log_forever(admin: User, settings: Settings) -> None:
    settings.API_LOG_RETENTION_DAYS = 0
    _log(_key(admin), age=dt.timedelta(days=3650))
    assert api_request_log_prune(now=NOW) == 0
    assert ApiRequestLog.objects.count() == 1


def test_pruning_runs_as_a_daily_periodic_job(admin: User, settings: Settings) -> None:
    settings.API_LOG_RETENTION_DAYS = 90
    job = next(job for job in periodic_jobs.jobs() if job.name == "accounts.prune_api_request_log")
    assert job.every == dt.timedelta(days=1) and job.task is prune_task
    api_request_record(
        key_id=_key(admin).pk,
        method="GET",
        path="/api/me",
        status_code=200,
        duration_ms=1,
        at=timezone.now() - dt.timedelta(days=120),
    )
    prune_task.enqueue()  # the test task backend runs it inline
    assert not ApiRequestLog.objects.exists()


# --- The screen ------------------------------------------------------------------------------------------------


def test_an_admin_sees_recent_requests_with_key_method_path_status_duration_and_japan_time(
    admin: User, admin_client: Client
) -> None:
    key = _key(admin, "ERP 夜間連携")
    _log(key, age=dt.timedelta(0), status=201, path="/api/orders/bulk")
    body = admin_client.get(reverse("accounts:api_requests")).content.decode()
    assert "ERP 夜間連携" in body and "/api/orders/bulk" in body and ">201<" in body and "12 ミリ秒" in body
    assert "2026-12-01 12:00:00" in body  # 03:00 UTC is noon in Tokyo
    assert "Asia/Tokyo" in body


def test_the_log_is_filtered_by_key_and_to_errors_only(admin: User, admin_client: Client) -> None:
    erp, shop = _key(admin, "ERP"), _key(admin, "Shopify")
    erp_ok = _log(erp, age=dt.timedelta(minutes=3), status=200)
    erp_bad = _log(erp, age=dt.timedelta(minutes=2), status=422)
    shop_bad = _log(shop, age=dt.timedelta(minutes=1), status=500)
    unknown = _log(None, age=dt.timedelta(minutes=4), status=401)

    def shown(params: dict[str, str]) -> set[int]:
        body = admin_client.get(reverse("accounts:api_requests"), params).content.decode()
        return {int(pk) for pk in re.findall(r'data-testid="api-request-(\d+)"', body)}

    assert shown({}) == {erp_ok.pk, erp_bad.pk, shop_bad.pk, unknown.pk}
    assert shown({"key": str(erp.pk)}) == {erp_ok.pk, erp_bad.pk}
    assert shown({"errors_only": "on"}) == {erp_bad.pk, shop_bad.pk, unknown.pk}
    assert shown({"key": str(erp.pk), "errors_only": "on"}) == {erp_bad.pk}


def test_the_log_pages_newest_first_and_keeps_the_filters_on_the_next_page(admin: User, admin_client: Client) -> None:
    key = _key(admin)
    rows = [_log(key, age=dt.timedelta(seconds=second), status=404) for second in range(REQUESTS_PER_PAGE + 5)]
    first = admin_client.get(reverse("accounts:api_requests"), {"errors_only": "on"}).content.decode()
    first_ids = [int(pk) for pk in re.findall(r'data-testid="api-request-(\d+)"', first)]
    assert first_ids == [row.pk for row in rows[:REQUESTS_PER_PAGE]]  # the youngest first
    older = re.search(r'href="([^"]+)" data-testid="older-requests"', first)
    assert older is not None and "errors_only=on" in older.group(1)
    second = admin_client.get(reverse("accounts:api_requests") + older.group(1).replace("&amp;", "&")).content.decode()
    assert [int(pk) for pk in re.findall(r'data-testid="api-request-(\d+)"', second)] == [
        row.pk for row in rows[REQUESTS_PER_PAGE:]
    ]
    assert 'data-testid="older-requests"' not in second and 'data-testid="newer-requests"' in second


def test_the_api_keys_screen_links_to_the_request_log(admin_client: Client) -> None:
    body = admin_client.get(reverse("accounts:api_keys")).content.decode()
    assert reverse("accounts:api_requests") in body


@pytest.mark.parametrize("role", [Role.MARKETER, Role.SALES_REP, Role.VIEWER])
def test_only_administrators_see_the_request_log(client: Client, role: Role) -> None:
    client.force_login(UserFactory(username=f"someone-{role}", role=role))
    assert client.get(reverse("accounts:api_requests")).status_code == 403


def test_the_request_log_needs_a_login(client: Client) -> None:
    response = client.get(reverse("accounts:api_requests"))
    assert response.status_code == 302 and "/login" in response["Location"]
