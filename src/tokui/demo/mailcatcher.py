"""The built-in mail catcher: a real SMTP server (aiosmtpd) on 127.0.0.1 that stores every message it receives.

Embedded mode points Tokui's mail at it, so a user trying Tokui sees every mail on the 送信メール page and nothing
leaves the machine. Tests use it as the real SMTP peer.
"""

from __future__ import annotations

import logging
from email import policy
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async

from tokui.demo.models import CaughtMail

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 25 * 1024 * 1024


def caught_mail_store(*, mail_from: str, recipients: list[str], raw: bytes) -> CaughtMail:
    headers = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    return CaughtMail.objects.create(
        mail_from=mail_from[:320],
        recipients=recipients,
        subject=str(headers.get("Subject", ""))[:500],
        message_id=str(headers.get("Message-ID", ""))[:500],
        raw=raw,
        size=len(raw),
    )


class CatchingHandler:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        raw = envelope.original_content or b""
        try:
            await sync_to_async(caught_mail_store, thread_sensitive=False)(
                mail_from=str(envelope.mail_from or ""), recipients=[str(r) for r in envelope.rcpt_tos], raw=raw
            )
        except Exception:
            logger.exception("mail catcher could not store a message")
            return "451 Requested action aborted: local error in processing"
        return "250 Message accepted for delivery"


class MailCatcher:
    """Start and stop the catcher around a block: ``with MailCatcher(port=1025): ...``."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 1025) -> None:
        self.controller = Controller(
            CatchingHandler(), hostname=host, port=port, data_size_limit=MAX_MESSAGE_BYTES, decode_data=False
        )

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> MailCatcher:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
