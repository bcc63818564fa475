"""Preview of a template version as one contact, and the checklist shown before sending."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser

from django.utils.translation import gettext as _

from tokui.messaging.enums import MailKind
from tokui.messaging.hand_over import sender_data
from tokui.messaging.links import preferences_url, site_url, unsubscribe_url
from tokui.messaging.models import MailTemplateVersion
from tokui.messaging.rendering.compiled import RenderedMail, compiled_version, render_parts
from tokui.messaging.selectors import contacts_for_mail
from tokui.messaging.templating.check import template_check
from tokui.messaging.templating.context import SharedParts, mail_context
from tokui.messaging.templating.variables import sample_context

GMAIL_CLIP_BYTES = 102 * 1024  # Gmail cuts messages whose HTML is larger than about 102 KB
SIZE_LIMIT_BYTES = 100 * 1024


def template_preview(*, version: MailTemplateVersion, contact_id: int | None) -> RenderedMail:
    """The mail as ``contact_id`` would get it (sample data without a contact), without tracking."""
    sender = sender_data(version.template.sender)
    compiled = compiled_version(version=version, sender=sender)
    contact = contacts_for_mail(contact_ids=[contact_id]).get(contact_id) if contact_id else None
    if contact is None:
        context = sample_context(site_url=site_url())
        context["sender"] = sender.as_context()
    else:
        context = mail_context(
            contact=contact,
            needed=compiled.needed,
            shared=SharedParts(sender=sender),
            unsubscribe_url=unsubscribe_url(message_id=0, contact_id=0),
            preferences_url=preferences_url(message_id=0, contact_id=0),
        )
    return render_parts(compiled, context=context)


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.without_alt: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            values = dict(attrs)
            if not (values.get("alt") or "").strip() and values.get("width") != "1":
                self.without_alt.append(values.get("src") or "")


@dataclass(frozen=True, slots=True)
class CheckItem:
    label: str
    ok: bool
    detail: str = ""


def send_checklist(*, version: MailTemplateVersion, rendered: RenderedMail) -> list[CheckItem]:
    """What to check before sending: subject, sender (特定電子メール法), opt-out, image alt texts, size, Liquid."""
    template = version.template
    sender = template.sender
    images = _Images()
    images.feed(rendered.html)
    size = len(rendered.html.encode("utf-8"))
    problems = template_check(
        subject=version.subject, preheader=version.preheader, html=version.html, text=version.text
    )
    items = [
        CheckItem(_("Subject"), bool(rendered.subject.strip()), rendered.subject),
        CheckItem(
            _("Sender name, address and postal address"),
            sender is not None and bool(sender.postal_address and sender.company_name),
            str(sender) if sender else _("Choose a sender in the template settings."),
        ),
    ]
    if template.kind == MailKind.MARKETING:
        own = "unsubscribe_url" in version.html
        items.append(
            CheckItem(
                _("Unsubscribe link"),
                True,
                _("In the mail") if own else _("Not in the mail: Tokui adds a footer with it when sending"),
            )
        )
    items += [
        CheckItem(
            _("Images have alt text"),
            not images.without_alt,
            ", ".join(images.without_alt[:5]) if images.without_alt else _("All images"),
        ),
        CheckItem(
            _("HTML size under 100 KB (Gmail clips larger mail)"),
            size < SIZE_LIMIT_BYTES,
            f"{size / 1024:.1f} KB",
        ),
        CheckItem(_("Text part"), bool(rendered.text.strip()), ""),
        CheckItem(_("Liquid variables and syntax"), not problems, " / ".join(str(problem) for problem in problems[:3])),
    ]
    return items
