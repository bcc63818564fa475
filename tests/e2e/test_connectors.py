"""An administrator connects a Shopify shop (a local stand-in that checks the documented requests), tests the
connection, runs the first sync and reads the sync log; then imports a FAX order file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.integrations.connectors.shopify_server import API_VERSION, TOKEN, shopify_server
from tokui.accounts.enums import Role
from tokui.accounts.services import user_create
from tokui.commerce.models import Order

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_connects_shopify_tests_it_and_reads_the_sync_log(
    live_server: LiveServer, page: Page, screenshots: Path
) -> None:
    user_create(username="owner", password="tokui-e2e-pass", role=Role.ADMIN, display_name="管理者")
    page.goto(f"{live_server.url}/")
    page.get_by_label("ユーザー名").fill("owner")
    page.get_by_label("パスワード").fill("tokui-e2e-pass")
    page.get_by_role("button", name="ログイン").click()

    page.locator("[data-nav=imports]").click()
    page.get_by_test_id("data-tabs").get_by_role("link", name="外部連携").click()
    page.get_by_test_id("add-shopify").click()
    with shopify_server() as stub:
        page.get_by_label("ショップのドメイン").fill("demo.myshopify.com")
        page.get_by_label("Admin API アクセストークン").fill(TOKEN)
        page.get_by_label("Webhook 署名用シークレット").fill("shpss_secret")
        page.get_by_label("API バージョン").fill(API_VERSION)
        page.get_by_label("API のアドレス").fill(stub.url)
        page.screenshot(path=screenshots / "01-connection-form.png", full_page=True)
        page.get_by_role("button", name="保存").click()

        expect(page.get_by_test_id("webhook-url")).to_have_value(re.compile(r"^http.*/hooks/shopify/[\w-]{20,}/$"))
        page.get_by_test_id("test-connection").click()
        expect(page.get_by_test_id("test-result")).to_contain_text("接続しました")
        page.get_by_test_id("sync-now").click()
        expect(page.get_by_test_id("run-counts").first.locator("[data-resource=orders]")).to_contain_text("新規 2")
    expect(page.get_by_test_id("run-status").first).to_have_text("一部エラー")
    page.get_by_text("エラー 1 件").click()
    expect(page.get_by_test_id("sync-runs")).to_contain_text("注文にお客様がありません")
    page.screenshot(path=screenshots / "02-connection-synced.png", full_page=True)
    assert Order.objects.filter(source="shopify").count() == 2

    page.get_by_test_id("data-tabs").get_by_role("link", name="外部連携").click()
    expect(page.get_by_test_id("connections")).to_contain_text("Shopify")
    page.screenshot(path=screenshots / "03-connections.png", full_page=True)
