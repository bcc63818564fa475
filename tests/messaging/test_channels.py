"""Channels: DKIM-signed SMTP mail that verifies, and the ESP channel through django-anymail."""

from __future__ import annotations

import base64
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.messaging.conftest import SmtpServer
from tokui.customers.models import Contact
from tokui.messaging.channels import email as email_channel
from tokui.messaging.enums import OutboxStatus
from tokui.messaging.models import MailTemplate, MailTemplateVersion, OutboxMessage
from tokui.messaging.services import messages_send_to_contacts

pytestmark = pytest.mark.django_db


def test_smtp_mail_is_dkim_signed_when_a_key_is_configured_and_the_signature_verifies(
    smtp_server: SmtpServer,
    cart_template: tuple[MailTemplate, MailTemplateVersion],
    buyer: Contact,
    settings: SettingsWrapper,
    tmp_path: Path,
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    settings.MAIL_DKIM_KEY_FILE, settings.MAIL_DKIM_SELECTOR, settings.MAIL_DKIM_DOMAIN = (
        str(key_file),
        "s1",
        "tokui.example.jp",
    )
    email_channel.configured_dkim.cache_clear()
    try:
        messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])
    finally:
        email_channel.configured_dkim.cache_clear()

    raw = smtp_server.received[0].raw
    assert raw.startswith(b"DKIM-Signature:") and b"d=tokui.example.jp" in raw and b"s=s1" in raw
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    assert dkim.verify(
        raw, dnsfunc=lambda name, timeout=5: record if name == b"s1._domainkey.tokui.example.jp." else None
    )


def test_the_esp_channel_hands_parts_and_headers_to_anymail(
    cart_template: tuple[MailTemplate, MailTemplateVersion], buyer: Contact, settings: SettingsWrapper
) -> None:
    from django.core import mail

    settings.MAIL_CHANNEL = "esp"
    settings.MAIL_ESP_BACKEND = "anymail.backends.test.EmailBackend"
    settings.SITE_URL = "https://tokui.example.jp"
    messages_send_to_contacts(template_version=cart_template[1], contact_ids=[buyer.pk])

    outbox = OutboxMessage.objects.get()
    assert outbox.status == OutboxStatus.SENT
    [sent] = mail.outbox
    assert sent.to == [buyer.email] and sent.subject == "山田 花子様、カートに商品が残っています"
    assert sent.extra_headers["Message-ID"] == outbox.message_id
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sent.metadata == {"tokui_outbox_id": str(outbox.pk)}
    assert "https://tokui.example.jp/m/c/" in sent.alternatives[0][0]
