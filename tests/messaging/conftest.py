"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, and mail templates ready to send."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session, syntax
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.factories import ContactFactory
from tokui.customers.enums import Channel, ConsentStatus
from tokui.customers.models import Contact
from tokui.customers.services import consent_record
from tokui.messaging.enums import MailKind
from tokui.messaging.models import MailTemplate, MailTemplateVersion, SenderIdentity
from tokui.messaging.services import mail_template_create, mail_template_save, sender_identity_save


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    recipients: list[str]
    raw: bytes
    mail_options: list[str] = field(default_factory=list)

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class RecordingHandler:
    received: list[Received] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str = ""
    drop_after_data: bool = False
    drop_at_message: int = 0  # the Nth message (1-based) loses the connection after its content arrived
    pipelining: bool = True
    eight_bit_mime: bool = True
    chunking: bool = False
    messages_seen: int = 0

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        # aiosmtpd reads pipelined commands correctly but does not say so; real MTAs (Postfix, Exim) do.
        session.host_name = hostname
        if not self.eight_bit_mime:  # aiosmtpd offers 8BITMIME; older or stricter servers do not
            responses = [response for response in responses if response[4:].upper() != "8BITMIME"]
        offered = ["250-PIPELINING"] if self.pipelining else []
        offered += ["250-CHUNKING"] if self.chunking else []
        return [*responses[:-1], *offered, responses[-1]]

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.messages_seen += 1
        if self.drop_after_data or self.messages_seen == self.drop_at_message:
            # The message reached the server, then the connection dies before the reply: outcome unknown.
            assert server.transport is not None
            server.transport.close()
            return "250 OK"
        if self.data_reply:
            return self.data_reply
        self.received.append(
            Received(
                str(envelope.mail_from),
                [str(r) for r in envelope.rcpt_tos],
                envelope.original_content or b"",
                list(envelope.mail_options),
            )
        )
        return "250 Message accepted for delivery"


class ChunkingSMTP(SMTP):
    """aiosmtpd with BDAT (RFC 3030), which it does not have: the chunks of a message are gathered and, at the last,
    handed to the handler's DATA hook as a DATA message would be. Offered when the handler says ``chunking``."""

    chunks: bytearray | None = None

    @syntax("BDAT <size> [LAST]")
    async def smtp_BDAT(self, arg: str) -> None:  # noqa: N802 - aiosmtpd's command method name
        words = arg.split()
        if not 1 <= len(words) <= 2 or not words[0].isdigit() or (len(words) == 2 and words[1].upper() != "LAST"):
            await self.push("501 Syntax: BDAT <size> [LAST]")
            return
        try:
            chunk = await self._reader.readexactly(int(words[0]))  # read whole whatever the reply: it is sized
        except asyncio.IncompleteReadError:
            return  # the connection closed in the middle of the chunk: nothing was delivered
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            self.chunks = None
            await self.push("503 5.5.1 Error: need RCPT command")
            return
        self.chunks = (self.chunks or bytearray()) + chunk
        if len(words) == 1:
            await self.push(f"250 2.0.0 {len(chunk)} octets received")
            return
        content = bytes(self.chunks)
        self.chunks = None
        self.envelope.content = self.envelope.original_content = content
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    def _set_rset_state(self) -> None:
        self.chunks = None
        super()._set_rset_state()


class RecordingController(Controller):
    def factory(self) -> SMTP:
        return ChunkingSMTP(self.handler, **self.SMTP_kwargs)


@dataclass
class SmtpServer:
    handler: RecordingHandler
    port: int

    @property
    def received(self) -> list[Received]:
        return self.handler.received


@contextmanager
def running_smtp_server(
    settings: SettingsWrapper, *, pipelining: bool, eight_bit_mime: bool, chunking: bool = False
) -> Iterator[SmtpServer]:
    port = free_port()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    settings.MAIL_CHANNEL = "smtp"
    settings.SITE_URL = "https://tokui.example.jp"
    handler = RecordingHandler(pipelining=pipelining, eight_bit_mime=eight_bit_mime, chunking=chunking)
    controller = RecordingController(handler, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    try:
        yield SmtpServer(handler=handler, port=port)
    finally:
        controller.stop()


@pytest.fixture(
    params=["chunking", "pipelining", "plain"],
    ids=["bdat-pipelining-8bitmime", "data-pipelining-8bitmime", "one-command-at-a-time-7bit"],
)
def smtp_server(settings: SettingsWrapper, request: pytest.FixtureRequest) -> Iterator[SmtpServer]:
    """The same tests against three servers: one that offers CHUNKING, PIPELINING and 8BITMIME (as Postfix does:
    BDAT, a slice of mails in one go), one with PIPELINING and 8BITMIME but no CHUNKING (pipelined DATA, one round
    trip a mail), and one with none of them (base64 parts, one command at a time). ``test_8bitmime`` covers the
    other combinations of PIPELINING and 8BITMIME."""
    plain = request.param == "plain"
    with running_smtp_server(
        settings, pipelining=not plain, eight_bit_mime=not plain, chunking=request.param == "chunking"
    ) as server:
        yield server


def opted_in(contact: Contact) -> Contact:
    consent_record(contact=contact, channel=Channel.EMAIL, status=ConsentStatus.GRANTED, source="sign-up form")
    return contact


@pytest.fixture
def sender(db: None) -> SenderIdentity:
    return sender_identity_save(
        name="得意商事",
        email="shop@tokui.example.jp",
        company_name="得意商事株式会社",
        postal_address="東京都千代田区丸の内1-1-1",
        is_default=True,
    )


CART_HTML = """
<h1>{{ contact.name | default: "ご担当者" }}様</h1>
<p>{{ company.name }}の皆様、カートに商品が残っています。</p>
<table>{% for item in cart.items %}<tr><td><img src="{{ item.image_url }}" alt="{{ item.name }}"></td>
<td><a href="{{ item.url }}">{{ item.name }}</a></td>
<td>{{ item.price | yen }} × {{ item.quantity }}</td></tr>{% endfor %}</table>
<p><a href="https://shop.example.jp/cart?from=mail&amp;x=1">カートを見る</a></p>
"""


def make_template(
    *,
    sender: SenderIdentity,
    html: str = CART_HTML,
    kind: str = MailKind.MARKETING,
    subject: str = "{{ contact.name }}様、カートに商品が残っています",
    **kwargs: Any,
) -> tuple[MailTemplate, MailTemplateVersion]:
    template = mail_template_create(name="カート落ち", subject=subject, kind=kind, sender=sender, **kwargs)
    version = mail_template_save(template=template, html=html, css="h1 { color: #c00; }")
    return template, version


@pytest.fixture
def cart_template(sender: SenderIdentity) -> tuple[MailTemplate, MailTemplateVersion]:
    return make_template(sender=sender)


@pytest.fixture
def buyer(db: None) -> Contact:
    return opted_in(ContactFactory(name="山田 花子", email="hanako@shop.example.jp"))


@pytest.fixture(autouse=True)
def _after_commit_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run inside one transaction that never commits: run what waits for the commit at once instead."""
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit", lambda callback, using=None, robust=False: callback())
