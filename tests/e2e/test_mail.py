"""A marketer opens a mail template in the editor, previews it as a demo contact, sends a test and finds it in
the Outbox; the mail really went through SMTP (the built-in mail catcher, aiosmtpd) and is parsed back."""

from __future__ import annotations

import socket
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pytest_django.fixtures import Settings as SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from tokui.accounts.enums import Role
from tokui.accounts.services import user_create
from tokui.customers.models import Contact
from tokui.demo.generator import load_demo_data
from tokui.demo.mailcatcher import MailCatcher
from tokui.demo.models import CaughtMail
from tokui.messaging.services import mail_template_create, mail_template_save, sender_identity_save

pytestmark = pytest.mark.django_db(transaction=True)

MAIL_HTML = """
<table role="presentation" width="100%"><tr><td style="padding:24px;font-family:sans-serif;">
<h1 style="color:#8a1c1c;">{{ contact.name | default: "ご担当者" }}様</h1>
<p>{{ company.name }}様、いつもありがとうございます。春の新作が入荷しました。</p>
<p><a href="https://shop.example.jp/new?utm_source=mail"
 style="background:#8a1c1c;color:#fff;padding:12px 20px;">新作を見る</a></p>
<img src="https://shop.example.jp/media/banner.jpg" alt="春の新作" width="560">
</td></tr></table>
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_marketer_previews_a_template_as_a_contact_test_sends_it_and_sees_it_in_the_outbox(
    live_server: LiveServer, page: Page, screenshots: Path, settings: SettingsWrapper
) -> None:
    load_demo_data(seed=7, scale=0.02)
    port = _free_port()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port},
        }
    }
    settings.MAIL_CHANNEL = "smtp"
    sender = sender_identity_save(
        name="得意アパレル", email="shop@tokui.example.jp", company_name="得意アパレル株式会社",
        postal_address="東京都渋谷区神南1-2-3", is_default=True,
    )  # fmt: skip
    template = mail_template_create(name="春の新作のお知らせ", subject="{{ contact.name }}様へ 春の新作", sender=sender)
    mail_template_save(template=template, html=MAIL_HTML)
    contact = Contact.objects.exclude(email="").select_related("company").order_by("id").first()
    assert contact is not None
    user_create(username="hanako", password="tokui-e2e-pass", role=Role.MARKETER, display_name="鈴木 花子")

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("ユーザー名").fill("hanako")
    page.get_by_label("パスワード").fill("tokui-e2e-pass")
    page.get_by_role("button", name="ログイン").click()
    page.get_by_role("navigation", name="メインメニュー").get_by_role("link", name="メールテンプレート").click()
    page.get_by_test_id("mail-templates").get_by_role("link", name="春の新作のお知らせ").click()

    # The editor page hosts the visual editor (GrapesJS bundle) on the saved mail.
    expect(page.locator(".gjs-editor")).to_be_visible()
    expect(page.get_by_test_id("current-version")).to_contain_text("第 1 版")
    # Add the cart-items block. Playwright cannot drag natively from the block panel into the editor's frame, so
    # the drag is started and ended through the editor while the mouse moves over the frame like a user's would.
    editor = "document.querySelector('[data-mail-editor]').tokuiEditor"
    expect(page.locator(".gjs-frame")).to_be_visible()
    frame_box = page.locator(".gjs-frame").bounding_box()
    assert frame_box is not None
    page.evaluate(f"() => {editor}.Blocks.startDrag({editor}.Blocks.get('tokui-cart-items'))")
    for step in range(6):
        page.mouse.move(frame_box["x"] + frame_box["width"] / 2, frame_box["y"] + frame_box["height"] * 0.8 + step * 3)
        page.wait_for_timeout(40)
    page.evaluate(f"() => {editor}.Blocks.endDrag(false)")
    expect(page.frame_locator(".gjs-frame").locator("[data-tokui-for]").first).to_be_visible()
    page.screenshot(path=screenshots / "01-editor.png", full_page=True)
    page.get_by_test_id("save-visual").click()
    expect(page.get_by_test_id("current-version")).to_contain_text("第 2 版")
    saved = template.versions.order_by("-number").first()
    assert saved is not None and "{% for item in cart.items %}" in saved.html and "{% endfor %}" in saved.html

    page.get_by_test_id("open-preview").click()
    page.get_by_label("表示するお客様").select_option(str(contact.pk))
    page.get_by_role("button", name="表示", exact=True).click()
    expect(page.get_by_test_id("preview-subject")).to_have_text(f"{contact.name}様へ 春の新作")
    frame = page.frame_locator("[data-testid=preview-frame]")
    expect(frame.locator("h1")).to_have_text(f"{contact.name}様")
    expect(page.get_by_test_id("checklist")).to_contain_text("画像に代替テキスト")
    page.screenshot(path=screenshots / "02-preview-desktop.png", full_page=True)
    page.get_by_test_id("width-mobile").click()
    expect(page.get_by_test_id("preview-frame")).to_have_js_property("offsetWidth", 375)
    expect(frame.locator("h1")).to_be_visible()
    page.wait_for_timeout(300)  # let the frame repaint at its new width before the screenshot
    page.screenshot(path=screenshots / "03-preview-mobile.png", full_page=True)

    with MailCatcher(host="127.0.0.1", port=port):
        page.get_by_label("テスト送信の宛先").fill("staff@tokui.example.jp")
        page.get_by_test_id("test-send-form").get_by_role("button", name="テスト送信").click()
        expect(page.get_by_role("alert").or_(page.locator(".alert-success"))).to_contain_text("送信ログ")

    page.get_by_role("link", name="送信ログ").first.click()
    outbox = page.get_by_test_id("mail-outbox")
    expect(outbox.locator("tbody tr").first).to_contain_text("staff@tokui.example.jp")
    expect(outbox.locator("tbody tr").first).to_contain_text("送信済み")
    expect(outbox.locator("tbody tr").first).to_contain_text("サーバーが受け取りました")
    page.screenshot(path=screenshots / "04-outbox.png", full_page=True)

    caught = CaughtMail.objects.get()
    message = BytesParser(policy=policy.default).parsebytes(bytes(caught.raw))
    assert message["Subject"] == f"{contact.name}様へ 春の新作"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.get_body(("html",))
    assert html is not None and "/m/c/" in html.get_content() and "得意アパレル株式会社" in html.get_content()


def test_a_template_saved_without_an_editor_project_opens_with_its_css(
    live_server: LiveServer, page: Page, screenshots: Path
) -> None:
    sender = sender_identity_save(
        name="得意アパレル", email="shop@tokui.example.jp", company_name="得意アパレル株式会社",
        postal_address="東京都渋谷区神南1-2-3", is_default=True,
    )  # fmt: skip
    template = mail_template_create(name="コードで作ったお知らせ", subject="お知らせ", sender=sender)
    # Saved from code (the demo's templates, the API): HTML and CSS, no editor project.
    mail_template_save(template=template, html='<p class="lead">新作のご案内</p>', css=".lead { color: #8a1c1c; }")
    user_create(username="hanako", password="tokui-e2e-pass", role=Role.MARKETER, display_name="鈴木 花子")

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("ユーザー名").fill("hanako")
    page.get_by_label("パスワード").fill("tokui-e2e-pass")
    page.get_by_role("button", name="ログイン").click()
    page.goto(f"{live_server.url}/mail/{template.pk}/")

    lead = page.frame_locator(".gjs-frame").locator("p.lead")
    expect(lead).to_have_text("新作のご案内")
    expect(lead).to_have_css("color", "rgb(138, 28, 28)")
    page.screenshot(path=screenshots / "05-editor-code-template.png", full_page=True)
