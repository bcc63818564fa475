"""The transactional mail API: one contact, through the outbox, idempotent by the caller's key."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api.conftest import make_api
from tests.factories import UserFactory
from tests.messaging.conftest import SmtpServer, make_template
from tokui.accounts.enums import ApiScope, Role
from tokui.customers.models import Contact
from tokui.messaging.enums import MailKind
from tokui.messaging.models import OutboxMessage, SenderIdentity

pytestmark = pytest.mark.django_db


def test_a_transactional_mail_is_sent_once_per_idempotency_key(
    smtp_server: SmtpServer, sender: SenderIdentity, buyer: Contact, client: Client
) -> None:
    template, _version = make_template(
        sender=sender,
        kind=MailKind.TRANSACTIONAL,
        html="<p>{{ contact.name }}様、ご注文ありがとうございます。{{ coupon.code }}</p>",
    )
    api = make_api(client, UserFactory(username="admin", role=Role.ADMIN), ApiScope.WRITE)
    body = {
        "template_id": template.pk,
        "contact_id": buyer.pk,
        "idempotency_key": "order-1",
        "data": {"coupon_code": "THANKS5"},
    }

    first = api.post("/mail/transactional", body, source=None)
    again = api.post("/mail/transactional", body, source=None)

    assert first.status_code == 200, first.content
    assert first.json()["status"] == "sent" and first.json()["created"] is True
    assert again.json()["created"] is False and again.json()["outbox_id"] == first.json()["outbox_id"]
    assert OutboxMessage.objects.count() == 1 and len(smtp_server.received) == 1
    html = smtp_server.received[0].message.get_body(("html",))
    assert html is not None and "THANKS5" in html.get_content()
    assert smtp_server.received[0].message["Message-ID"] == first.json()["message_id"]


def test_the_api_needs_the_write_scope_and_a_real_template(buyer: Contact, client: Client) -> None:
    admin = UserFactory(username="admin", role=Role.ADMIN)
    reader = make_api(client, admin, ApiScope.READ)
    body = {"template_id": 999, "contact_id": buyer.pk, "idempotency_key": "k"}
    assert reader.post("/mail/transactional", body, source=None).status_code == 403
    writer = make_api(client, admin, ApiScope.WRITE)
    missing = writer.post("/mail/transactional", body, source=None)
    assert missing.status_code == 400 and missing.json()["field"] == "template_id"
