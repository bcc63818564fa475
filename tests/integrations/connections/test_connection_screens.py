"""The connector screens: who may use them, set-up with clear errors, credentials never shown, test and sync."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
from django.test import Client
from django.urls import reverse

from tests.integrations.connections.conftest import MakeShopify
from tests.integrations.connectors.shopify_server import API_VERSION, TOKEN, shopify_server
from tokui.commerce.models import Order
from tokui.core.models import AuditLogEntry
from tokui.integrations.enums import SyncStatus
from tokui.integrations.models import Connection, SyncRun

pytestmark = pytest.mark.django_db
CaptureCallbacks = Callable[..., AbstractContextManager[list[Callable[[], object]]]]


def _form(base_url: str, **changes: str) -> dict[str, str]:
    return {
        "name": "本店",
        "source": "shopify",
        "sync_interval_minutes": "15",
        "enabled": "on",
        "shop_domain": "demo.myshopify.com",
        "access_token": TOKEN,
        "webhook_secret": "secret",
        "api_version": API_VERSION,
        "base_url": base_url,
        **changes,
    }


def test_only_administrators_see_the_connector_screens(marketer_client: Client) -> None:
    assert marketer_client.get(reverse("integrations:connection_list")).status_code == 403
    assert marketer_client.get(reverse("integrations:connection_new", args=["shopify"])).status_code == 403


def test_an_administrator_sets_up_shopify_and_the_token_is_never_shown_again(admin_client: Client) -> None:
    response = admin_client.post(reverse("integrations:connection_new", args=["shopify"]), _form("http://127.0.0.1:9"))
    connection = Connection.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "integrations:connection_detail", args=[connection.pk]
    )
    page = admin_client.get(response["Location"]).content.decode()
    assert TOKEN not in page and "secret" not in page.replace("secret_", "")
    assert "保存済み" in page and connection.webhook_token in page
    edit = admin_client.get(reverse("integrations:connection_edit", args=[connection.pk])).content.decode()
    assert TOKEN not in edit and "空欄のままなら" not in edit
    assert AuditLogEntry.objects.filter(target_type="integrations.Connection").count() == 1


def test_a_form_with_a_missing_token_says_so_in_japanese_and_stores_nothing(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("integrations:connection_new", args=["shopify"]), _form("http://127.0.0.1:9", access_token="")
    )
    assert response.status_code == 400
    assert "この項目は必須です" in response.content.decode()
    bad_domain = admin_client.post(
        reverse("integrations:connection_new", args=["shopify"]), _form("", shop_domain="example.com")
    )
    assert ".myshopify.com で終わる" in bad_domain.content.decode()
    assert not Connection.objects.exists()


def test_an_unknown_system_is_404(admin_client: Client) -> None:
    assert admin_client.get(reverse("integrations:connection_new", args=["magento"])).status_code == 404


def test_the_test_button_answers_in_place_and_the_sync_button_fills_the_log(
    admin_client: Client, make_shopify: MakeShopify, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with shopify_server() as stub:
        connection = make_shopify(stub.url)
        tested = admin_client.post(
            reverse("integrations:connection_test", args=[connection.pk]), headers={"HX-Request": "true"}
        )
        assert tested.status_code == 200 and "接続しました" in tested.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            synced = admin_client.post(reverse("integrations:connection_sync", args=[connection.pk]))
    assert synced.status_code == 302
    run = SyncRun.objects.get()
    assert run.status == SyncStatus.PARTIAL and Order.objects.count() == 2
    page = admin_client.get(reverse("integrations:connection_detail", args=[connection.pk])).content.decode()
    orders = page[page.index('data-resource="orders"') :]
    assert "受注" in orders[:200] and "新規 2" in orders[:400] and "一部エラー" in page


def test_editing_keeps_the_token_when_left_empty(admin_client: Client, make_shopify: MakeShopify) -> None:
    with shopify_server() as stub:
        connection = make_shopify(stub.url)
        response = admin_client.post(
            reverse("integrations:connection_edit", args=[connection.pk]),
            _form(stub.url, name="改名", access_token="", webhook_secret="", source="ignored"),
        )
        assert response.status_code == 302
        connection.refresh_from_db()
        assert connection.name == "改名" and connection.source == "shopify", "the source name cannot change"
        tested = admin_client.post(reverse("integrations:connection_test", args=[connection.pk]), follow=True)
    assert "接続しました" in tested.content.decode()


def test_removing_a_connection_keeps_the_orders_it_brought_in(
    admin_client: Client, make_shopify: MakeShopify, django_capture_on_commit_callbacks: CaptureCallbacks
) -> None:
    with shopify_server() as stub:
        connection = make_shopify(stub.url)
        with django_capture_on_commit_callbacks(execute=True):
            admin_client.post(reverse("integrations:connection_sync", args=[connection.pk]))
    response = admin_client.post(reverse("integrations:connection_delete", args=[connection.pk]))
    assert response.status_code == 302 and not Connection.objects.exists()
    assert Order.objects.count() == 2


def test_a_connection_is_named_as_a_connection_not_as_a_person(admin_client: Client) -> None:
    form = admin_client.get(reverse("integrations:connection_new", args=["shopify"])).content.decode()
    assert 'for="id_name">接続名 *<' in form and "氏名" not in form  # "Name" of a contact reads 氏名
    listing = admin_client.get(reverse("integrations:connection_list")).content.decode()
    assert ">接続名<" in listing and "氏名" not in listing
