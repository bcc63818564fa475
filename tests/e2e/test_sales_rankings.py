"""A marketer reads the sales analysis on the demo data, changes the breakdown and filters, downloads the tables,
then reads the monthly ranking and steps to the month before."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tokui.accounts.enums import Role
from tokui.accounts.services import user_create
from tokui.demo.generator import load_demo_data

pytestmark = pytest.mark.django_db(transaction=True)


def test_marketer_reads_sales_by_channel_and_category_exports_and_reads_the_ranking(
    live_server: LiveServer, page: Page, screenshots: Path
) -> None:
    load_demo_data(seed=7, scale=0.05)
    user_create(username="hanako", password="tokui-e2e-pass", role=Role.MARKETER, display_name="鈴木 花子")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("ユーザー名").fill("hanako")
    page.get_by_label("パスワード").fill("tokui-e2e-pass")
    page.get_by_role("button", name="ログイン").click()
    page.locator("[data-nav=sales]").click()

    expect(page.locator(".tokui-topbar")).to_contain_text("売上分析")
    expect(page.get_by_test_id("sales-notes")).to_contain_text("キャンセル・返金の受注は含みません")
    # The chart is drawn (ECharts renders SVG into the element) and the table is beside it.
    expect(page.get_by_test_id("sales-chart").locator("svg")).to_be_visible()
    expect(page.get_by_test_id("period-table").locator("tbody tr")).to_have_count(13)
    expect(page.get_by_test_id("breakdown-title")).to_have_text("チャネル別")
    expect(page.get_by_test_id("breakdown-table")).to_contain_text("Web")
    expect(page.get_by_test_id("breakdown-chart").locator("svg")).to_be_visible()
    page.screenshot(path=screenshots / "01-sales-by-channel.png", full_page=True)

    # Changing the breakdown submits the form by itself.
    page.get_by_label("内訳").select_option(label="カテゴリ")
    expect(page.get_by_test_id("breakdown-title")).to_have_text("カテゴリ別")
    expect(page.get_by_test_id("line-breakdown-note")).to_be_visible()
    assert page.get_by_test_id("breakdown-table").locator("tbody tr").count() > 3
    page.screenshot(path=screenshots / "02-sales-by-category.png", full_page=True)

    page.get_by_label("チャネル").select_option(label="営業担当")
    page.get_by_label("集計単位").select_option(label="週")
    expect(page).to_have_url(re.compile("granularity=week"))
    expect(page.get_by_test_id("sales-chart").locator("svg")).to_be_visible()
    page.screenshot(path=screenshots / "03-sales-weekly-sales-rep-channel.png", full_page=True)

    with page.expect_download() as download:
        page.get_by_test_id("export-breakdown-csv").click()
    csv_path = screenshots / "sales-by-category.csv"
    download.value.save_as(csv_path)
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "カテゴリ" in csv_path.read_text(encoding="utf-8-sig").splitlines()[0]
    with page.expect_download() as download:
        page.get_by_test_id("export-xlsx").click()
    assert download.value.suggested_filename.endswith(".xlsx")

    # By product within one channel, weekly: read from the lines' chains (ADR 41), not the month sums.
    page.get_by_label("内訳").select_option(label="商品")
    expect(page.get_by_test_id("breakdown-title")).to_have_text("商品別")
    expect(page).to_have_url(re.compile("breakdown=product"))
    assert page.get_by_test_id("breakdown-table").locator("tbody tr").count() > 3
    page.screenshot(path=screenshots / "03b-sales-weekly-by-product-sales-rep-channel.png", full_page=True)

    # A range starting mid-month, every channel, by month: the sums with the buyers of the first month's days
    # before the start read by index (ADR 42); the first row is the start's month, in part.
    start = page.get_by_label("開始日")
    first_day = dt.date.fromisoformat(start.input_value()).replace(day=15)
    start.fill(first_day.isoformat())
    page.get_by_label("チャネル").select_option(index=0)
    page.get_by_label("集計単位").select_option(label="月")
    page.get_by_role("button", name="表示").click()
    expect(page).to_have_url(re.compile(f"start={first_day.isoformat()}"))
    expect(page.get_by_test_id("breakdown-title")).to_have_text("商品別")
    expect(page.get_by_test_id("period-table").locator("tbody tr")).to_have_count(13)
    assert page.get_by_test_id("breakdown-table").locator("tbody tr").count() > 3
    page.screenshot(path=screenshots / "03c-sales-by-product-from-the-15th.png", full_page=True)

    # One company size, by prefecture: both from the sums per customer attribute (ADR 45).
    page.get_by_label("規模").select_option(index=1)
    page.get_by_label("内訳").select_option(label="都道府県")
    expect(page).to_have_url(re.compile("breakdown=prefecture"))
    expect(page).to_have_url(re.compile("company_size=[a-z]"))
    expect(page.get_by_test_id("breakdown-title")).to_have_text("都道府県別")
    assert page.get_by_test_id("breakdown-table").locator("tbody tr").count() > 1
    expect(page.get_by_test_id("sales-chart").locator("svg")).to_be_visible()
    page.screenshot(path=screenshots / "03d-sales-one-size-by-prefecture.png", full_page=True)

    # The same size by product: its product month sums (ADR 46), with the totals row over every line.
    page.get_by_label("内訳").select_option(label="商品")
    expect(page).to_have_url(re.compile("breakdown=product"))
    expect(page.get_by_test_id("breakdown-title")).to_have_text("商品別")
    assert page.get_by_test_id("breakdown-table").locator("tbody tr").count() > 1
    expect(page.get_by_test_id("breakdown-table").locator("tfoot tr")).to_contain_text("合計")
    page.screenshot(path=screenshots / "03e-sales-one-size-by-product.png", full_page=True)

    page.locator("[data-nav=rankings]").click()
    table = page.get_by_test_id("ranking-table")
    expect(table.locator("tbody tr")).to_have_count(20)
    expect(table.locator("tbody tr").first.locator("img")).to_be_visible()
    page.screenshot(path=screenshots / "04-ranking-last-month.png", full_page=True)

    page.get_by_test_id("previous-period").click()
    expect(table.locator("tbody tr").first).to_be_visible()
    expect(table.get_by_test_id("movement").first).to_have_text(re.compile(r"^(↑\d+|↓\d+|→|NEW)$"))
    page.get_by_label("並び順").select_option(label="売上")
    expect(page).to_have_url(re.compile("by=revenue"))
    page.screenshot(path=screenshots / "05-ranking-month-before-by-revenue.png", full_page=True)
    assert errors == []
