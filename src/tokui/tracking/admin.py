from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from tokui.core.admin import AuditedAdmin
from tokui.core.errors import DomainError
from tokui.tracking.models import AnonymousIdentity, Event, TrackingSite
from tokui.tracking.selectors import tracking_site_snippet, tracking_sites_forget
from tokui.tracking.services import origin_normalise, write_key_generate


@admin.register(Event)
class EventAdmin(admin.ModelAdmin[Event]):
    list_display = ["occurred_at", "type", "company", "contact", "source"]
    list_filter = ["type", "source"]
    raw_id_fields = ["contact", "company"]
    date_hierarchy = "occurred_at"
    search_fields = ["anonymous_id", "idempotency_key"]


class TrackingSiteForm(forms.ModelForm[TrackingSite]):
    class Meta:
        model = TrackingSite
        fields = ["name", "allowed_origins", "require_consent", "contact_source", "is_active"]

    def clean_allowed_origins(self) -> str:
        lines = [line for line in self.cleaned_data["allowed_origins"].splitlines() if line.strip()]
        if not lines:
            raise forms.ValidationError(_("Add at least one origin, such as https://shop.example.jp."))
        try:
            return "\n".join(dict.fromkeys(origin_normalise(line) for line in lines))
        except DomainError as error:
            raise forms.ValidationError(error.message) from error


@admin.register(TrackingSite)
class TrackingSiteAdmin(AuditedAdmin[TrackingSite]):
    form = TrackingSiteForm
    list_display = ["name", "write_key", "require_consent", "is_active", "created_at"]
    list_filter = ["is_active", "require_consent"]
    search_fields = ["name", "write_key", "allowed_origins"]
    readonly_fields = ["write_key", "snippet"]

    def save_model(self, request: HttpRequest, obj: TrackingSite, form: Any, change: bool) -> None:
        if not obj.write_key:
            obj.write_key = write_key_generate()
        super().save_model(request, obj, form, change)
        tracking_sites_forget()

    @admin.display(description=_("snippet for the shop's pages"))
    def snippet(self, obj: TrackingSite) -> SafeString | str:
        if not obj.pk:
            return str(_("Save the site first: the snippet contains its write key."))
        code = tracking_site_snippet(site=obj)
        return format_html("<pre><code>{}</code></pre>", code)


@admin.register(AnonymousIdentity)
class AnonymousIdentityAdmin(admin.ModelAdmin[AnonymousIdentity]):
    list_display = ["anonymous_id", "contact", "first_seen_at", "last_seen_at"]
    raw_id_fields = ["contact"]
    search_fields = ["anonymous_id", "contact__email"]
