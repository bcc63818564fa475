from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tokui.core.admin import AuditedAdmin
from tokui.core.enums import AuditAction
from tokui.core.services import audit_record
from tokui.customers import services
from tokui.customers.models import (
    Agency,
    Company,
    Consent,
    ConsentChange,
    Contact,
    CustomFieldDefinition,
    PointLot,
    PriceGroup,
    ShipToAddress,
    Tag,
)


class ShipToInline(admin.TabularInline[ShipToAddress, Company]):
    model = ShipToAddress
    extra = 0


@admin.register(Company)
class CompanyAdmin(AuditedAdmin[Company]):
    list_display = ["name", "code", "prefecture", "assigned_rep", "approval_status", "archived_at"]
    list_filter = ["approval_status", "size", "industry", "prefecture", "assigned_rep"]
    search_fields = ["name", "name_kana", "code", "external_id"]
    raw_id_fields = ["assigned_rep"]
    filter_horizontal = ["tags"]
    inlines = [ShipToInline]
    actions = ["archive_selected"]

    @admin.action(description=_("Archive selected companies (keeps their orders)"))
    def archive_selected(self, request: HttpRequest, queryset: QuerySet[Company]) -> None:
        for company in queryset:
            services.company_archive(company=company)
            audit_record(actor=request.user, action=AuditAction.ARCHIVE, target=company)
        self.message_user(request, _("Archived %(count)d companies.") % {"count": queryset.count()}, messages.SUCCESS)


@admin.register(Contact)
class ContactAdmin(AuditedAdmin[Contact]):
    list_display = ["name", "company", "email", "phone", "is_primary"]
    search_fields = ["name", "name_kana", "email", "external_id"]
    raw_id_fields = ["company"]
    filter_horizontal = ["tags"]


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin[Consent]):
    list_display = ["contact", "channel", "status", "source", "recorded_at"]
    list_filter = ["channel", "status"]
    raw_id_fields = ["contact"]

    def has_change_permission(self, request: HttpRequest, obj: Consent | None = None) -> bool:
        return False  # consent changes go through consent_record so the history stays complete


@admin.register(ConsentChange)
class ConsentChangeAdmin(admin.ModelAdmin[ConsentChange]):
    list_display = ["contact", "channel", "status", "source", "recorded_at"]
    raw_id_fields = ["contact"]

    def has_change_permission(self, request: HttpRequest, obj: ConsentChange | None = None) -> bool:
        return False


@admin.register(PointLot)
class PointLotAdmin(AuditedAdmin[PointLot]):
    list_display = ["contact", "company", "granted_points", "remaining_points", "expires_at", "state"]
    list_filter = ["state"]
    raw_id_fields = ["contact", "company"]


for model in (Tag, PriceGroup, Agency, CustomFieldDefinition):
    admin.site.register(model, AuditedAdmin)
