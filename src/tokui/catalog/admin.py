from __future__ import annotations

from django.contrib import admin

from tokui.catalog.models import Category, Product
from tokui.core.admin import AuditedAdmin


@admin.register(Category)
class CategoryAdmin(AuditedAdmin[Category]):
    list_display = ["name", "parent", "slug", "sort_order"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Product)
class ProductAdmin(AuditedAdmin[Product]):
    list_display = ["sku", "name", "category", "price", "stock", "is_new", "status"]
    list_filter = ["status", "is_new", "category"]
    search_fields = ["sku", "name"]
