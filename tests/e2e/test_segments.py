"""A marketer builds "companies that viewed new products 3+ times this week but have not ordered in 60 days" in the
builder, watches the live count, saves it, sees its members, and a company enters it when its views arrive."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.factories import CompanyFactory, ContactFactory, OrderFactory, ProductFactory
from tokui.accounts.enums import Role
from tokui.accounts.services import user_create
from tokui.core.time import local_now
from tokui.tracking.enums import EventType
from tokui.tracking.models import Event
from tokui.tracking.services import event_record

pytestmark = pytest.mark.django_db(transaction=True)


def _views(company_id: int, sku: str, times: int) -> None:
    # Within this week in Tokyo: from the start of today (a Monday morning run still has "this week").
    start = local_now().replace(hour=0, minute=1, second=0, microsecond=0)
    Event.objects.bulk_create(
        [
            Event(
                type=EventType.PRODUCT_VIEWED,
                company_id=company_id,
                occurred_at=start + dt.timedelta(seconds=i),
                properties={"sku": sku},
                dispatched_at=timezone.now(),
            )
            for i in range(times)
        ]
    )


def test_marketer_builds_a_segment_sees_the_live_count_saves_it_and_a_company_enters_it(
    live_server: LiveServer, page: Page, screenshots: Path
) -> None:
    new = ProductFactory(is_new=True, sku="NEW-2026SS-01", name="新作リネンシャツ")
    old = ProductFactory(is_new=False, sku="OLD-01")
    keen = CompanyFactory(name="株式会社セレクト青山", name_kana="セレクトアオヤマ")
    ordered = CompanyFactory(name="株式会社注文済み商店", name_kana="チュウモンズミ")
    lukewarm = CompanyFactory(name="株式会社まだ二回", name_kana="マダニカイ")
    buyer = ContactFactory(company=lukewarm)
    _views(keen.pk, new.sku, 3)
    _views(ordered.pk, new.sku, 4)
    _views(lukewarm.pk, new.sku, 2)
    _views(lukewarm.pk, old.sku, 5)
    OrderFactory(company=ordered, placed_at=timezone.now() - dt.timedelta(days=20), total=Decimal(30000))
    user_create(username="hanako", password="tokui-e2e-pass", role=Role.MARKETER, display_name="鈴木 花子")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("ユーザー名").fill("hanako")
    page.get_by_label("パスワード").fill("tokui-e2e-pass")
    page.get_by_role("button", name="ログイン").click()
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="セグメント").click()
    page.get_by_test_id("new-segment").click()
    page.get_by_label("セグメント名").fill("新商品に関心・60日注文なし")
    expect(page.get_by_test_id("live-count")).to_contain_text("3件")  # no conditions yet: every company

    page.get_by_test_id("add-condition").select_option("viewed")
    viewed = page.locator("[data-testid=segment-condition][data-type=viewed]")
    viewed.locator("select[data-name=period]").select_option("this_week")
    viewed.locator("select[data-name=target]").select_option("new_product")
    viewed.locator("input[data-name=min_count]").fill("3")
    expect(page.get_by_test_id("live-count")).to_contain_text("2件")

    page.get_by_test_id("add-condition").last.select_option("purchased")
    purchased = page.locator("[data-testid=segment-condition][data-type=purchased]")
    purchased.locator("input[data-name=period-days]").fill("60")
    purchased.locator("select[data-name=op]").select_option("not_bought")
    expect(page.get_by_test_id("live-count")).to_contain_text("1件")
    expect(page.get_by_test_id("preview-sample")).to_contain_text("株式会社セレクト青山")
    expect(page.get_by_test_id("rule-summary")).to_contain_text(
        "今週 新着商品を3回以上閲覧した、かつ過去60日間 注文していない"
    )
    page.screenshot(path=screenshots / "01-builder.png", full_page=True)

    page.get_by_test_id("save-segment").click()
    expect(page.get_by_test_id("member-count")).to_contain_text("1件")
    expect(page.get_by_test_id("members")).to_contain_text("株式会社セレクト青山")
    expect(page.get_by_test_id("rule-history")).to_contain_text("v1")
    page.screenshot(path=screenshots / "02-detail.png", full_page=True)

    # The third view of a new product by the lukewarm company's buyer arrives as a fact: it enters the segment.
    event_record(type=EventType.PRODUCT_VIEWED, contact_id=buyer.pk, properties={"sku": new.sku})
    page.reload()
    expect(page.get_by_test_id("member-count")).to_contain_text("2件")
    expect(page.get_by_test_id("members")).to_contain_text("株式会社まだ二回")
    assert Event.objects.filter(type=EventType.SEGMENT_ENTERED, company=lukewarm).exists()
    page.screenshot(path=screenshots / "03-entered.png", full_page=True)
    assert not errors
