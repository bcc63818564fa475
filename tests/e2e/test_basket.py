"""A marketer looks for cross-sell pairs on the demo data and opens one product's partners."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tokui.accounts.enums import Role
from tokui.accounts.services import user_create
from tokui.demo.generator import load_demo_data

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_marketer_reads_the_basket_analysis_and_one_products_partners(
    live_server: LiveServer, page: Page, screenshots: Path
) -> None:
    load_demo_data(seed=7, scale=0.05)
    user_create(username="hanako", password="tokui-e2e-pass", role=Role.MARKETER, display_name="鈴木 花子")
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("ユーザー名").fill("hanako")
    page.get_by_label("パスワード").fill("tokui-e2e-pass")
    page.get_by_role("button", name="ログイン").click()

    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="バスケット分析").click()
    pairs = page.get_by_test_id("basket-pairs")
    expect(pairs.locator("tbody tr").first).to_be_visible()
    expect(page.get_by_test_id("basket-summary")).to_contain_text("件以上の注文で一緒に購入された")
    expect(page.get_by_test_id("basket-sets").locator("tbody tr").first).to_be_visible()
    page.screenshot(path=screenshots / "01-basket-pairs.png", full_page=True)

    page.get_by_label("並べ替え").select_option("lift")
    page.get_by_role("button", name="表示").click()
    pairs.locator("tbody tr").first.locator("a").first.click()
    expect(page.get_by_test_id("bought-together")).to_contain_text("一緒によく購入されている商品")
    page.screenshot(path=screenshots / "02-bought-together.png", full_page=True)

    page.get_by_label("一緒に購入された注文（件以上）").fill("0")
    page.get_by_role("button", name="表示").click()
    expect(page.get_by_test_id("error-min_orders")).to_be_visible()
