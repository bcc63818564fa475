"""SMTP with PIPELINING (RFC 2920): one round trip per mail instead of four.

Without it every mail waits for four replies in turn (MAIL, RCPT, DATA, the message). A server that advertises
PIPELINING takes them in groups, and a group may begin with the previous message's content, so each write here
is: the previous message and its closing dot, then MAIL, RCPT and DATA of the next; and each read is the four
replies to those. Outcomes stay as precise as one mail at a time:

- a refusal of MAIL, RCPT or DATA is that mail's clean failure (4xx temporary, 5xx permanent), and the next group
  starts with RSET so a half-open transaction cannot spoil the next mail;
- a message whose content was written but whose reply never came is **unknown** (the server may have it);
  a mail whose DATA was not yet answered with 354 was not handed over, so it is a temporary failure, retried;
- after a broken connection the rest of the batch goes one mail at a time on a new connection.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tokui.messaging.channels.base import Envelope, SendResult, outcome_of_code
from tokui.messaging.enums import AttemptOutcome

_BARE_LINE_END = re.compile(rb"(?:\r\n|\n|\r(?!\n))")
_LEADING_DOT = re.compile(rb"(?m)^\.")


def starts_a_line_with_dot(raw: bytes) -> bool:
    """Some line of ``raw`` starts with a dot. The line ends' positions as an array: ``b"\\n." in raw`` is slow with
    a line end every few dozen bytes (~50 µs for a 66 KB message), this a fraction of it."""
    if raw[:1] == b".":
        return True
    array = np.frombuffer(raw, dtype=np.uint8)
    return bool((array[np.flatnonzero(array[:-1] == 10) + 1] == 46).any())


def _bare_line_ends(raw: bytes) -> bool:
    crlf = raw.count(b"\r\n")
    return raw.count(b"\n") != crlf or raw.count(b"\r") != crlf


def crlf_content(raw: bytes, *, crlf_only: bool = False) -> bytes:
    """The message with CRLF line ends only, as BDAT carries it (sized: no dots to stuff, no closing dot)."""
    return raw if crlf_only or not _bare_line_ends(raw) else _BARE_LINE_END.sub(b"\r\n", raw)


def wire_content(raw: bytes, *, crlf_only: bool = False, dot_free: bool = False) -> bytes:
    """The message as DATA sends it: CRLF line ends, leading dots doubled, closed by a lone dot. Tokui's own
    messages need neither fix (``crlf_only``, ``dot_free``: their assembly knows), so no search of the whole
    message (a search for "\\n." in a 66 KB base64 message costs ~50 µs, with a line end every 78 bytes)."""
    if (not dot_free and starts_a_line_with_dot(raw)) or (not crlf_only and _bare_line_ends(raw)):
        raw = _LEADING_DOT.sub(b"..", _BARE_LINE_END.sub(b"\r\n", raw))
    return (raw if raw.endswith(b"\r\n") else raw + b"\r\n") + b".\r\n"


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


@dataclass(slots=True)
class _InFlight:
    envelope: Envelope
    content: bytes


def send_pipelined(
    connection: smtplib.SMTP,
    envelopes: Sequence[Envelope],
    *,
    prepare: Callable[[Envelope], tuple[bytes, str]],
    quote: Callable[[str], str],
    on_broken: Callable[[Sequence[Envelope]], list[SendResult]],
) -> list[SendResult]:
    """Send ``envelopes`` over ``connection`` (which advertised PIPELINING). ``prepare`` gives a mail's content in
    its wire form (signed) and the MAIL FROM parameters; ``on_broken`` sends what is left after the connection
    fails (one at a time, reconnecting)."""
    results: list[SendResult] = []
    sent_content: _InFlight | None = None  # written, reply not read: unknown if the connection dies now
    asked: Envelope | None = None  # MAIL/RCPT/DATA written, no 354 yet: not handed over
    needs_reset = False
    position = 0
    try:
        while position < len(envelopes) or sent_content is not None:
            envelope = envelopes[position] if position < len(envelopes) else None
            group = [sent_content.content] if sent_content is not None else []
            next_content = b""
            if envelope is not None:
                position += 1
                try:
                    next_content, options = prepare(envelope)
                    group.append(
                        (
                            ("RSET\r\n" if needs_reset else "")
                            + f"MAIL FROM:{quote(envelope.mail_from)}{options}\r\n"
                            + f"RCPT TO:{quote(envelope.to)}\r\nDATA\r\n"
                        ).encode(connection.command_encoding)
                    )
                    asked = envelope
                except (UnicodeError, ValueError) as error:
                    # An address SMTP cannot carry as it is: this mail fails, the others go on.
                    reason = f"{type(error).__name__}: {error}"
                    results.append(SendResult(envelope.outbox_id, AttemptOutcome.PERMANENT, None, reason))
                    envelope = None
            if not group:
                continue
            connection.send(b"".join(group))
            if sent_content is not None:
                code, reply = connection.getreply()
                results.append(SendResult(sent_content.envelope.outbox_id, outcome_of_code(code), code, _text(reply)))
                sent_content = None
            if envelope is None:
                continue
            if needs_reset:
                connection.getreply()
                needs_reset = False
            mail, rcpt, data = connection.getreply(), connection.getreply(), connection.getreply()
            if data[0] == 354 and mail[0] == 250 and rcpt[0] in (250, 251):
                sent_content, asked = _InFlight(envelope, next_content), None
                continue
            if data[0] == 354:  # DATA taken although MAIL or RCPT was refused: end it empty
                connection.send(b".\r\n")
                connection.getreply()
            asked = None
            refused = mail if mail[0] != 250 else rcpt if rcpt[0] not in (250, 251) else data
            results.append(SendResult(envelope.outbox_id, outcome_of_code(refused[0]), refused[0], _text(refused[1])))
            needs_reset = True
    except (smtplib.SMTPException, OSError) as error:
        reason = f"{type(error).__name__}: {error}"
        if sent_content is not None:
            results.append(SendResult(sent_content.envelope.outbox_id, AttemptOutcome.UNKNOWN, None, reason))
        if asked is not None:
            results.append(SendResult(asked.outbox_id, AttemptOutcome.TEMPORARY, None, reason))
        results += on_broken(envelopes[position:])
    return in_envelope_order(results, envelopes)


def in_envelope_order(results: list[SendResult], envelopes: Sequence[Envelope]) -> list[SendResult]:
    """``results`` in the order of their envelopes (failures are collected out of order)."""
    order = {envelope.outbox_id: index for index, envelope in enumerate(envelopes)}
    return sorted(results, key=lambda result: order.get(result.outbox_id, 0))
