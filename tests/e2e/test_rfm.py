"""A marketer reads the RFM grid on the demo data, opens a cell's companies, checks movement and edits boundaries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tokui.accounts.enums import Role
from tokui.accounts.services import user_create
from tokui.analytics.services import analytics_nightly_run
from tokui.demo.generator import load_demo_data

pytestmark = pytest.mark.django_db(transaction=True)


def test_marketer_reads_the_rfm_grid_opens_a_cell_and_is_told_to_fix_bad_boundaries(
    live_server: LiveServer, page: Page, screenshots: Path
) -> None:
    load_demo_data(seed=7, scale=0.05)
    assert analytics_nightly_run(force=True)
    user_create(username="hanako", password="tokui-e2e-pass", role=Role.MARKETER, display_name="鈴木 花子")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("ユーザー名").fill("hanako")
    page.get_by_label("パスワード").fill("tokui-e2e-pass")
    page.get_by_role("button", name="ログイン").click()
    page.locator("[data-nav=rfm]").click()

    grid = page.get_by_test_id("rfm-grid")
    expect(grid).to_be_visible()
    expect(page.get_by_text("R×Fグリッド")).to_be_visible()
    expect(page.get_by_test_id("rfm-groups")).to_contain_text("優良")
    expect(page.get_by_test_id("rfm-movement")).to_contain_text("離脱懸念")
    page.screenshot(path=screenshots / "01-rfm-grid.png", full_page=True)

    # The busiest cell opens the company list filtered to exactly its customers.
    counts = {
        cell.get_attribute("data-cell"): int(cell.get_by_test_id("cell-count").inner_text().replace(",", ""))
        for cell in grid.locator("td[data-cell]").all()
    }
    busiest = max(counts, key=lambda key: counts[key] or 0)
    assert busiest is not None and counts[busiest] > 0
    grid.locator(f"td[data-cell={busiest}] a").click()
    expect(page.get_by_test_id("rfm-filter")).to_contain_text("RFMセル")
    expect(page.get_by_test_id("result-count")).to_contain_text(f"{counts[busiest]}")
    page.screenshot(path=screenshots / "02-companies-of-a-cell.png", full_page=True)

    page.go_back()
    page.get_by_role("link", name="個人のお客様（B2C）").click()
    expect(page.locator("a[data-level=contact]")).to_have_class(re.compile("active"))
    expect(page.get_by_test_id("rfm-settings-link")).to_have_attribute("href", re.compile("level=contact"))
    page.screenshot(path=screenshots / "03-rfm-grid-b2c.png", full_page=True)

    page.locator("a[data-level=company]").click()
    expect(page.get_by_test_id("rfm-settings-link")).to_have_attribute("href", re.compile("level=company"))
    page.get_by_test_id("rfm-settings-link").click()
    page.get_by_label("Rの境界値（最終購入からの日数）").fill("30, 90, 60, 180")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("field-error").first).to_contain_text("昇順")
    page.screenshot(path=screenshots / "04-settings-error.png", full_page=True)

    page.get_by_label("Rの境界値（最終購入からの日数）").fill("14, 30, 60, 120")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_test_id("rfm-grid")).to_be_visible()
    expect(page.get_by_text("最終購入が 14 / 30 / 60 / 120 日以内")).to_be_visible()
    # The refused form answers 400 on purpose; the browser logs that, and nothing else may go wrong.
    assert [error for error in errors if "status of 400" not in error] == []
