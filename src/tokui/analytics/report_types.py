"""Types of the sales and ranking reports (``analytics.sales``, ``analytics.rankings``), for screens and mails."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy, pgettext_lazy

from tokui.core.money import default_currency, quantize


class Granularity(models.TextChoices):
    DAY = "day", gettext_lazy("Day")
    WEEK = "week", gettext_lazy("Week")
    MONTH = "month", gettext_lazy("Month")


class Comparison(models.TextChoices):
    PREVIOUS_PERIOD = "previous", gettext_lazy("Previous period of equal length")
    PREVIOUS_YEAR = "year", gettext_lazy("Same period last year")


class Breakdown(models.TextChoices):
    CHANNEL = "channel", gettext_lazy("Channel")
    CATEGORY = "category", gettext_lazy("Category")
    PRODUCT = "product", gettext_lazy("Product")
    PREFECTURE = "prefecture", gettext_lazy("Prefecture")
    SALES_REP = "sales_rep", gettext_lazy("Sales rep")
    COMPANY_SIZE = "company_size", gettext_lazy("Company size")


# Breakdowns that only exist on order lines: their figures come from line amounts.
LINE_BREAKDOWNS = frozenset({Breakdown.CATEGORY, Breakdown.PRODUCT})


@dataclass(frozen=True, slots=True)
class SalesFilters:
    channel: str = ""
    category_id: int | None = None
    prefecture: str = ""
    sales_rep_id: int | None = None
    company_size: str = ""


@dataclass(frozen=True, slots=True)
class Change:
    absolute: Decimal
    percent: float | None  # None when there is nothing to compare with

    @property
    def sign(self) -> str:
        return "+" if self.absolute > 0 else "−" if self.absolute < 0 else "±"

    @property
    def magnitude(self) -> Decimal:
        return abs(self.absolute)

    @property
    def magnitude_percent(self) -> float | None:
        return abs(self.percent) if self.percent is not None else None


def change(current: Decimal | int, previous: Decimal | int) -> Change:
    absolute = Decimal(current) - Decimal(previous)
    percent = float(absolute / Decimal(previous) * 100) if previous else None
    return Change(absolute=absolute, percent=percent)


@dataclass(frozen=True, slots=True)
class SalesFigures:
    revenue: Decimal = Decimal(0)
    orders: int = 0
    units: int = 0
    buyers: int = 0

    @property
    def aov(self) -> Decimal | None:
        """Average order value, rounded to the currency's minor unit."""
        return quantize(self.revenue / self.orders, default_currency()) if self.orders else None


@dataclass(frozen=True, slots=True)
class Compared:
    """A row's figures now and in the comparison period."""

    current: SalesFigures
    previous: SalesFigures

    @property
    def revenue_change(self) -> Change:
        return change(self.current.revenue, self.previous.revenue)

    @property
    def orders_change(self) -> Change:
        return change(self.current.orders, self.previous.orders)

    @property
    def units_change(self) -> Change:
        return change(self.current.units, self.previous.units)

    @property
    def buyers_change(self) -> Change:
        return change(self.current.buyers, self.previous.buyers)

    @property
    def aov_change(self) -> Change | None:
        now, before = self.current.aov, self.previous.aov
        return change(now, before) if now is not None and before is not None else None


@dataclass(frozen=True, slots=True)
class PeriodRow(Compared):
    start: dt.date = dt.date.min
    previous_start: dt.date | None = None


@dataclass(frozen=True, slots=True)
class BreakdownRow(Compared):
    key: str = ""
    label: str = ""
    share: float | None = None  # of the current revenue of all rows

    @property
    def share_percent(self) -> float | None:
        return self.share * 100 if self.share is not None else None


@dataclass(frozen=True, slots=True)
class SalesReport:
    start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    granularity: str
    comparison: str
    currency: str
    line_based: bool  # the order-level figures come from line amounts (a category filter is set)
    periods: list[PeriodRow]
    totals: Compared
    breakdown: str = ""
    breakdown_rows: list[BreakdownRow] = field(default_factory=list)
    breakdown_totals: Compared | None = None
    other_currency_orders: int = 0


class RankingBy(models.TextChoices):
    UNITS = "units", gettext_lazy("Units")
    REVENUE = "revenue", gettext_lazy("Revenue")


class Movement(models.TextChoices):
    """A product's rank against the previous period: up, down, unchanged, or not sold then (NEW)."""

    UP = "up", pgettext_lazy("rank movement", "Up")
    DOWN = "down", pgettext_lazy("rank movement", "Down")
    SAME = "same", pgettext_lazy("rank movement", "Unchanged")
    NEW = "new", pgettext_lazy("rank movement", "New")


@dataclass(frozen=True, slots=True)
class RankingRow:
    """One product in a ranking. ``previous_rank`` is its place among everything sold in the previous period."""

    rank: int
    product_id: int | None
    sku: str
    name: str
    category_name: str
    image_url: str
    units: int
    revenue: Decimal
    previous_rank: int | None
    movement: Movement
    steps: int  # how many places up or down (0 for unchanged and NEW)

    @property
    def movement_label(self) -> str:
        """↑n, ↓n, → or NEW, as shops show it in ranking mails."""
        if self.movement == Movement.UP:
            return f"↑{self.steps}"
        if self.movement == Movement.DOWN:
            return f"↓{self.steps}"
        return "→" if self.movement == Movement.SAME else "NEW"
