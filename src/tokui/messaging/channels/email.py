"""Mail over SMTP: one connection for a whole batch, DKIM signing when a key is configured.

The SMTP conversation is driven step by step (MAIL, RCPT, DATA) instead of ``sendmail`` so the outcome of each
mail is known precisely: a refusal before DATA is a clean failure (temporary on 4xx, permanent on 5xx), while a
connection that dies once the message is being handed over leaves the outcome **unknown** — the server may have
taken it — and such a mail is not sent again (it keeps its Message-ID; the delivery log says so).
"""

from __future__ import annotations

import contextlib
import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import dkim  # type: ignore[import-untyped]
from django.conf import settings

from tokui.messaging.channels.base import Envelope, SendResult, mail_channels, outcome_of_code
from tokui.messaging.channels.smtp_chunking import send_chunked
from tokui.messaging.channels.smtp_pipeline import crlf_content, send_pipelined, wire_content
from tokui.messaging.enums import AttemptOutcome

logger = logging.getLogger(__name__)

DKIM_HEADERS = [
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"mime-version",
    b"content-type",
    b"reply-to",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
]


class DkimSigner:
    def __init__(self, *, private_key: bytes, selector: str, domain: str) -> None:
        self.private_key = private_key
        self.selector = selector.encode()
        self.domain = domain.encode()

    def sign(self, raw: bytes) -> bytes:
        signature = dkim.sign(
            raw, self.selector, self.domain, self.private_key, include_headers=DKIM_HEADERS, linesep=b"\r\n"
        )
        return bytes(signature) + raw


@cache
def configured_dkim() -> DkimSigner | None:
    """The signer of ``TOKUI_MAIL_DKIM_*``, read once; ``None`` when no key is configured."""
    if not settings.MAIL_DKIM_KEY_FILE:
        return None
    return DkimSigner(
        private_key=Path(settings.MAIL_DKIM_KEY_FILE).read_bytes(),
        selector=settings.MAIL_DKIM_SELECTOR,
        domain=settings.MAIL_DKIM_DOMAIN,
    )


def _reply_text(reply: Any) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _data(connection: smtplib.SMTP, content: bytes) -> tuple[int, bytes]:
    """DATA, then the message in its wire form (``smtp_pipeline.wire_content``: line ends and leading dots fixed
    only when needed) in one write: the terminating dot sent on its own waits for the peer's delayed ACK (Nagle),
    ~40 ms a mail."""
    code, reply = connection.docmd("data")
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    connection.send(content)
    return connection.getreply()


# A plain address (dot-atom local part and domain): ``smtplib.quoteaddr`` gives it back in angle brackets.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


@lru_cache(maxsize=1024)
def _parsed_quote(address: str) -> str:
    return str(smtplib.quoteaddr(address))


def _quoted(address: str) -> str:
    """``smtplib.quoteaddr(address)``: it parses the address (≈ 25 µs), which a plain one (nearly every recipient,
    each different) does not need; others are parsed, cached (the sender is the same for a whole batch)."""
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else _parsed_quote(address)


def _mail_from(connection: smtplib.SMTP, address: str, options: str = "") -> tuple[int, bytes]:
    """``connection.mail(address)`` (``options`` such as " BODY=8BITMIME"), with the sender's quoting cached."""
    connection.putcmd("mail", f"from:{_quoted(address)}{options}")
    return connection.getreply()


class SmtpChannel:
    name = "smtp"
    merges = False
    # Mails are rendered and handed over a slice at a time, not a whole batch and then its sending: a finished mail
    # and its parts take ~130 KB, and a thousand of them (130 MB) were written to memory the CPU caches had long
    # lost, then read back to send. Ten at a time stay in the caches: measured ~75 µs less CPU a mail. A slice costs
    # one more round trip to the SMTP server (the reply to its last message), a tenth of one a mail.
    hand_over_slice = 10

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        use_ssl: bool = False,
        timeout: float = 30,
        dkim_signer: DkimSigner | None = None,
        pipelining: bool = True,
        eight_bit_mime: bool = True,
        chunking: bool = True,
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.username, self.password = username, password
        self.use_tls, self.use_ssl = use_tls, use_ssl
        self.dkim = dkim_signer
        self.pipelining = pipelining
        self.eight_bit_mime = eight_bit_mime
        self.chunking = chunking
        self.connection: smtplib.SMTP | None = None
        # No mail went over the connection yet: a chunked batch needs no RSET before its first mail.
        self.fresh = False

    def _connect(self) -> smtplib.SMTP:
        if self.connection is None:
            if self.use_ssl:
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.use_tls:
                    connection.starttls(context=ssl.create_default_context())
            if connection.sock is not None:
                # Commands and replies are small and strictly alternate: do not let Nagle hold them back.
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.username:
                connection.login(self.username, self.password or "")
            connection.ehlo_or_helo_if_needed()
            self.connection, self.fresh = connection, True
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                self.connection.close()
            self.connection = None

    def _drop(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(OSError):
                self.connection.close()
            self.connection = None

    def _reset(self, connection: smtplib.SMTP) -> None:
        try:
            connection.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def _takes_8bit(self, connection: smtplib.SMTP) -> bool:
        return self.eight_bit_mime and connection.has_extn("8bitmime")

    @staticmethod
    def _body(envelope: Envelope, *, takes_8bit: bool) -> tuple[bytes, str, bool]:
        """The message to send, its MAIL FROM parameters and whether no line of it starts with a dot: an 8bit mail
        says BODY=8BITMIME, or goes all in base64 to a server that does not offer 8BITMIME (RFC 6152)."""
        if envelope.eight_bit:
            if takes_8bit:
                return envelope.raw, " BODY=8BITMIME", envelope.dot_free
            if envelope.seven_bit is not None:
                return envelope.seven_bit(), "", True
        return envelope.raw, "", envelope.dot_free

    def _prepare(self, envelope: Envelope, *, takes_8bit: bool) -> tuple[bytes, str]:
        """The content in its wire form for DATA (signed) and the MAIL FROM parameters."""
        raw, options, dot_free = self._body(envelope, takes_8bit=takes_8bit)
        return wire_content(self._sign(raw), crlf_only=envelope.crlf_only, dot_free=dot_free), options

    def _prepare_chunk(self, envelope: Envelope, *, takes_8bit: bool) -> tuple[bytes, str]:
        """``_prepare`` for BDAT: the content is sized, so it goes as it is (CRLF line ends), nothing stuffed."""
        raw, options, _dot_free = self._body(envelope, takes_8bit=takes_8bit)
        return crlf_content(self._sign(raw), crlf_only=envelope.crlf_only), options

    def send_one(self, envelope: Envelope) -> SendResult:
        handed_over = False
        try:
            connection = self._connect()
            self.fresh = False
            content, options = self._prepare(envelope, takes_8bit=self._takes_8bit(connection))
            code, reply = _mail_from(connection, envelope.mail_from, options)
            if code != 250:
                self._reset(connection)
                return SendResult(envelope.outbox_id, outcome_of_code(code), code, _reply_text(reply))
            code, reply = connection.rcpt(envelope.to)
            if code not in (250, 251):
                self._reset(connection)
                return SendResult(envelope.outbox_id, outcome_of_code(code), code, _reply_text(reply))
            handed_over = True
            code, reply = _data(connection, content)
            return SendResult(envelope.outbox_id, outcome_of_code(code), code, _reply_text(reply))
        except smtplib.SMTPDataError as error:
            # DATA itself was refused (no 354): the message never left.
            self._reset(self.connection) if self.connection else None
            return SendResult(
                envelope.outbox_id, outcome_of_code(error.smtp_code), error.smtp_code, _reply_text(error.smtp_error)
            )
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            if handed_over:
                return SendResult(envelope.outbox_id, AttemptOutcome.UNKNOWN, None, f"{type(error).__name__}: {error}")
            found = getattr(error, "smtp_code", None)
            reply_code = found if isinstance(found, int) and found >= 400 else None
            outcome = outcome_of_code(reply_code) if reply_code is not None else AttemptOutcome.TEMPORARY
            return SendResult(envelope.outbox_id, outcome, reply_code, f"{type(error).__name__}: {error}")

    def _sign(self, raw: bytes) -> bytes:
        return self.dkim.sign(raw) if self.dkim is not None else raw

    def _one_at_a_time(self, envelopes: Sequence[Envelope]) -> list[SendResult]:
        self._drop()
        return [self.send_one(envelope) for envelope in envelopes]

    def send_many(self, envelopes: Sequence[Envelope]) -> list[SendResult]:
        """A batch over one connection: pipelined when the server offers it (one round trip a mail), else one
        command at a time."""
        if not envelopes:
            return []
        try:
            connection = self._connect()
        except (smtplib.SMTPException, OSError):
            connection = None  # each mail then records why (send_one tries to connect again)
        if connection is None or not self.pipelining or not connection.has_extn("pipelining"):
            return [self.send_one(envelope) for envelope in envelopes]
        takes_8bit = self._takes_8bit(connection)
        if self.chunking and connection.has_extn("chunking"):
            fresh, self.fresh = self.fresh, False
            # A failed connection is dropped by ``on_broken`` (called with what is left, maybe nothing).
            return send_chunked(
                connection,
                envelopes,
                fresh=fresh,
                prepare=lambda envelope: self._prepare_chunk(envelope, takes_8bit=takes_8bit),
                quote=_quoted,
                on_broken=self._one_at_a_time,
            )
        self.fresh = False
        return send_pipelined(
            connection,
            envelopes,
            prepare=lambda envelope: self._prepare(envelope, takes_8bit=takes_8bit),
            quote=_quoted,
            on_broken=self._one_at_a_time,
        )


@mail_channels.register("smtp")
def smtp_channel() -> SmtpChannel:
    """The channel of ``TOKUI_EMAIL_URL`` (``MAILERS["default"]``), signing with DKIM when a key is set."""
    options = settings.MAILERS["default"].get("OPTIONS", {})
    return SmtpChannel(
        host=options.get("host") or "127.0.0.1",
        port=int(options.get("port") or 25),
        username=options.get("username"),
        password=options.get("password"),
        use_tls=bool(options.get("use_tls")),
        use_ssl=bool(options.get("use_ssl")),
        timeout=float(options.get("timeout") or 30),
        dkim_signer=configured_dkim(),
    )
