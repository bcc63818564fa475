"""Rankings (ランキング): best-selling products by units or by revenue, with their move against the period before.

Counted like the sales analysis: order lines of orders that count as sales (not cancelled or refunded) in the
shop's currency, placed on site-zone days [start, end]; revenue is the lines' ``amount``. The ranking is the shop's
(every customer's orders), because it describes products, not accounts; it will feed the ranking mail too.

Ties are broken by the other measure, then by SKU, so a ranking never changes between two reads of the same data.
A product's previous rank is its place among everything sold in the previous period, so a product can climb from
35th into the top 20 (↑15); a product that did not sell at all then is NEW.

The lines are read from the sales line facts (``analytics.sales_facts``, ADR 0015), not from the raw order lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max, Sum

from tokui.analytics.models import SalesLineFact
from tokui.analytics.report_types import Granularity, Movement, RankingBy, RankingRow
from tokui.analytics.sales_facts import report_reads, sales_facts_catch_up
from tokui.catalog.models import Product
from tokui.catalog.selectors import category_with_descendants
from tokui.core.money import default_currency
from tokui.core.time import add_months

# A product sold under its catalogue id, or a line whose product was deleted, kept apart by its SKU.
type _Key = tuple[str, int | str]


@dataclass(frozen=True, slots=True)
class _Sold:
    key: _Key
    sku: str
    name: str
    units: int
    revenue: Decimal


def ranking_window(*, period: str, day: dt.date) -> tuple[dt.date, dt.date, dt.date]:
    """``(start, end, previous_start)`` of the day, Monday-start week or calendar month holding ``day``.

    Days and weeks compare with the day or week before (the same length); a month compares with the calendar
    month before, as a monthly ranking mail would say "先月".
    """
    if period == Granularity.DAY:
        return day, day, day - dt.timedelta(days=1)
    if period == Granularity.WEEK:
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=6), start - dt.timedelta(days=7)
    start = day.replace(day=1)
    return start, add_months(start, 1) - dt.timedelta(days=1), add_months(start, -1)


def _sold(*, start: dt.date, end: dt.date, categories: set[int] | None) -> list[_Sold]:
    # The line facts hold only lines of orders that count as sales, with their order's site-zone day.
    lines = SalesLineFact.objects.filter(day__gte=start, day__lte=end, currency=default_currency())
    if categories is not None:
        lines = lines.filter(product__category_id__in=sorted(categories))
    sold = [
        _Sold(
            key=("p", row["product_id"]), sku=row["sku"], name=row["name"], units=row["units"], revenue=row["revenue"]
        )
        for row in lines.filter(product_id__isnull=False)
        .values("product_id")
        .annotate(units=Sum("quantity"), revenue=Sum("amount"), sku=Max("sku"), name=Max("product_name"))
        .order_by()
    ]
    if categories is None:
        sold += [
            _Sold(key=("s", row["sku"]), sku=row["sku"], name=row["name"], units=row["units"], revenue=row["revenue"])
            for row in lines.filter(product_id__isnull=True)
            .values("sku")
            .annotate(units=Sum("quantity"), revenue=Sum("amount"), name=Max("product_name"))
            .order_by()
        ]
    return sold


def _ordered(sold: Iterable[_Sold], by: str) -> list[_Sold]:
    if by == RankingBy.REVENUE:
        return sorted(sold, key=lambda s: (-s.revenue, -s.units, s.sku, str(s.key)))
    return sorted(sold, key=lambda s: (-s.units, -s.revenue, s.sku, str(s.key)))


def _movement(rank: int, previous: int | None) -> tuple[Movement, int]:
    if previous is None:
        return Movement.NEW, 0
    if previous > rank:
        return Movement.UP, previous - rank
    if previous < rank:
        return Movement.DOWN, rank - previous
    return Movement.SAME, 0


def product_ranking(
    *,
    start: dt.date,
    end: dt.date,
    by: str = RankingBy.UNITS,
    category_id: int | None = None,
    limit: int = 20,
    previous_start: dt.date | None = None,
) -> list[RankingRow]:
    """The top ``limit`` products sold on site-zone days [start, end] (both included), by units or revenue.

    ``category_id`` keeps the products of that category and its subcategories. The movement compares with the
    period that ends the day before ``start`` and begins at ``previous_start`` (default: the same number of days).
    """
    if end < start:
        raise ValueError("end is before start")
    sales_facts_catch_up()
    categories = category_with_descendants(category_id) if category_id is not None else None
    previous_end = start - dt.timedelta(days=1)
    previous_start = previous_start or start - dt.timedelta(days=(end - start).days + 1)
    with report_reads():
        ranked = _ordered(_sold(start=start, end=end, categories=categories), by)[: max(limit, 0)]
        before = _ordered(_sold(start=previous_start, end=previous_end, categories=categories), by)
    previous_rank = {sold.key: index for index, sold in enumerate(before, start=1)}
    product_ids = [int(sold.key[1]) for sold in ranked if sold.key[0] == "p"]
    products = {
        product.pk: product for product in Product.objects.filter(pk__in=product_ids).select_related("category__parent")
    }
    rows = []
    for rank, sold in enumerate(ranked, start=1):
        product = products.get(int(sold.key[1])) if sold.key[0] == "p" else None
        movement, steps = _movement(rank, previous_rank.get(sold.key))
        rows.append(
            RankingRow(
                rank=rank,
                product_id=product.pk if product else None,
                # The catalogue's current name and SKU; a line keeps what was sold when the product is gone.
                sku=product.sku if product else sold.sku,
                name=product.name if product else sold.name,
                category_name=str(product.category) if product and product.category else "",
                image_url=product.image.url if product and product.image else "",
                units=int(sold.units),
                revenue=sold.revenue,
                previous_rank=previous_rank.get(sold.key),
                movement=movement,
                steps=steps,
            )
        )
    return rows
