from django.contrib import admin
from django.http import HttpRequest

from tokui.segments.models import Segment, SegmentRuleVersion


class SegmentRuleVersionInline(admin.TabularInline[SegmentRuleVersion, Segment]):
    model = SegmentRuleVersion
    extra = 0
    fields = ("number", "summary", "changed_by", "changed_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Segment | None = None) -> bool:
        return False


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin[Segment]):
    """Read-only: rules are validated and versioned by the builder, which the segment screens use."""

    list_display = ("name", "subject", "kind", "member_count", "refreshed_at", "archived_at")
    list_filter = ("subject", "kind")
    search_fields = ("name",)
    inlines = [SegmentRuleVersionInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Segment | None = None) -> bool:
        return False
