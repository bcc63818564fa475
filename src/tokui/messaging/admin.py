"""Read-mostly admin views of the mail data; writes go through the mail screens and services."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from tokui.messaging.models import (
    DeliveryAttempt,
    MailTemplate,
    MailTemplateVersion,
    OutboxMessage,
    SenderIdentity,
    Suppression,
    TopicOptOut,
)


@admin.register(SenderIdentity)
class SenderIdentityAdmin(admin.ModelAdmin[SenderIdentity]):
    list_display = ["name", "email", "company_name", "is_default"]


@admin.register(MailTemplate)
class MailTemplateAdmin(admin.ModelAdmin[MailTemplate]):
    list_display = ["name", "kind", "topic", "subject", "updated_at"]
    list_filter = ["kind", "topic"]
    raw_id_fields = ["current_version"]


class _ReadOnly[M: object](admin.ModelAdmin):  # type: ignore[type-arg]
    """History is never edited by hand: the delivery log and versions are evidence."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object | None = None) -> bool:
        return False


@admin.register(MailTemplateVersion)
class MailTemplateVersionAdmin(_ReadOnly[MailTemplateVersion]):
    list_display = ["template", "number", "subject", "author", "created_at"]
    raw_id_fields = ["template", "author", "restored_from"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(_ReadOnly[OutboxMessage]):
    list_display = ["created_at", "to_email", "status", "skip_reason", "origin", "campaign_id", "attempts", "sent_at"]
    list_filter = ["status", "origin", "kind"]
    search_fields = ["to_email", "message_id", "idempotency_key", "campaign_id"]
    raw_id_fields = ["contact", "template_version", "created_by"]


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(_ReadOnly[DeliveryAttempt]):
    list_display = ["attempted_at", "message", "outcome", "code", "channel"]
    list_filter = ["outcome"]
    raw_id_fields = ["message"]


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin[Suppression]):
    list_display = ["email", "reason", "source", "created_at"]
    list_filter = ["reason"]
    search_fields = ["email"]


@admin.register(TopicOptOut)
class TopicOptOutAdmin(admin.ModelAdmin[TopicOptOut]):
    list_display = ["contact", "topic", "source", "created_at"]
    raw_id_fields = ["contact"]
