from __future__ import annotations

from django.contrib import admin

from tokui.commerce.models import Cart, CartLine, Favorite, Order, OrderLine
from tokui.core.admin import AuditedAdmin


class OrderLineInline(admin.TabularInline[OrderLine, Order]):
    model = OrderLine
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Order)
class OrderAdmin(AuditedAdmin[Order]):
    list_display = ["number", "company", "contact", "channel", "status", "placed_at", "total"]
    list_filter = ["channel", "status"]
    search_fields = ["number", "external_id", "company__name"]
    raw_id_fields = ["company", "contact", "sales_rep", "ship_to"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline]


class CartLineInline(admin.TabularInline[CartLine, Cart]):
    model = CartLine
    extra = 0
    raw_id_fields = ["product"]


@admin.register(Cart)
class CartAdmin(AuditedAdmin[Cart]):
    list_display = ["id", "company", "contact", "state", "last_activity_at"]
    list_filter = ["state"]
    raw_id_fields = ["company", "contact", "converted_order"]
    inlines = [CartLineInline]


@admin.register(Favorite)
class FavoriteAdmin(AuditedAdmin[Favorite]):
    list_display = ["contact", "product", "added_at"]
    raw_id_fields = ["contact", "company", "product"]
