"""An independent, deliberately plain computation of the sales and ranking figures, to check the SQL against.

It reads every order and line once and does the rest in Python loops, with the definitions written out:
counted = not cancelled/refunded and in JPY; the day is the JST calendar day; a week starts on Monday; a buyer is
the company of a B2B order or the contact of a B2C order; category filters include subcategories.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tokui.analytics.report_types import SalesFigures, SalesReport
from tokui.catalog.models import Category
from tokui.commerce.models import Order, OrderLine

TOKYO = ZoneInfo("Asia/Tokyo")


@dataclass
class Figures:
    revenue: Decimal = Decimal(0)
    orders: set[int] = field(default_factory=set)
    units: int = 0
    buyers: set[tuple[str, int]] = field(default_factory=set)

    def as_tuple(self) -> tuple[Decimal, int, int, int]:
        return (self.revenue, len(self.orders), self.units, len(self.buyers))


def bucket(day: dt.date, granularity: str) -> dt.date:
    if granularity == "day":
        return day
    if granularity == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def descendants(category_id: int) -> set[int]:
    parents = dict(Category.objects.values_list("id", "parent_id"))
    found = {category_id}
    changed = True
    while changed:
        changed = False
        for pk, parent in parents.items():
            if parent in found and pk not in found:
                found.add(pk)
                changed = True
    return found


class Reference:
    """All orders and lines in memory."""

    def __init__(self) -> None:
        self.orders = list(
            Order.objects.values(
                "id",
                "placed_at",
                "status",
                "currency",
                "total",
                "channel",
                "company_id",
                "contact_id",
                "company__prefecture",
                "contact__prefecture",
                "company__assigned_rep_id",
                "company__size",
            )
        )
        self.lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for line in OrderLine.objects.values(
            "order_id", "quantity", "amount", "product_id", "product__category_id", "sku", "product_name"
        ):
            self.lines[line["order_id"]].append(line)

    def counted(
        self, start: dt.date, end: dt.date, *, filters: dict[str, Any] | None = None, companies: set[int] | None = None
    ) -> list[dict[str, Any]]:
        """Orders that count, on JST days [start, end], matching the filters and (for a rep) their companies."""
        filters = filters or {}
        kept = []
        for order in self.orders:
            day = order["placed_at"].astimezone(TOKYO).date()
            if order["status"] in ("cancelled", "refunded") or order["currency"] != "JPY":
                continue
            if not start <= day <= end:
                continue
            if companies is not None and order["company_id"] not in companies:
                continue
            if filters.get("channel") and order["channel"] != filters["channel"]:
                continue
            if filters.get("prefecture"):
                where = order["company__prefecture"] if order["company_id"] else order["contact__prefecture"]
                if where != filters["prefecture"]:
                    continue
            if filters.get("sales_rep_id") and order["company__assigned_rep_id"] != filters["sales_rep_id"]:
                continue
            if filters.get("company_size") and order["company__size"] != filters["company_size"]:
                continue
            kept.append(order | {"day": day})
        return kept

    def figures(
        self,
        start: dt.date,
        end: dt.date,
        *,
        key: Any = None,
        line_key: Any = None,
        category_id: int | None = None,
        filters: dict[str, Any] | None = None,
        companies: set[int] | None = None,
    ) -> dict[Any, tuple[Decimal, int, int, int]]:
        """Figures per group: ``key(order)`` groups orders (order totals), ``line_key(order, line)`` groups lines
        (line amounts). With neither, one group (None) from order totals; a category makes it line-based."""
        categories = descendants(category_id) if category_id else None
        groups: dict[Any, Figures] = defaultdict(Figures)
        for order in self.counted(start, end, filters=filters, companies=companies):
            buyer = ("company", order["company_id"]) if order["company_id"] else ("contact", order["contact_id"])
            lines = [
                line
                for line in self.lines[order["id"]]
                if categories is None or line["product__category_id"] in categories
            ]
            if categories is not None or line_key is not None:
                for line in lines:
                    group = groups[line_key(order, line) if line_key else key(order) if key else None]
                    group.revenue += line["amount"]
                    group.orders.add(order["id"])
                    group.units += line["quantity"]
                    group.buyers.add(buyer)
            else:
                group = groups[key(order) if key else None]
                group.revenue += order["total"]
                group.orders.add(order["id"])
                group.units += sum(line["quantity"] for line in lines)
                group.buyers.add(buyer)
        return {k: figures.as_tuple() for k, figures in groups.items()}

    def ranking(
        self, start: dt.date, end: dt.date, *, by: str, category_id: int | None = None
    ) -> list[tuple[Any, int, Decimal, str]]:
        """Every product sold, best first: (product id or ("sku", sku), units, revenue, sku)."""
        categories = descendants(category_id) if category_id else None
        totals: dict[Any, list[Any]] = {}
        for order in self.counted(start, end):
            for line in self.lines[order["id"]]:
                if categories is not None and line["product__category_id"] not in categories:
                    continue
                k = line["product_id"] if line["product_id"] else ("sku", line["sku"])
                entry = totals.setdefault(k, [0, Decimal(0), line["sku"]])
                entry[0] += line["quantity"]
                entry[1] += line["amount"]
                entry[2] = max(entry[2], line["sku"])
        rows = [(k, units, revenue, sku) for k, (units, revenue, sku) in totals.items()]
        if by == "revenue":
            rows.sort(key=lambda r: (-r[2], -r[1], r[3]))
        else:
            rows.sort(key=lambda r: (-r[1], -r[2], r[3]))
        return rows


ZERO = (Decimal(0), 0, 0, 0)


def figures_of(f: SalesFigures) -> tuple[Decimal, int, int, int]:
    return (f.revenue, f.orders, f.units, f.buyers)


def _row_key(k: Any) -> str:
    return "none" if k is None else str(k)


def check_rows(report: SalesReport, reference: Reference, **options: Any) -> None:
    """Every breakdown row with orders, on both sides, equals the reference's groups (``options`` as ``figures``)."""
    rows = {row.key: row for row in report.breakdown_rows}
    for attribute, (start, end) in (
        ("current", (report.start, report.end)),
        ("previous", (report.previous_start, report.previous_end)),
    ):
        expected = reference.figures(start, end, **options)
        got = {k: figures_of(getattr(row, attribute)) for k, row in rows.items() if getattr(row, attribute).orders}
        assert got == {_row_key(k): v for k, v in expected.items()}, attribute


def check_report(report: SalesReport, reference: Reference, **options: Any) -> None:
    """Every period row and the totals, on both sides, equal the reference (``options`` as ``figures``)."""
    for attribute, (start, end) in (
        ("current", (report.start, report.end)),
        ("previous", (report.previous_start, report.previous_end)),
    ):
        expected = reference.figures(start, end, key=lambda o: bucket(o["day"], report.granularity), **options)
        for row in report.periods:
            day = row.start if attribute == "current" else row.previous_start
            if day is not None:
                assert figures_of(getattr(row, attribute)) == expected.get(day, ZERO), (attribute, day)
        totals = reference.figures(start, end, **options).get(None, ZERO)
        assert figures_of(getattr(report.totals, attribute)) == totals, attribute


def check_line_totals(report: SalesReport, reference: Reference, **options: Any) -> None:
    """The breakdown's totals, on both sides, are every line's: each order and buyer once however many rows
    (categories, products) they span (``options`` as ``figures``)."""
    for attribute, (start, end) in (
        ("current", (report.start, report.end)),
        ("previous", (report.previous_start, report.previous_end)),
    ):
        expected = reference.figures(start, end, line_key=lambda o, line: None, **options).get(None, ZERO)
        assert figures_of(getattr(report.breakdown_totals, attribute)) == expected, attribute
