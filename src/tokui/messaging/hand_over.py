"""From claimed outbox rows to mails handed to a channel: each mail's context, rendering, and the hand-over.

``delivery.outbox_deliver`` claims and checks a batch, then gives the mails to send to ``render_and_hand_over``,
which renders them and hands them to the channel a slice at a time (ADR 25), and answers one result per mail
handed over and the render error of each mail that could not be rendered.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from email.utils import parseaddr
from functools import partial
from typing import Any

from django.conf import settings
from liquid.exceptions import LiquidError

from tokui.core.errors import DomainError
from tokui.messaging.channels.base import Envelope, MailChannel, SendResult, mail_channels
from tokui.messaging.enums import AttemptOutcome, MailCharset, MailKind, OutboxOrigin
from tokui.messaging.links import opt_out_urls, preferences_url, site_url, unsubscribe_url
from tokui.messaging.models import SenderIdentity
from tokui.messaging.outbox_rows import ClaimedMail
from tokui.messaging.rendering.compiled import (
    CompiledVersion,
    assemble_mail,
    compiled_version,
    render_tracked,
    render_tracked_utf8,
)
from tokui.messaging.rendering.merge import merge_mail
from tokui.messaging.selectors import contacts_for_mail, sender_default
from tokui.messaging.templating.context import SharedParts, contexts_prefetch, mail_context
from tokui.messaging.templating.fast import FastRenderError
from tokui.messaging.templating.variables import sample_context
from tokui.messaging.types import SenderData

logger = logging.getLogger(__name__)


def sender_data(identity: SenderIdentity | None) -> SenderData:
    identity = identity or sender_default()
    if identity is None:
        name, email = parseaddr(settings.DEFAULT_FROM_EMAIL)
        return SenderData(name=name, email=email, company=name, address="")
    return SenderData(
        name=identity.name,
        email=identity.email,
        company=identity.company_name,
        address=identity.postal_address,
        reply_to=identity.reply_to,
    )


def _context_for(
    message: ClaimedMail, compiled: CompiledVersion, shared: SharedParts
) -> tuple[dict[str, Any], int, str]:
    """The Liquid context, the contact id the links carry, and the recipient's display name."""
    contact = message.recipient
    if contact is None and message.origin == OutboxOrigin.TEST and message.data.get("preview_contact_id"):
        contact = contacts_for_mail(contact_ids=[int(message.data["preview_contact_id"])]).get(
            int(message.data["preview_contact_id"])
        )
    if contact is None:
        context = sample_context(site_url=site_url())
        context["sender"] = shared.sender.as_context()
        context["unsubscribe_url"] = unsubscribe_url(message_id=message.pk, contact_id=0)
        context["preferences_url"] = preferences_url(message_id=message.pk, contact_id=0)
        return context, 0, ""
    link_contact = contact.id if message.origin != OutboxOrigin.TEST else 0
    unsubscribe, preferences = opt_out_urls(message_id=message.pk, contact_id=link_contact)
    context = mail_context(
        contact=contact,
        needed=compiled.needed,
        shared=shared,
        unsubscribe_url=unsubscribe,
        preferences_url=preferences,
        data=message.data,
    )
    return context, link_contact, contact.name if message.origin != OutboxOrigin.TEST else ""


def envelope_for(
    message: ClaimedMail,
    compiled: CompiledVersion,
    *,
    context: dict[str, Any],
    contact_id: int,
    to_name: str,
    merge: bool = False,
) -> Envelope:
    """Render one mail into what a channel needs (raw MIME for SMTP, parts and headers for an ESP; with ``merge``,
    for an ESP that merges, only the mail's fields where the version has a merge form)."""
    unsubscribe = str(context.get("unsubscribe_url", ""))
    if settings.MAIL_CHANNEL == "smtp":
        # SMTP carries the parts as bytes: a UTF-8 version renders them so directly (its literal text encoded once).
        render = render_tracked_utf8 if compiled.charset == MailCharset.UTF8 else render_tracked
        assemble = partial(
            assemble_mail,
            compiled,
            parts=render(compiled, context=context, message_pk=message.pk, contact_id=contact_id),
            rfc_message_id=message.message_id,
            to_email=message.to_email,
            to_name=to_name,
            unsubscribe_url=unsubscribe,
        )
        # 8bit where the parts allow it; the channel asks for the base64 form only from a server without 8BITMIME.
        mail = assemble(eight_bit=True)
        envelope = Envelope(
            outbox_id=message.pk,
            mail_from=compiled.sender.email,
            to=message.to_email,
            raw=mail.raw,
            crlf_only=True,
            eight_bit=mail.eight_bit,
            dot_free=mail.dot_free,
            seven_bit=(lambda: assemble(eight_bit=False).raw) if mail.eight_bit else None,
        )
    else:  # an ESP takes the parts and builds the MIME itself: no message assembled here
        envelope = Envelope(outbox_id=message.pk, mail_from=compiled.sender.email, to=message.to_email, raw=b"")
        fields = None
        if merge:
            form = merge_mail(compiled)
            try:
                fields = form.fields(context=context, message_pk=message.pk, contact_id=contact_id)
                envelope.merge, envelope.merge_fields = form, fields
            except FastRenderError:
                fields = None  # rendered whole below, and sent alone
        if fields is None:
            parts = render_tracked(compiled, context=context, message_pk=message.pk, contact_id=contact_id)
            envelope.subject, envelope.html, envelope.text = parts.subject, parts.html, parts.text
        envelope.from_header = compiled.skeleton.from_header
        envelope.headers = {"Message-ID": message.message_id}
        if compiled.kind == MailKind.MARKETING and unsubscribe:
            envelope.headers["List-Unsubscribe"] = f"<{unsubscribe}>"
            envelope.headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return envelope


_Prepared = dict[tuple[int, int | None], tuple[CompiledVersion, SharedParts]]


def _prepared_for(message: ClaimedMail, prepared: _Prepared) -> tuple[CompiledVersion, SharedParts]:
    version = message.template_version
    key = (version.pk, version.template.sender_id)
    found = prepared.get(key)
    if found is None:
        sender = sender_data(version.template.sender)
        found = prepared[key] = (compiled_version(version=version, sender=sender), SharedParts(sender=sender))
    return found


def prepare_batch(messages: Sequence[ClaimedMail], prepared: _Prepared) -> None:
    """Prepare the versions of ``messages`` and read their recipients' own context parts (cart, last order, points,
    recommendations) for all of them at once. Anything that fails here is left to each mail's render, which reads alone
    and records its own error."""
    recipients: dict[tuple[int, int | None], list[int]] = {}
    for message in messages:
        if message.recipient is None:
            continue
        try:
            _prepared_for(message, prepared)
        except Exception:  # noqa: BLE001 (the render of this mail reports it)
            continue
        version = message.template_version
        recipients.setdefault((version.pk, version.template.sender_id), []).append(message.recipient.id)
    for key, contact_ids in recipients.items():
        compiled, shared = prepared[key]
        try:
            contexts_prefetch(contact_ids=contact_ids, needed=compiled.needed, shared=shared)
        except Exception:
            logger.exception("could not read the batch's context parts; each mail reads its own")


def render_envelopes(
    messages: Sequence[ClaimedMail], prepared: _Prepared | None = None, *, merge: bool = False
) -> tuple[list[Envelope], dict[int, str]]:
    """Envelopes of ``messages``, and the render error of each that could not be rendered. A batch shares a few
    versions: ``prepared`` keeps each one's sender, prepared version and shared parts (the recipients' context
    parts read at once included) for the whole batch."""
    envelopes: list[Envelope] = []
    errors: dict[int, str] = {}
    prepared = {} if prepared is None else prepared
    prepare_batch(messages, prepared)  # no reads for recipients a caller prepared already
    for message in messages:
        try:
            compiled, shared = _prepared_for(message, prepared)
            context, contact_id, to_name = _context_for(message, compiled, shared)
            envelopes.append(
                envelope_for(message, compiled, context=context, contact_id=contact_id, to_name=to_name, merge=merge)
            )
        except (LiquidError, DomainError) as error:
            errors[message.pk] = str(error)[:2000]
        except Exception as error:
            # One broken mail must not hold the batch in "sending": it fails, with the reason in the log.
            logger.exception("could not render outbox message %s", message.pk)
            errors[message.pk] = f"{type(error).__name__}: {error}"[:2000]
    return envelopes, errors


def _open_channel() -> MailChannel:
    return mail_channels.open(settings.MAIL_CHANNEL)


def render_and_hand_over(
    messages: list[ClaimedMail], channel: MailChannel | None
) -> tuple[list[SendResult], dict[int, str]]:
    """Render and send ``messages`` through ``channel`` (or the configured one, opened for the batch). A channel
    that cannot even open is a temporary failure for all; one that breaks in the middle leaves the outcome of the
    slice it was sending unknown (none is resent), and the mails not yet handed over are a temporary failure."""
    results: list[SendResult] = []
    errors: dict[int, str] = {}
    if not messages:
        return results, errors
    try:
        active = channel or _open_channel()
    except Exception as error:
        logger.exception("could not open the mail channel")
        reason = f"{type(error).__name__}: {error}"
        return [SendResult(m.pk, AttemptOutcome.TEMPORARY, None, reason) for m in messages], errors
    prepared: _Prepared = {}
    prepare_batch(messages, prepared)  # the whole batch's context parts at once, not a slice's
    # An ESP that merges takes a whole call's worth at once (ADR 32); SMTP a slice that stays in the caches.
    size, merge = active.hand_over_slice, active.merges
    try:
        for start in range(0, len(messages), size):
            envelopes, failed = render_envelopes(messages[start : start + size], prepared, merge=merge)
            errors.update(failed)
            if not envelopes:
                continue
            try:
                results += active.send_many(envelopes)
            except Exception as error:
                logger.exception("the mail channel failed in the middle of a batch")
                reason = f"{type(error).__name__}: {error}"
                results += [SendResult(e.outbox_id, AttemptOutcome.UNKNOWN, None, reason) for e in envelopes]
                rest = messages[start + size :]
                results += [SendResult(m.pk, AttemptOutcome.TEMPORARY, None, reason) for m in rest]
                break
    finally:
        if channel is None:
            try:
                active.close()
            except Exception:
                logger.exception("could not close the mail channel")
    return results, errors
