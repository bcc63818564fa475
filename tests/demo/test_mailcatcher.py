import socket
from collections.abc import Iterator

import pytest
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper

from tokui.demo.mailcatcher import MailCatcher
from tokui.demo.models import CaughtMail


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def catcher(settings: SettingsWrapper) -> Iterator[MailCatcher]:
    port = _free_port()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 10},
        }
    }
    with MailCatcher(host="127.0.0.1", port=port) as running:
        yield running


@pytest.mark.django_db(transaction=True)
def test_mail_sent_over_smtp_is_caught_and_shown_on_the_outbox_page(
    catcher: MailCatcher, marketer_client: Client
) -> None:
    message = EmailMultiAlternatives(
        subject="【得意】カートに商品が残っています",
        body="山田様、カートに商品が残っています。",
        from_email="Tokui <shop@tokui.localhost>",
        to=["yamada@shop.example.jp"],
    )
    message.attach_alternative("<p>山田様、<strong>カート</strong>に商品が残っています。</p>", "text/html")
    message.send()

    caught = CaughtMail.objects.get()
    assert caught.subject == "【得意】カートに商品が残っています"
    assert caught.recipients == ["yamada@shop.example.jp"]

    listing = marketer_client.get(reverse("web:outbox")).content.decode()
    assert "【得意】カートに商品が残っています" in listing
    assert "<th>受信日時</th><th>差出人</th><th>宛先</th><th>件名</th>" in listing  # a mail's, not an order's 受付
    detail = marketer_client.get(reverse("web:outbox_detail", args=[caught.pk])).content.decode()
    assert "山田様、カートに商品が残っています。" in detail
    assert 'sandbox=""' in detail and "&lt;strong&gt;カート&lt;/strong&gt;" in detail
