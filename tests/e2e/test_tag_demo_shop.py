"""A customer visits the demo shop: the real tag in real Chromium sends the visit, and it lands on their 顧客カルテ."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from tokui.accounts.enums import Role
from tokui.accounts.services import user_create
from tokui.catalog.selectors import products_on_sale
from tokui.commerce.enums import CartState
from tokui.commerce.models import Cart
from tokui.customers.models import Contact
from tokui.demo.generator import load_demo_data
from tokui.tracking.models import AnonymousIdentity, Event

pytestmark = pytest.mark.django_db(transaction=True)


def eventually[T](read: Callable[[], T], until: Callable[[T], bool], timeout: float = 15.0) -> T:
    """The tag sends in the background (batches, beacons on page hide): wait for the database to show it."""
    deadline = time.monotonic() + timeout
    value = read()
    while not until(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = read()
    return value


def test_a_customer_browses_the_demo_shop_adds_to_cart_logs_in_and_the_visit_reaches_their_customer_page(
    live_server: LiveServer, page: Page, browser: Browser, screenshots: Path
) -> None:
    load_demo_data(seed=7, scale=0.05)
    product = products_on_sale().exclude(image="").order_by("sku").first()
    assert product is not None
    buyer = (
        Contact.objects.filter(is_primary=True, company__isnull=False, orders__isnull=False)
        .exclude(email="")
        .order_by("company__name_kana", "id")
        .first()
    )
    assert buyer is not None and buyer.company is not None
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    # An anonymous visitor: the shop asks for consent first, and nothing is sent before it.
    page.goto(f"{live_server.url}/shop/")
    banner = page.locator("[data-tokui-consent-banner]")
    expect(banner).to_be_visible()
    page.screenshot(path=screenshots / "01-shop-consent.png")
    page.wait_for_timeout(1500)
    assert not Event.objects.filter(source="tag").exists()
    banner.get_by_role("button", name="同意する").click()
    expect(banner).to_be_hidden()
    anonymous_id = page.evaluate("window.tokui.anonymousId()")
    assert anonymous_id

    page.get_by_role("searchbox").fill(product.name.split()[0])
    page.get_by_role("button", name="検索").click()
    page.get_by_test_id("product-link").first.click()
    expect(page.get_by_test_id("product-name")).to_be_visible()
    page.goto(f"{live_server.url}/shop/products/{product.sku}/")
    expect(page.get_by_test_id("product-name")).to_have_text(product.name)
    page.screenshot(path=screenshots / "02-product.png", full_page=True)
    page.get_by_label("数量").fill("3")
    page.get_by_role("button", name="カートに入れる").click()
    expect(page.get_by_test_id("cart").locator(f"tr[data-sku='{product.sku}']")).to_be_visible()
    page.screenshot(path=screenshots / "03-cart.png", full_page=True)

    anonymous = eventually(
        lambda: set(Event.objects.filter(anonymous_id=anonymous_id).values_list("type", flat=True)),
        lambda types: {"page_viewed", "searched", "product_viewed", "cart_item_added"} <= types,
    )
    assert {"page_viewed", "searched", "product_viewed", "cart_item_added"} <= anonymous
    assert not Event.objects.filter(anonymous_id=anonymous_id, contact__isnull=False).exists()

    # Log in as a demo buyer: the earlier anonymous visit becomes theirs, and so does the cart.
    page.get_by_role("link", name="ログイン").click()
    page.get_by_label("顧客（メールアドレス）").select_option(buyer.email)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_test_id("shop-customer")).to_contain_text(buyer.name)
    page.screenshot(path=screenshots / "04-logged-in.png", full_page=True)
    page.goto(f"{live_server.url}/shop/cart/")  # a page hide: the tag hands its queue to sendBeacon

    identity = eventually(
        lambda: AnonymousIdentity.objects.filter(anonymous_id=anonymous_id).first(), lambda found: found is not None
    )
    assert identity is not None and identity.contact_id == buyer.pk
    stitched = set(Event.objects.filter(anonymous_id=anonymous_id).values_list("contact_id", "company_id"))
    assert stitched == {(buyer.pk, buyer.company_id)}
    cart = eventually(
        lambda: Cart.objects.filter(source="tag", anonymous_id=anonymous_id).first(),
        lambda found: found is not None and found.contact_id is not None,
    )
    assert cart is not None
    assert (cart.contact_id, cart.company_id, cart.state) == (buyer.pk, buyer.company_id, CartState.ACTIVE)
    assert list(cart.lines.values_list("product__sku", "quantity")) == [(product.sku, 3)]

    # A marketer opens the buyer's company in Tokui: the visit is on the timeline of the 顧客カルテ.
    user_create(username="hanako", password="tokui-e2e-pass", role=Role.MARKETER, display_name="鈴木 花子")
    staff = browser.new_context(viewport={"width": 1366, "height": 900}, locale="ja-JP", timezone_id="Asia/Tokyo")
    try:
        tokui = staff.new_page()
        tokui.goto(f"{live_server.url}/login/")
        tokui.get_by_label("ユーザー名").fill("hanako")
        tokui.get_by_label("パスワード").fill("tokui-e2e-pass")
        tokui.get_by_role("button", name="ログイン").click()
        tokui.goto(f"{live_server.url}/companies/{buyer.company_id}/")
        expect(tokui.get_by_test_id("company-name")).to_have_text(buyer.company.name)
        timeline = tokui.get_by_test_id("timeline")
        expect(timeline.locator("li[data-event-type=logged_in]").first).to_contain_text(buyer.name)
        expect(timeline.locator("li[data-event-type=cart_item_added]").first).to_contain_text(product.name)
        expect(timeline.locator("li[data-event-type=product_viewed]").first).to_be_visible()
        tokui.screenshot(path=screenshots / "05-customer-page-timeline.png", full_page=True)
    finally:
        staff.close()

    # Checkout completes the cart (the order itself would come from the shop's order system).
    page.get_by_role("link", name="レジに進む").click()
    page.get_by_role("button", name="注文を確定する").click()
    expect(page.get_by_role("heading", name="ご注文ありがとうございました")).to_be_visible()
    page.screenshot(path=screenshots / "06-thanks.png", full_page=True)
    page.goto(f"{live_server.url}/shop/")
    converted = eventually(lambda: Cart.objects.get(pk=cart.pk).state, lambda state: state == CartState.CONVERTED)
    assert converted == CartState.CONVERTED
    assert Event.objects.filter(anonymous_id=anonymous_id, type="order_placed", contact=buyer).exists()
    assert errors == [], f"the browser console reported errors: {errors}"

    # The administrator who installed the tag sees on the tag screen that the shop's pages send.
    user_create(username="owner", password="tokui-e2e-pass", role=Role.ADMIN, display_name="管理者")
    admin = browser.new_context(viewport={"width": 1366, "height": 900}, locale="ja-JP", timezone_id="Asia/Tokyo")
    try:
        tokui = admin.new_page()
        tokui.goto(f"{live_server.url}/login/")
        tokui.get_by_label("ユーザー名").fill("owner")
        tokui.get_by_label("パスワード").fill("tokui-e2e-pass")
        tokui.get_by_role("button", name="ログイン").click()
        tokui.goto(f"{live_server.url}/data/tag/")
        tokui.get_by_test_id("sites").get_by_role("link").first.click()
        expect(tokui.get_by_test_id("snippet")).to_have_value(re.compile(r'data-key="tk_'))
        expect(tokui.get_by_test_id("site-events")).to_contain_text(buyer.name)
        expect(tokui.get_by_test_id("site-hours").locator("rect[height]:not([height='0'])")).not_to_have_count(0)
        tokui.screenshot(path=screenshots / "07-tag-screen.png", full_page=True)
    finally:
        admin.close()
