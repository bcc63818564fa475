"""A marketer's first visit: log in, read the dashboard, find a company, open its customer page, switch to English."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tokui.accounts.enums import Role
from tokui.accounts.services import user_create
from tokui.customers.models import Company
from tokui.demo.generator import load_demo_data

pytestmark = pytest.mark.django_db(transaction=True)


def test_marketer_walks_from_login_to_a_customer_page_and_switches_to_english(
    live_server: LiveServer, page: Page, screenshots: Path
) -> None:
    load_demo_data(seed=7, scale=0.05)
    user_create(username="hanako", password="tokui-e2e-pass", role=Role.MARKETER, display_name="鈴木 花子")
    company = Company.objects.filter(orders__isnull=False, contacts__isnull=False).order_by("id").first()
    assert company is not None
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Tokui")).to_be_visible()
    page.get_by_label("ユーザー名").fill("hanako")
    page.get_by_label("パスワード").fill("tokui-e2e-pass")
    page.screenshot(path=screenshots / "01-login.png")
    page.get_by_role("button", name="ログイン").click()

    expect(page.locator("[data-kpi=revenue]")).to_contain_text("今月の売上")
    expect(page.locator("[data-chart] svg")).to_be_visible()
    page.screenshot(path=screenshots / "02-dashboard.png", full_page=True)

    page.locator("[data-nav=companies]").click()
    search_term = company.name_kana[:4] if company.name_kana else company.name[:4]
    page.get_by_role("searchbox").fill(search_term)
    page.get_by_role("button", name="検索").click()
    link = page.get_by_role("link", name=company.name, exact=True)
    expect(link).to_be_visible()
    page.screenshot(path=screenshots / "03-company-search.png", full_page=True)

    link.click()
    expect(page.get_by_test_id("company-name")).to_have_text(company.name)
    expect(page.get_by_text("顧客カルテ")).to_be_visible()
    expect(page.get_by_test_id("orders").locator("tbody tr").first).to_be_visible()
    timeline_items = page.get_by_test_id("timeline").locator("li[data-event-type]")
    expect(timeline_items.first).to_be_visible()
    page.screenshot(path=screenshots / "04-customer-page.png", full_page=True)

    page.get_by_label("言語").select_option("en")
    expect(page.get_by_text("Customer page")).to_be_visible()
    expect(page.get_by_test_id("company-name")).to_have_text(company.name)
    page.screenshot(path=screenshots / "05-customer-page-english.png", full_page=True)

    assert errors == [], f"the browser console reported errors: {errors}"
