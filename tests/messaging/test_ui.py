"""The mail screens, through the whole Django stack (the browser test is in tests/e2e/test_mail.py)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.factories import UserFactory
from tests.messaging.conftest import SmtpServer
from tokui.accounts.enums import Role
from tokui.customers.models import Contact
from tokui.messaging.models import MailTemplate, MailTemplateVersion, OutboxMessage, SenderIdentity

pytestmark = pytest.mark.django_db


def test_a_template_is_created_saved_in_the_code_view_and_restored(
    marketer_client: Client, sender: SenderIdentity
) -> None:
    created = marketer_client.post(
        "/mail/new/",
        {
            "name": "新商品のお知らせ",
            "subject": "{{ contact.name }}様へ新商品",
            "kind": "marketing",
            "topic": "news",
            "sender": sender.pk,
            "charset": "utf-8",
        },
    )
    template = MailTemplate.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/mail/{template.pk}/"
    page = marketer_client.get(f"/mail/{template.pk}/").content.decode()
    assert "data-mail-editor" in page and "tokui/editor/editor.js" in page and 'name="html_initial"' in page

    for html in ("<p>{{ contact.name }}様 第1版</p>", "<p>{{ contact.name }}様 第2版</p>"):
        saved = marketer_client.post(
            f"/mail/{template.pk}/",
            {
                "subject": "{{ contact.name }}様へ新商品",
                "preheader": "",
                "html": html,
                "css": "p{color:red}",
                "project": json.dumps({"pages": []}),
            },
        )
        assert saved.status_code == 302
    first = template.versions.get(number=1)
    marketer_client.post(f"/mail/{template.pk}/versions/{first.pk}/restore/")
    template.refresh_from_db()
    assert template.current_version is not None and template.current_version.number == 3
    assert "第1版" in template.current_version.html and template.current_version.restored_from == first


def test_a_save_with_liquid_errors_shows_them_and_keeps_the_last_version(
    marketer_client: Client, cart_template: tuple[MailTemplate, MailTemplateVersion]
) -> None:
    template, version = cart_template
    response = marketer_client.post(
        f"/mail/{template.pk}/", {"subject": "件名", "html": "<p>ok</p>\n<p>{{ contcat.name }}</p>", "css": ""}
    )
    body = response.content.decode()
    assert response.status_code == 200 and "contcat.name" in body and "2" in body
    template.refresh_from_db()
    assert template.current_version == version
    assert "{{ contcat.name }}" in body  # what the user typed is still on the page


def test_the_preview_renders_as_a_contact_in_a_strict_frame_with_the_checklist(
    marketer_client: Client, cart_template: tuple[MailTemplate, MailTemplateVersion], buyer: Contact
) -> None:
    template = cart_template[0]
    page = marketer_client.get(f"/mail/{template.pk}/preview/?contact={buyer.pk}")
    body = page.content.decode()
    assert page.status_code == 200 and "山田 花子様、カートに商品が残っています" in body
    assert 'sandbox=""' in body and f"/mail/{template.pk}/preview/frame/?contact={buyer.pk}" in body
    assert "width-mobile" in body and "HTML" in body
    frame = marketer_client.get(f"/mail/{template.pk}/preview/frame/?contact={buyer.pk}")
    assert "山田 花子様" in frame.content.decode()
    policy = frame["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "frame-ancestors 'self'" in policy
    assert frame["X-Frame-Options"] == "SAMEORIGIN"


def test_a_test_send_reaches_the_smtp_server_and_the_outbox_page_shows_its_attempt(
    smtp_server: SmtpServer,
    marketer_client: Client,
    cart_template: tuple[MailTemplate, MailTemplateVersion],
    buyer: Contact,
) -> None:
    template = cart_template[0]
    response = marketer_client.post(
        f"/mail/{template.pk}/test-send/",
        {"emails": "staff@tokui.example.jp, boss@tokui.example.jp", "contact": buyer.pk},
    )
    assert response.status_code == 302
    assert sorted(r.recipients[0] for r in smtp_server.received) == ["boss@tokui.example.jp", "staff@tokui.example.jp"]
    assert smtp_server.received[0].message["Subject"] == "山田 花子様、カートに商品が残っています"
    outbox = marketer_client.get("/mail/outbox/").content.decode()
    assert ("staff@tokui.example.jp" in outbox and "テスト送信" in outbox) or "Test send" in outbox
    message = OutboxMessage.objects.first()
    assert message is not None
    detail = marketer_client.get(f"/mail/outbox/{message.pk}/").content.decode()
    assert message.message_id.replace("<", "&lt;").replace(">", "&gt;") in detail


def test_sending_to_contacts_queues_one_mail_each_and_shows_progress(
    smtp_server: SmtpServer,
    marketer_client: Client,
    cart_template: tuple[MailTemplate, MailTemplateVersion],
    buyer: Contact,
) -> None:
    response = marketer_client.post(
        f"/mail/{cart_template[0].pk}/send/",
        {"contact_ids": f"{buyer.pk}", "campaign_id": "spring-sale", "confirm": "on"},
    )
    assert response.status_code == 302 and "campaign=spring-sale" in response["Location"]
    assert OutboxMessage.objects.get().campaign_id == "spring-sale" and len(smtp_server.received) == 1
    progress = marketer_client.get(response["Location"]).content.decode()
    assert "1 / 1" in progress or "1 of 1" in progress or "1件中1件" in progress or 'value="100"' in progress


def test_image_upload_accepts_images_and_refuses_anything_else(
    marketer_client: Client, settings: SettingsWrapper, tmp_path: object
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(buffer, "PNG")
    ok = marketer_client.post("/mail/images/", {"files": SimpleUploadedFile("a.png", buffer.getvalue(), "image/png")})
    assert ok.status_code == 200
    [asset] = ok.json()["data"]
    assert asset["src"].startswith(settings.SITE_URL.rstrip("/") + "/media/mail/") and asset["src"].endswith(".png")
    bad = marketer_client.post(
        "/mail/images/", {"files": SimpleUploadedFile("x.png", b"<script>alert(1)</script>", "image/png")}
    )
    assert bad.status_code == 400 and "error" in bad.json()


def test_a_viewer_may_look_but_not_send(
    client: Client, cart_template: tuple[MailTemplate, MailTemplateVersion]
) -> None:
    client.force_login(UserFactory(username="viewer", role=Role.VIEWER))
    assert client.get("/mail/").status_code == 200
    assert client.post(f"/mail/{cart_template[0].pk}/send/", {"contact_ids": "1", "confirm": "on"}).status_code == 403


def test_the_menu_opens_the_mail_templates(marketer_client: Client) -> None:
    page = marketer_client.get("/").content.decode()
    assert 'href="/mail/"' in page
