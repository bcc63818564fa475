"""The mail screens (メール): templates with the visual editor and code view, versions, preview as a contact, the
checklist, test sends, one-off sends to contacts, the Outbox with every delivery attempt, and sender identities."""

from __future__ import annotations

import json
import uuid
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.csp import CSP
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET, require_POST
from liquid.exceptions import LiquidError
from PIL import Image, UnidentifiedImageError

from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.core.errors import DomainError
from tokui.customers.selectors import contacts_visible_to
from tokui.messaging.enums import OutboxStatus
from tokui.messaging.forms import (
    SenderIdentityForm,
    SendToContactsForm,
    SendToSegmentForm,
    TemplateContentForm,
    TemplateSettingsForm,
    TestSendForm,
)
from tokui.messaging.links import site_url
from tokui.messaging.models import MailTemplate, MailTemplateVersion
from tokui.messaging.preview import send_checklist, template_preview
from tokui.messaging.segment_sends import mail_send_to_segment
from tokui.messaging.selectors import (
    delivery_attempts_of,
    mail_template_get,
    mail_templates,
    outbox_facts,
    outbox_message_get,
    outbox_messages,
    outbox_status_counts,
    sender_identities,
    template_version_get,
    template_versions,
)
from tokui.messaging.services import (
    mail_template_create,
    mail_template_restore,
    mail_template_save,
    mail_template_update_settings,
    messages_send_test,
    messages_send_to_contacts,
    sender_identity_save,
)

NAV_KEY = "mail"
UPLOAD_MAX_BYTES = 5 * 1024 * 1024
UPLOAD_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
# The editor page: GrapesJS styles elements with style attributes and shows product images from the shop.
EDITOR_CSP: dict[str, Any] = {
    **settings.SECURE_CSP,
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:", "https:", "http:"],
    "frame-src": [CSP.SELF],
}
# The preview frame: the mail's own inline styles and images, no script at all, only framed by Tokui itself.
PREVIEW_CSP: dict[str, Any] = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.UNSAFE_INLINE],
    "img-src": ["https:", "http:", "data:"],
    "font-src": ["https:", "data:"],
    "frame-ancestors": [CSP.SELF],
    "sandbox": True,
}


def _require_mail_staff(request: HttpRequest) -> None:
    """Administrators and marketers write and send mail; sales reps and viewers only look."""
    if request.method == "POST" and getattr(request.user, "role", "") not in (Role.ADMIN, Role.MARKETER):
        raise PermissionDenied


def _form_errors_text(form: forms.Form) -> str:
    """Every error of a form in one line, for the message shown after the redirect."""
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


def _template_or_404(template_id: int) -> MailTemplate:
    template = mail_template_get(template_id=template_id)
    if template is None:
        raise Http404
    return template


def _contact_id(request: HttpRequest) -> int | None:
    value = request.GET.get("contact") or request.POST.get("contact") or ""
    return int(value) if value.isdigit() else None


@login_required
def template_list(request: HttpRequest) -> HttpResponse:
    templates = list(mail_templates())
    return render(request, "messaging/ui/template_list.html", {"templates": templates, "nav_active": NAV_KEY})


@login_required
def template_create(request: HttpRequest) -> HttpResponse:
    _require_mail_staff(request)
    form = TemplateSettingsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            template = mail_template_create(
                name=data["name"],
                subject=data["subject"],
                kind=data["kind"],
                topic=data["topic"],
                sender=data["sender"],
                charset=data["charset"],
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return redirect("mail:template_edit", template_id=template.pk)
    return render(request, "messaging/ui/template_create.html", {"form": form, "nav_active": NAV_KEY})


@login_required
@csp_override(EDITOR_CSP)
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    """The editor page: the visual editor (GrapesJS bundle), the code view and the text part, saved as a version."""
    _require_mail_staff(request)
    template = _template_or_404(template_id)
    version = template.current_version
    initial = {
        "subject": template.subject,
        "preheader": template.preheader,
        "html": version.html if version else "",
        "css": version.css if version else "",
        "text": version.text if version and version.text_edited else "",
        "project": json.dumps(version.project, ensure_ascii=False) if version and version.project else "",
    }
    form = TemplateContentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            project = json.loads(data["project"]) if data["project"] else {}
        except json.JSONDecodeError:
            project = {}
        try:
            saved = mail_template_save(
                template=template,
                html=data["html"],
                css=data["css"],
                text=data["text"] or None,
                project=project if isinstance(project, dict) else {},
                subject=data["subject"],
                preheader=data["preheader"],
                author=request.user,
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Saved as version %(number)s.") % {"number": saved.number})
            return redirect("mail:template_edit", template_id=template.pk)
    context = {
        "template": template,
        "version": version,
        "form": form,
        "settings_form": TemplateSettingsForm.without_subject(
            initial={
                "name": template.name,
                "subject": template.subject,
                "kind": template.kind,
                "topic": template.topic,
                "sender": template.sender_id,
                "charset": template.charset,
            }
        ),
        "versions": template_versions(template_id=template.pk)[:20],
        "saved_text": version.text if version else "",
        "nav_active": NAV_KEY,
    }
    return render(request, "messaging/ui/template_edit.html", context)


@login_required
@require_POST
def template_settings(request: HttpRequest, template_id: int) -> HttpResponse:
    _require_mail_staff(request)
    template = _template_or_404(template_id)
    form = TemplateSettingsForm.without_subject(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        mail_template_update_settings(
            template=template,
            name=data["name"],
            kind=data["kind"],
            topic=data["topic"],
            sender=data["sender"],
            charset=data["charset"],
        )
        messages.success(request, _("Template settings saved."))
    else:
        messages.error(request, _("The settings were not saved: %(errors)s") % {"errors": form.errors.as_text()})
    return redirect("mail:template_edit", template_id=template.pk)


@login_required
@require_POST
def version_restore(request: HttpRequest, template_id: int, version_id: int) -> HttpResponse:
    _require_mail_staff(request)
    version = template_version_get(version_id=version_id)
    if version is None or version.template_id != template_id:
        raise Http404
    try:
        restored = mail_template_restore(version=version, author=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Version %(old)s restored as version %(new)s.") % {"old": version.number, "new": restored.number},
        )
    return redirect("mail:template_edit", template_id=template_id)


def _preview_contacts(request: HttpRequest) -> list[dict[str, Any]]:
    contacts = (
        contacts_visible_to(user=cast(User, request.user)).exclude(email="").select_related("company").order_by("id")
    )
    query = request.GET.get("q", "").strip()
    if query:
        contacts = contacts.filter(name__icontains=query) | contacts.filter(email__icontains=query)
    return [
        {"id": contact.pk, "name": contact.name, "company": contact.company.name if contact.company else ""}
        for contact in contacts[:50]
    ]


@login_required
@require_GET
def preview_contacts(request: HttpRequest) -> JsonResponse:
    """Contacts to preview as (for the editor and the preview page): ``?q=`` searches name and address."""
    return JsonResponse({"contacts": _preview_contacts(request)})


@login_required
def template_preview_page(request: HttpRequest, template_id: int) -> HttpResponse:
    """Preview as a chosen contact, desktop or mobile width, the checklist, the test send and the send forms."""
    template = _template_or_404(template_id)
    version = template.current_version
    if version is None:
        messages.info(request, _("Save the template once before previewing it."))
        return redirect("mail:template_edit", template_id=template.pk)
    contact_id = _contact_id(request)
    try:
        rendered = template_preview(version=version, contact_id=contact_id)
        checklist = send_checklist(version=version, rendered=rendered)
        error = ""
    except (LiquidError, DomainError) as failure:  # a template that cannot render says why
        rendered, checklist, error = None, [], str(failure).splitlines()[0]
    frame_url = reverse("mail:preview_frame", args=[template.pk])
    if contact_id:
        frame_url += f"?contact={contact_id}"
    context = {
        "template": template,
        "version": version,
        "rendered": rendered,
        "checklist": checklist,
        "all_ok": all(item.ok for item in checklist),
        "error": error,
        "contacts": _preview_contacts(request),
        "contact_id": contact_id,
        "frame_url": frame_url,
        "test_form": TestSendForm(initial={"emails": "\n".join(settings.MAIL_TEST_ADDRESSES), "contact": contact_id}),
        "send_form": SendToContactsForm(),
        "segment_form": SendToSegmentForm(prefix="segment"),
        "nav_active": NAV_KEY,
    }
    return render(request, "messaging/ui/template_preview.html", context)


@login_required
@xframe_options_sameorigin
@csp_override(PREVIEW_CSP)
def preview_frame(request: HttpRequest, template_id: int) -> HttpResponse:
    """The rendered mail alone, for the preview's frame: its own strict policy (no script, sandboxed)."""
    template = _template_or_404(template_id)
    if template.current_version is None:
        raise Http404
    try:
        html = template_preview(version=template.current_version, contact_id=_contact_id(request)).html
    except (LiquidError, DomainError) as error:
        html = f"<p>{escape(str(error).splitlines()[0])}</p>"
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def template_test_send(request: HttpRequest, template_id: int) -> HttpResponse:
    _require_mail_staff(request)
    template = _template_or_404(template_id)
    form = TestSendForm(request.POST)
    if template.current_version is None:
        raise Http404
    if form.is_valid():
        ids = messages_send_test(
            template_version=template.current_version,
            emails=form.cleaned_data["emails"],
            preview_contact_id=form.cleaned_data.get("contact"),
            created_by=request.user,
        )
        messages.success(request, _("%(count)s test mails queued. See them in the Outbox.") % {"count": len(ids)})
    else:
        messages.error(request, _form_errors_text(form))
    return redirect(
        reverse("mail:template_preview", args=[template.pk])
        + (f"?contact={_contact_id(request)}" if _contact_id(request) else "")
    )


@login_required
@require_POST
def template_send(request: HttpRequest, template_id: int) -> HttpResponse:
    """A one-off send to a list of contacts (the segment picker will hand its members here)."""
    _require_mail_staff(request)
    template = _template_or_404(template_id)
    if template.current_version is None:
        raise Http404
    form = SendToContactsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors_text(form))
        return redirect("mail:template_preview", template_id=template.pk)
    campaign = form.cleaned_data["campaign_id"] or f"send-{uuid.uuid4().hex[:12]}"
    batch = messages_send_to_contacts(
        template_version=template.current_version,
        contact_ids=form.cleaned_data["contact_ids"],
        campaign_id=campaign,
        created_by=request.user,
    )
    messages.success(request, _("%(count)s mails queued.") % {"count": len(batch.outbox_ids)})
    return redirect(reverse("mail:send_progress") + f"?campaign={campaign}")


@login_required
@require_POST
def template_send_segment(request: HttpRequest, template_id: int) -> HttpResponse:
    """「セグメントに今すぐ送信」: the template to every contact of a segment, then the progress page."""
    _require_mail_staff(request)
    template = _template_or_404(template_id)
    if template.current_version is None:
        raise Http404
    form = SendToSegmentForm(request.POST, prefix="segment")
    if not form.is_valid():
        messages.error(request, _form_errors_text(form))
        return redirect("mail:template_preview", template_id=template.pk)
    try:
        send, batch = mail_send_to_segment(
            template_version=template.current_version,
            segment=form.cleaned_data["segment"],
            campaign_id=form.cleaned_data["campaign_id"],
            created_by=request.user,
        )
    except DomainError as error:
        messages.error(request, str(error))
        return redirect("mail:template_preview", template_id=template.pk)
    messages.success(
        request,
        _("%(count)s mails queued for “%(segment)s”.") % {"count": len(batch.outbox_ids), "segment": send.segment_name},
    )
    return redirect(reverse("mail:send_progress") + f"?campaign={send.campaign_id}")


@login_required
def send_progress(request: HttpRequest) -> HttpResponse:
    """How far a send is: counts per status, refreshed while mails are still waiting."""
    campaign = request.GET.get("campaign", "")
    counts = outbox_status_counts(campaign_id=campaign) if campaign else {}
    total = sum(counts.values())
    done = total - counts.get(OutboxStatus.QUEUED, 0) - counts.get(OutboxStatus.SENDING, 0)
    rows = [(label, counts.get(value, 0)) for value, label in OutboxStatus.choices]
    context = {
        "campaign": campaign,
        "rows": rows,
        "total": total,
        "done": done,
        "percent": int(done * 100 / total) if total else 100,
        "nav_active": NAV_KEY,
    }
    template = "messaging/ui/_progress.html" if request.headers.get("HX-Request") else "messaging/ui/send_progress.html"
    return render(request, template, context)


@login_required
@require_POST
def image_upload(request: HttpRequest) -> JsonResponse:
    """The editor's asset upload: images only (checked by reading them), at most 5 MB, stored in the media store."""
    _require_mail_staff(request)
    stored = []
    for upload in request.FILES.getlist("files"):
        if upload.size is None or upload.size > UPLOAD_MAX_BYTES:
            return JsonResponse({"error": _("Images must be 5 MB or smaller.")}, status=400)
        try:
            with Image.open(upload) as image:
                image.verify()
                image_format = str(image.format or "")
        except (UnidentifiedImageError, OSError, SyntaxError):
            return JsonResponse({"error": _("Upload a JPEG, PNG, GIF or WebP image.")}, status=400)
        extension = UPLOAD_FORMATS.get(image_format)
        if extension is None:
            return JsonResponse({"error": _("Upload a JPEG, PNG, GIF or WebP image.")}, status=400)
        upload.seek(0)
        name = default_storage.save(f"mail/{uuid.uuid4().hex}.{extension}", upload)
        stored.append({"src": f"{site_url()}{default_storage.url(name)}"})
    if not stored:
        return JsonResponse({"error": _("Choose an image to upload.")}, status=400)
    return JsonResponse({"data": stored})


@login_required
def outbox(request: HttpRequest) -> HttpResponse:
    """Every queued and sent mail with its delivery attempts, opens (people / machines) and clicks."""
    status = request.GET.get("status", "")
    page = Paginator(outbox_messages(status=status if status in OutboxStatus.values else ""), 50).get_page(
        request.GET.get("page")
    )
    ids = [message.pk for message in page]
    attempts = delivery_attempts_of(message_ids=ids)
    facts = outbox_facts(message_ids=ids)
    rows = [(message, attempts[message.pk], facts[message.pk]) for message in page]
    context = {
        "page": page,
        "rows": rows,
        "status": status,
        "statuses": OutboxStatus.choices,
        "nav_active": NAV_KEY,
    }
    return render(request, "messaging/ui/outbox.html", context)


@login_required
def outbox_detail(request: HttpRequest, message_id: int) -> HttpResponse:
    message = outbox_message_get(message_id=message_id)
    if message is None:
        raise Http404
    context = {
        "message": message,
        "attempts": delivery_attempts_of(message_ids=[message.pk])[message.pk],
        "facts": outbox_facts(message_ids=[message.pk])[message.pk],
        "nav_active": NAV_KEY,
    }
    return render(request, "messaging/ui/outbox_detail.html", context)


@login_required
def senders(request: HttpRequest) -> HttpResponse:
    """Sender identities: the From name and address, and the company and postal address every mail must show."""
    _require_mail_staff(request)
    form = SenderIdentityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sender_identity_save(**form.values())
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Sender saved."))
            return redirect("mail:senders")
    return render(
        request, "messaging/ui/senders.html", {"form": form, "senders": sender_identities(), "nav_active": NAV_KEY}
    )


def version_label(version: MailTemplateVersion) -> str:
    return _("Version %(number)s") % {"number": version.number}
