"""The basket analysis screen (バスケット分析): pairs of products bought together, thresholds the user edits, and
for one product the products most often in the same orders (よく一緒に購入されている商品)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tokui.analytics.basket import (
    BasketAnalysis,
    basket_pairs,
    basket_scope,
    basket_sets,
    products_bought_together,
)
from tokui.analytics.report_exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, Table, csv_bytes, download, xlsx_bytes
from tokui.analytics.report_views import notice_facts_pending
from tokui.catalog.models import Category, Product
from tokui.core.time import local_today, start_of_local_day

NAV_KEY = "basket"
PAIRS_SHOWN = 100
SETS_SHOWN = 20
ORDER_CHOICES = (
    ("orders_together", _("Orders together")),
    ("lift", _("Lift")),
    ("confidence", _("Confidence")),
    ("support", _("Support")),
)


class BasketForm(forms.Form):
    start = forms.DateField(label=pgettext_lazy("date range", "From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=pgettext_lazy("date range", "To"), widget=forms.DateInput(attrs={"type": "date"}))
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.all(), required=False, empty_label=_("All categories")
    )
    min_orders = forms.IntegerField(label=_("Orders together at least"), min_value=1, max_value=1_000_000, initial=3)
    min_support = forms.DecimalField(
        label=_("Support at least (%)"), min_value=Decimal(0), max_value=Decimal(100), decimal_places=3, initial=0
    )
    min_confidence = forms.DecimalField(
        label=_("Confidence at least (%)"), min_value=Decimal(0), max_value=Decimal(100), decimal_places=1, initial=0
    )
    min_lift = forms.DecimalField(label=_("Lift at least"), min_value=Decimal(0), decimal_places=2, initial=0)
    order_by = forms.ChoiceField(label=_("Sort by"), choices=ORDER_CHOICES, initial="orders_together")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError(_("The start date must be on or before the end date."))
        return data


def _initial() -> dict[str, Any]:
    today = local_today()
    return {
        "start": today - dt.timedelta(days=365),
        "end": today,
        "min_orders": 3,
        "min_support": 0,
        "min_confidence": 0,
        "min_lift": 0,
        "order_by": "orders_together",
    }


def _product_rows(analysis: BasketAnalysis) -> list[dict[str, Any]]:
    ids = {pid for pair in analysis.pairs for pid in (pair.product_a_id, pair.product_b_id)}
    products = Product.objects.in_bulk(ids)
    return [
        {
            "pair": pair,
            "a": products.get(pair.product_a_id),
            "b": products.get(pair.product_b_id),
            "support_pct": f"{pair.support * 100:.2f}",
            "confidence_ab_pct": f"{pair.confidence_ab * 100:.1f}",
            "confidence_ba_pct": f"{pair.confidence_ba * 100:.1f}",
        }
        for pair in analysis.pairs
    ]


@login_required
def basket_analysis(request: HttpRequest) -> HttpResponse:
    """Product data only (no customer is shown), so every role sees the whole shop."""
    params = {**_initial(), **request.GET.dict()} if request.GET else _initial()
    form = BasketForm(params)
    query = request.GET.copy()
    query.pop("product", None)
    context: dict[str, Any] = {"form": form, "nav_active": NAV_KEY, "query": query.urlencode()}
    if form.is_valid():
        data = form.cleaned_data
        start = start_of_local_day(data["start"])
        end = start_of_local_day(data["end"] + dt.timedelta(days=1))
        # The period's lines are read once, for the pairs and the sets.
        scope = basket_scope(start=start, end=end, category_id=data["category"].pk if data["category"] else None)
        # Counted once at the sets' floor (the lower one): the pairs' floor, raised by a minimum support, filters it.
        scope.pairs(max(1, data["min_orders"]))
        analysis = basket_pairs(
            scope=scope,
            limit=PAIRS_SHOWN,
            start=start,
            end=end,
            min_orders_together=data["min_orders"],
            min_support=float(data["min_support"]) / 100,
            min_confidence=float(data["min_confidence"]) / 100,
            min_lift=float(data["min_lift"]),
            category_id=data["category"].pk if data["category"] else None,
            order_by=data["order_by"],
        )
        rows = _product_rows(analysis)
        export = request.GET.get("export")
        if export in ("csv", "xlsx"):
            return _export(rows, export=export, name=f"basket_{data['start']:%Y%m%d}-{data['end']:%Y%m%d}")
        sets = basket_sets(
            scope=scope,
            start=start,
            end=end,
            min_orders_together=data["min_orders"],
            category_id=data["category"].pk if data["category"] else None,
            limit=SETS_SHOWN,
        )
        set_products = Product.objects.in_bulk({pid for found in sets for pid in found.product_ids})
        context.update(
            analysis=analysis,
            rows=rows,
            sets=[
                (found, [set_products.get(pid) for pid in found.product_ids], f"{found.support * 100:.2f}")
                for found in sets
            ],
        )
        product = _focus_product(request.GET.get("product"))
        if product is not None:
            together = products_bought_together(
                product_id=product.pk,
                start=start,
                end=end,
                limit=10,
                category_id=data["category"].pk if data["category"] else None,
                scope=scope,
            )
            partners = Product.objects.in_bulk([row.product_id for row in together])
            context.update(
                focus=product,
                together=[(row, partners.get(row.product_id), f"{row.confidence * 100:.1f}") for row in together],
            )
    status = 200 if form.is_valid() else 400
    notice_facts_pending(request)
    return render(request, "analytics/basket.html", context, status=status)


def _export(rows: list[dict[str, Any]], *, export: str, name: str) -> HttpResponse:
    header = [
        str(_("Product A")),
        str(_("SKU")),
        str(_("Product B")),
        str(_("SKU")),
        str(_("Orders together")),
        str(_("Support (%)")),
        str(_("Confidence A→B (%)")),
        str(_("Confidence B→A (%)")),
        str(_("Lift")),
    ]
    table = Table(
        title=str(_("Basket analysis")),
        header=header,
        rows=[
            [
                row["a"].name if row["a"] else "",
                row["a"].sku if row["a"] else "",
                row["b"].name if row["b"] else "",
                row["b"].sku if row["b"] else "",
                row["pair"].orders_together,
                Decimal(row["support_pct"]),
                Decimal(row["confidence_ab_pct"]),
                Decimal(row["confidence_ba_pct"]),
                round(Decimal(row["pair"].lift), 3),
            ]
            for row in rows
        ],
    )
    if export == "xlsx":
        return download(xlsx_bytes([table]), filename=f"{name}.xlsx", content_type=XLSX_CONTENT_TYPE)
    return download(csv_bytes(table), filename=f"{name}.csv", content_type=CSV_CONTENT_TYPE)


def _focus_product(value: str | None) -> Product | None:
    if not value or not value.isdigit():
        return None
    return Product.objects.filter(pk=int(value)).first()
