"""Forms of the mail screens."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.validators import validate_email
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from tokui.messaging.enums import MailCharset, MailKind, MailTopic
from tokui.messaging.models import SenderIdentity
from tokui.segments.models import Segment
from tokui.segments.selectors import segments_list

MAX_TEST_ADDRESSES = 10
MAX_CONTACTS_PER_SEND = 100_000


class _Styled(forms.Form):
    """Bootstrap classes on every widget (the templates render fields one by one)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select form-select-sm"
            else:
                css = "form-control form-control-sm"
            widget.attrs.setdefault("class", css)


class TemplateSettingsForm(_Styled):
    name = forms.CharField(label=_("Template name"), max_length=200)
    subject = forms.CharField(label=_("Subject"), max_length=300, help_text=_("Liquid works here too"))
    kind = forms.ChoiceField(label=_("Kind"), choices=MailKind.choices, initial=MailKind.MARKETING)
    topic = forms.ChoiceField(label=_("Topic"), choices=MailTopic.choices, initial=MailTopic.NEWS)
    sender = forms.ModelChoiceField(label=_("Sender"), queryset=SenderIdentity.objects.all(), required=False)
    charset = forms.ChoiceField(label=_("Character set"), choices=MailCharset.choices, initial=MailCharset.UTF8)

    @classmethod
    def without_subject(cls, *args: Any, **kwargs: Any) -> TemplateSettingsForm:
        """The settings box of the editor page: the subject is edited above the editor there."""
        form = cls(*args, **kwargs)
        form.fields.pop("subject")
        return form


class TemplateContentForm(_Styled):
    """What the editor page posts: the visual editor fills html, css and project; the code view posts html and
    the text part directly."""

    subject = forms.CharField(label=_("Subject"), max_length=300)
    preheader = forms.CharField(label=_("Preheader"), max_length=300, required=False)
    html = forms.CharField(label=_("HTML"), required=False, widget=forms.Textarea)
    css = forms.CharField(label=_("CSS"), required=False, widget=forms.Textarea)
    text = forms.CharField(
        label=_("Text part"),
        required=False,
        widget=forms.Textarea,
        help_text=_("Leave empty to generate it from the HTML."),
    )
    project = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_html(self) -> str:
        html = str(self.cleaned_data.get("html") or "")
        if not html.strip():
            raise forms.ValidationError(
                _("The mail has no content. Add blocks in the editor or HTML in the code view.")
            )
        return html


def _addresses(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,;、]+", text) if part]


class TestSendForm(_Styled):
    emails = forms.CharField(
        label=_("Send a test to"),
        help_text=_("Staff addresses, separated by commas or new lines (at most 10)."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    contact = forms.IntegerField(label=_("Personalise as contact"), required=False, widget=forms.HiddenInput)

    def clean_emails(self) -> list[str]:
        emails = _addresses(str(self.cleaned_data.get("emails") or ""))
        if not emails:
            raise forms.ValidationError(_("Enter at least one address."))
        if len(emails) > MAX_TEST_ADDRESSES:
            raise forms.ValidationError(_("Send a test to at most 10 addresses at a time."))
        for email in emails:
            try:
                validate_email(email)
            except forms.ValidationError:
                raise forms.ValidationError(_("“%(email)s” is not an email address.") % {"email": email}) from None
        return emails


class _SendForm(_Styled):
    """What every send asks besides its recipients: a campaign label and the confirmation."""

    campaign_id = forms.SlugField(label=_("Campaign label"), required=False, max_length=64)
    confirm = forms.BooleanField(label=_("I checked the preview and the checklist"), required=True)


class SendToContactsForm(_SendForm):
    field_order = ["contact_ids", "campaign_id", "confirm"]
    contact_ids = forms.CharField(
        label=_("Contact ids"),
        help_text=_("Tokui ids of the contacts, separated by commas or new lines."),
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def clean_contact_ids(self) -> list[int]:
        ids: list[int] = []
        for part in _addresses(str(self.cleaned_data.get("contact_ids") or "")):
            if not part.isdigit():
                raise forms.ValidationError(_("“%(value)s” is not a contact id.") % {"value": part})
            ids.append(int(part))
        if not ids:
            raise forms.ValidationError(_("Enter at least one contact id."))
        if len(ids) > MAX_CONTACTS_PER_SEND:
            raise forms.ValidationError(_("Send to at most 100,000 contacts at a time."))
        return ids


class SegmentChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return _("%(name)s (%(count)s, %(subject)s)") % {
            "name": obj.name,
            "count": formats.number_format(obj.member_count, force_grouping=True),
            "subject": obj.get_subject_display(),
        }


class SendToSegmentForm(_SendForm):
    field_order = ["segment", "campaign_id", "confirm"]
    segment = SegmentChoiceField(
        label=_("Segment"),
        queryset=Segment.objects.none(),
        empty_label=_("Choose a segment"),
        help_text=_(
            "Its members as they are now. For a segment of companies, every contact of those companies; "
            "contacts without mail consent are skipped when sent."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment"].queryset = segments_list()  # type: ignore[attr-defined]


class SenderIdentityForm(_Styled):
    name = forms.CharField(label=_("Sender name"), max_length=100)
    email = forms.EmailField(label=_("Sender address"))
    reply_to = forms.EmailField(label=_("Reply-to address"), required=False)
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    postal_address = forms.CharField(label=_("Postal address"), max_length=300)
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    is_default = forms.BooleanField(label=_("Default sender"), required=False)

    def values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)
