"""Writes of the messaging app: templates and versions, sender identities, opt-outs, suppression, mail hits.

Sending (the outbox and its delivery) is in ``messaging.delivery``; its entry points are re-exported here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from tokui.core.errors import DomainError
from tokui.customers.enums import Channel, ConsentStatus
from tokui.customers.models import Contact
from tokui.customers.selectors import companies_of_contacts
from tokui.customers.services import consent_record
from tokui.messaging.delivery import (  # re-exported: the public sending services
    message_send_transactional as message_send_transactional,
)
from tokui.messaging.delivery import (
    messages_send_test as messages_send_test,
)
from tokui.messaging.delivery import (
    messages_send_to_contacts as messages_send_to_contacts,
)
from tokui.messaging.delivery import (
    outbox_deliver as outbox_deliver,
)
from tokui.messaging.delivery import (
    outbox_requeue_stale as outbox_requeue_stale,
)
from tokui.messaging.enums import MailKind, MailLinkKind, MailTopic
from tokui.messaging.html_clean import mail_html_clean
from tokui.messaging.machine_hits import machine_reason
from tokui.messaging.models import (
    MailTemplate,
    MailTemplateVersion,
    OutboxMessage,
    SenderIdentity,
    TopicOptOut,
)
from tokui.messaging.rendering.text_part import html_to_text
from tokui.messaging.selectors import outbox_messages_facts_of
from tokui.messaging.suppression import (  # re-exported: the public services
    _message_properties as _message_properties,
)
from tokui.messaging.suppression import (
    mail_bounce_record as mail_bounce_record,
)
from tokui.messaging.suppression import (
    suppression_add as suppression_add,
)
from tokui.messaging.suppression import (
    suppression_remove as suppression_remove,
)
from tokui.messaging.templating.check import template_check
from tokui.messaging.types import MailHit
from tokui.tracking.enums import EventSource, EventType
from tokui.tracking.services import event_record, events_append_rows
from tokui.tracking.types import EventIn

_EVENT_TYPES = {MailLinkKind.CLICK: EventType.MAIL_CLICKED.value, MailLinkKind.OPEN: EventType.MAIL_OPENED.value}


# --- Templates ------------------------------------------------------------------------------------------------------


def _problems_error(problems: Sequence[Any]) -> DomainError:
    return DomainError(
        _("The template has errors; fix them and save again: %(problems)s")
        % {"problems": " / ".join(str(problem) for problem in problems)},
        field="html",
    )


def mail_template_create(
    *,
    name: str,
    subject: str,
    kind: str = MailKind.MARKETING,
    topic: str = MailTopic.NEWS,
    sender: SenderIdentity | None = None,
    charset: str = "utf-8",
    preheader: str = "",
) -> MailTemplate:
    """A new template without content yet; its first version comes with ``mail_template_save``."""
    if not name.strip() or not subject.strip():
        raise DomainError(_("Give the template a name and a subject."), field="name")
    return MailTemplate.objects.create(
        name=name.strip(), subject=subject, kind=kind, topic=topic, sender=sender, charset=charset, preheader=preheader
    )


@transaction.atomic
def mail_template_save(
    *,
    template: MailTemplate,
    html: str,
    css: str = "",
    text: str | None = None,
    project: dict[str, Any] | None = None,
    subject: str | None = None,
    preheader: str | None = None,
    author: Any = None,
    restored_from: MailTemplateVersion | None = None,
) -> MailTemplateVersion:
    """Save a new version: the HTML is cleaned (mail-safe tags only), the Liquid of every part is checked, and
    the text part is generated from the HTML unless ``text`` is given (edited by hand). Nothing is stored when the
    check fails, so a broken save never replaces the last good version."""
    subject = template.subject if subject is None else subject
    preheader = template.preheader if preheader is None else preheader
    clean_html = mail_html_clean(html)
    text_edited = text is not None and text.strip() != ""
    text_part = text if text_edited and text is not None else html_to_text(clean_html)
    problems = template_check(subject=subject, preheader=preheader, html=clean_html, text=text_part)
    if problems:
        raise _problems_error(problems)
    locked = MailTemplate.objects.select_for_update().get(pk=template.pk)
    number = (locked.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = MailTemplateVersion.objects.create(
        template=locked,
        number=number,
        subject=subject,
        preheader=preheader,
        html=clean_html,
        css=css,
        text=text_part,
        text_edited=text_edited,
        project=project or {},
        author=author,
        restored_from=restored_from,
    )
    locked.current_version = version
    locked.subject, locked.preheader = subject, preheader
    locked.save(update_fields=["current_version", "subject", "preheader", "updated_at"])
    template.current_version, template.subject, template.preheader = version, subject, preheader
    return version


def mail_template_update_settings(
    *, template: MailTemplate, name: str, kind: str, topic: str, sender: SenderIdentity | None, charset: str
) -> MailTemplate:
    if not name.strip():
        raise DomainError(_("Give the template a name."), field="name")
    template.name, template.kind, template.topic, template.sender, template.charset = (
        name.strip(),
        kind,
        topic,
        sender,
        charset,
    )
    template.save(update_fields=["name", "kind", "topic", "sender", "charset", "updated_at"])
    return template


def mail_template_restore(*, version: MailTemplateVersion, author: Any = None) -> MailTemplateVersion:
    """Bring an old version back as a new version (history is never rewritten)."""
    return mail_template_save(
        template=version.template,
        html=version.html,
        css=version.css,
        text=version.text if version.text_edited else None,
        project=version.project,
        subject=version.subject,
        preheader=version.preheader,
        author=author,
        restored_from=version,
    )


def sender_identity_save(
    *,
    identity: SenderIdentity | None = None,
    name: str,
    email: str,
    company_name: str,
    postal_address: str,
    reply_to: str = "",
    phone: str = "",
    is_default: bool = False,
) -> SenderIdentity:
    """Create or change a sender identity. 特定電子メール法: the company name and a postal address are required."""
    if not (name.strip() and email.strip() and company_name.strip() and postal_address.strip()):
        raise DomainError(
            _("A sender needs a name, an address, the company name and its postal address (特定電子メール法)."),
            field="postal_address",
        )
    with transaction.atomic():
        if is_default:
            others = SenderIdentity.objects.filter(is_default=True)
            if identity is not None:
                others = others.exclude(pk=identity.pk)
            others.update(is_default=False)
        identity = identity or SenderIdentity()
        identity.name, identity.email, identity.company_name = name.strip(), email.strip(), company_name.strip()
        identity.postal_address, identity.reply_to, identity.phone = postal_address.strip(), reply_to, phone
        identity.is_default = is_default or not SenderIdentity.objects.exclude(pk=identity.pk).exists()
        identity.save()
    return identity


# --- Suppression and opt-out -------------------------------------------------------------------------------------


@transaction.atomic
def contact_unsubscribe(
    *, contact: Contact, message: OutboxMessage | None, topic: str = "", source: str = "unsubscribe link"
) -> None:
    """Stop marketing mail to ``contact`` at once: all of it (consent withdrawn) or one ``topic``. A fact on the
    timeline either way; the send checks it again just before each mail leaves."""
    now = timezone.now()
    if topic:
        TopicOptOut.objects.get_or_create(contact=contact, topic=topic, defaults={"source": source[:100]})
    else:
        consent_record(
            contact=contact, channel=Channel.EMAIL, status=ConsentStatus.WITHDRAWN, source=source, recorded_at=now
        )
    event_record(
        type=EventType.UNSUBSCRIBED,
        occurred_at=now,
        contact_id=contact.pk,
        company_id=contact.company_id,
        properties={**_message_properties(message), "scope": topic or "all"},
        source=EventSource.MAIL,
    )


@transaction.atomic
def contact_mail_preferences_save(*, contact: Contact, all_mail: bool, topics: Sequence[str], source: str) -> None:
    """The preference page: ``all_mail`` False stops every marketing mail; otherwise only ``topics`` are received."""
    if not all_mail:
        contact_unsubscribe(contact=contact, message=None, source=source)
        return
    consent_record(contact=contact, channel=Channel.EMAIL, status=ConsentStatus.GRANTED, source=source)
    wanted = set(topics)
    for topic in MailTopic.values:
        if topic in wanted:
            TopicOptOut.objects.filter(contact=contact, topic=topic).delete()
            continue
        _opt_out, created = TopicOptOut.objects.get_or_create(
            contact=contact, topic=topic, defaults={"source": source[:100]}
        )
        if created:
            event_record(
                type=EventType.UNSUBSCRIBED,
                occurred_at=timezone.now(),
                contact_id=contact.pk,
                company_id=contact.company_id,
                properties={**_message_properties(None), "scope": topic},
                source=EventSource.MAIL,
            )


# --- Opens and clicks ---------------------------------------------------------------------------------------------


def mail_hits_record(*, hits: Sequence[MailHit]) -> int:
    """Append opens and clicks to the contacts' timelines, in one statement. Returns the facts written.

    Every hit is a fact (a mail opened twice is two facts); reports count unique opens per message and contact.
    Each carries the template and campaign of its mail (read in one query), and ``machine`` when it looks like
    Apple's privacy proxy, a link scanner or a prefetch rather than a person (see ``machine_hits``).
    """
    # Facts carry the contact's company of today; a contact deleted since the mail was sent is not counted.
    companies = companies_of_contacts(contact_ids=[hit.link.contact_id for hit in hits])
    messages = outbox_messages_facts_of(message_ids=sorted({hit.link.message_id for hit in hits}))
    events = []
    for hit in hits:
        if hit.link.contact_id not in companies:
            continue
        _contact_id, template_id, campaign_id, sent_at = messages.get(hit.link.message_id, (None, None, "", ""))
        since_send = hit.occurred_at - dt.datetime.fromisoformat(sent_at) if sent_at else None
        reason = machine_reason(
            user_agent=hit.user_agent,
            prefetch=hit.prefetch,
            since_send=since_send,
            is_click=hit.link.kind == MailLinkKind.CLICK,
        )
        properties: dict[str, Any] = {
            "message_id": hit.link.message_id,
            "template_id": template_id,
            "campaign_id": campaign_id,
            "machine": bool(reason),
        }
        if reason:
            properties["machine_reason"] = reason
        if hit.link.url:
            properties["url"] = hit.link.url
        events.append(
            EventIn(
                type=_EVENT_TYPES[hit.link.kind],
                occurred_at=hit.occurred_at,
                contact_id=hit.link.contact_id,
                company_id=companies[hit.link.contact_id],
                properties=properties,
                source=EventSource.MAIL.value,
            )
        )
    return events_append_rows(events=events)
