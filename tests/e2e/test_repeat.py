"""A manager reads repeat rate, F2, the cohort triangle and LTV by channel on the demo data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tokui.accounts.enums import Role
from tokui.accounts.services import user_create
from tokui.demo.generator import load_demo_data

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_manager_reads_the_cohort_triangle_and_ltv(live_server: LiveServer, page: Page, screenshots: Path) -> None:
    load_demo_data(seed=7, scale=0.05)
    user_create(username="hanako", password="tokui-e2e-pass", role=Role.MARKETER, display_name="鈴木 花子")
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("ユーザー名").fill("hanako")
    page.get_by_label("パスワード").fill("tokui-e2e-pass")
    page.get_by_role("button", name="ログイン").click()

    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="リピートとLTV").click()
    expect(page.get_by_test_id("cohort-table").locator("tbody tr").first).to_be_visible()
    expect(page.locator("[data-chart=f2-chart-data] svg")).to_be_visible()
    page.screenshot(path=screenshots / "01-repeat.png", full_page=True)

    # The prediction tab lists those just past their usual interval first; the other order on asking.
    page.get_by_role("link", name="予測", exact=True).click()
    overdue_by = page.get_by_test_id("overdue").locator("tbody tr td:nth-child(5)")
    expect(overdue_by.first).to_be_visible()
    just_past = [float(text.removesuffix("日")) for text in overdue_by.all_inner_texts()]
    assert just_past == sorted(just_past), just_past
    page.get_by_label("並べ替え").select_option(label="超過日数の多い順")
    page.get_by_test_id("overdue-order").get_by_role("button", name="表示").click()
    expect(page).to_have_url(re.compile(r"order=longest_past"))
    longest = [float(text.removesuffix("日")) for text in overdue_by.all_inner_texts()]
    assert longest == sorted(longest, reverse=True) and longest[0] >= just_past[-1], longest
    page.screenshot(path=screenshots / "02-prediction-longest-past.png", full_page=True)
    assert errors == [], errors
