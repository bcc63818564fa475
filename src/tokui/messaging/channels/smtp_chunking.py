"""SMTP with CHUNKING and PIPELINING (RFC 3030, RFC 2920): a slice of mails in one go, no round trip per mail.

With DATA every mail waits for the server's 354 before its content may go, so even pipelined each mail costs one
round trip, and the server has to search the content for the closing dot (and the client double the leading dots).
``BDAT <size> LAST`` carries the content sized instead: the commands and content of a whole slice are written
without waiting, and the replies read after. Postfix (since 3.0), Exim (4.88), Exchange and Gmail offer it.

Each mail is ``RSET`` (but the first on a fresh connection), ``MAIL``, ``RCPT`` and ``BDAT <size> LAST`` with its
content. The ``RSET`` makes every mail start clean whatever became of the one before (RFC 3030 leaves the state after
a refused last chunk to the server), so one refusal cannot spoil the next mail. Outcomes are as exact as one mail at
a time:

- a refusal of MAIL or RCPT is that mail's clean failure (4xx temporary, 5xx permanent): the server reads the sized
  content and throws it away;
- the reply to ``BDAT ... LAST`` is the mail's outcome;
- when the connection fails, a mail whose content was written whole but whose outcome was not read is **unknown**
  (the server may have it); one whose content was not written whole cannot have been taken (a chunk is only
  delivered whole), so it is a temporary failure, and the mails not yet written go one at a time on a new connection.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Sequence
from typing import BinaryIO

from tokui.messaging.channels.base import Envelope, SendResult, outcome_of_code
from tokui.messaging.channels.smtp_pipeline import in_envelope_order
from tokui.messaging.enums import AttemptOutcome

_MAX_LINE = 8192  # smtplib's own limit on a reply line


def read_reply(reply_file: BinaryIO) -> tuple[int, str]:
    """One (possibly multi-line) reply: what ``smtplib.SMTP.getreply`` answers, without its per-call overhead
    (four replies a mail). A reply that is not one is a protocol error, as smtplib treats it."""
    texts: list[bytes] = []
    while True:
        line = reply_file.readline(_MAX_LINE + 1)
        if not line:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        if len(line) > _MAX_LINE:
            raise smtplib.SMTPResponseException(500, "Line too long.")
        texts.append(line[4:].strip(b" \t\r\n"))
        if line[3:4] != b"-":
            break
    try:
        code = int(line[:3])
    except ValueError:
        code = -1
    return code, b"\n".join(texts).decode("utf-8", "replace")


def _reply_file(connection: smtplib.SMTP) -> BinaryIO:
    if connection.file is None:  # smtplib opens it on the first reply, which EHLO has read already
        if connection.sock is None:  # smtplib closes the connection when a write to it fails
            raise smtplib.SMTPServerDisconnected("Server not connected")
        connection.file = connection.sock.makefile("rb")
    return connection.file


# Mails written before their replies are read. The replies must be read before the server's side of the
# connection fills up with them (RFC 2920 section 3.1: a server may stop reading while its replies wait), and the
# mails of a window whose connection fails end unknown; ten mails' replies are well under any socket buffer.
WINDOW = 10


def send_chunked(
    connection: smtplib.SMTP,
    envelopes: Sequence[Envelope],
    *,
    fresh: bool,
    prepare: Callable[[Envelope], tuple[bytes, str]],
    quote: Callable[[str], str],
    on_broken: Callable[[Sequence[Envelope]], list[SendResult]],
) -> list[SendResult]:
    """Send ``envelopes`` over ``connection`` (which offered CHUNKING and PIPELINING), ``WINDOW`` mails written, then
    their replies read. ``fresh``: nothing was sent on the connection yet (the first mail needs no RSET).
    ``prepare`` gives a mail's content (CRLF line ends, signed; no dot stuffing, no closing dot) and its MAIL FROM
    parameters; ``on_broken`` sends what is left after the connection fails (one at a time, reconnecting)."""
    results: list[SendResult] = []
    position = 0
    while position < len(envelopes):
        window = envelopes[position : position + WINDOW]
        written: list[tuple[Envelope, bool]] = []  # each mail on the wire, and whether it starts with RSET
        try:
            for envelope in window:
                try:
                    content, options = prepare(envelope)
                    reset = not fresh
                    commands = (
                        ("RSET\r\n" if reset else "")
                        + f"MAIL FROM:{quote(envelope.mail_from)}{options}\r\n"
                        + f"RCPT TO:{quote(envelope.to)}\r\nBDAT {len(content)} LAST\r\n"
                    ).encode(connection.command_encoding)
                except (UnicodeError, ValueError) as error:
                    # An address SMTP cannot carry as it is: this mail fails, the others go on.
                    position += 1
                    reason = f"{type(error).__name__}: {error}"
                    results.append(SendResult(envelope.outbox_id, AttemptOutcome.PERMANENT, None, reason))
                    continue
                connection.send(commands + content)
                written.append((envelope, reset))
                fresh = False
                position += 1
        except (smtplib.SMTPException, OSError) as error:
            # The replies that arrived are still read (the rest of the mails written whole are unknown, never
            # resent); the mail being written was not handed over whole (it goes again later); the mails after it
            # go on a new connection.
            reason = f"{type(error).__name__}: {error}"
            results += _read_outcomes(connection, written)
            results.append(SendResult(envelopes[position].outbox_id, AttemptOutcome.TEMPORARY, None, reason))
            return in_envelope_order(results + on_broken(envelopes[position + 1 :]), envelopes)
        outcomes = _read_outcomes(connection, written)
        results += outcomes
        if outcomes and outcomes[-1].outcome == AttemptOutcome.UNKNOWN:  # the connection failed while reading
            return in_envelope_order(results + on_broken(envelopes[position:]), envelopes)
    return in_envelope_order(results, envelopes)


def _read_outcomes(connection: smtplib.SMTP, written: list[tuple[Envelope, bool]]) -> list[SendResult]:
    """The outcome of each written mail from its replies; if the connection fails first, a mail whose outcome was
    not read is unknown (its content went whole)."""
    results: list[SendResult] = []
    for index, (envelope, reset) in enumerate(written):
        try:
            reply_file = _reply_file(connection)
            if reset:
                read_reply(reply_file)  # a refused RSET shows again in MAIL's reply
            mail, rcpt, chunk = read_reply(reply_file), read_reply(reply_file), read_reply(reply_file)
        except (smtplib.SMTPException, OSError) as error:
            reason = f"{type(error).__name__}: {error}"
            return results + [SendResult(e.outbox_id, AttemptOutcome.UNKNOWN, None, reason) for e, _ in written[index:]]
        refused = mail if mail[0] != 250 else rcpt if rcpt[0] not in (250, 251) else chunk
        results.append(SendResult(envelope.outbox_id, outcome_of_code(refused[0]), refused[0], refused[1]))
    return results
