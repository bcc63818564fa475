from django.contrib import admin
from django.http import HttpRequest

from tokui.analytics.models import CustomerStats


@admin.register(CustomerStats)
class CustomerStatsAdmin(admin.ModelAdmin[CustomerStats]):
    """Read-only: the figures are computed from the orders. RFM settings are edited on the RFM screen."""

    list_display = ("company", "contact", "order_count", "total_spend", "last_order_on", "predicted_next_order_on")
    raw_id_fields = ("company", "contact")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: CustomerStats | None = None) -> bool:
        return False
