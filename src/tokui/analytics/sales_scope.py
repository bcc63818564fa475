"""One sales report's scope: its periods, filters and the facts they keep (``analytics.sales``, ADR 0015, 0040,
0045)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from django.db.models import Case, Q, QuerySet, Value, When

from tokui.accounts.models import User
from tokui.analytics.customer_sums import customer_segment, segment_buyers
from tokui.analytics.models import SalesCategoryFact
from tokui.analytics.report_types import SalesFilters
from tokui.analytics.sales_facts import sales_facts_pending
from tokui.analytics.sales_sums import first_since, first_since_start
from tokui.catalog.selectors import category_parent_ids, category_with_descendants
from tokui.core.lookups import ids_q
from tokui.core.money import default_currency
from tokui.customers.selectors import buyer_ids_matching


class SalesScope:
    """One report's order or line facts (of both periods) as querysets, with each row's side: 1 now, 0 compared.

    Both periods are read in one query and told apart by ``side`` (the comparison always ends before ``start``),
    so every scan of the facts serves both. The facts hold only orders that count as sales, with their site-zone
    day; both fact tables name the order's channel, currency and customer the same way, so one filter serves both.
    """

    def __init__(self, *, filters: SalesFilters, user: User, ranges: tuple[tuple[dt.date, dt.date], ...]) -> None:
        self.filters = filters
        self.user = user
        self.ranges = ranges
        self.categories = category_with_descendants(filters.category_id) if filters.category_id else None
        # A top-level category with subcategories: its facts carry their own chain (``root_*``), so it is summed.
        self.root: int | None = None
        if self.categories is not None and len(self.categories) > 1:
            self.root = filters.category_id if category_parent_ids().get(filters.category_id or 0, 0) is None else None
        # A year-on-year comparison of more than a year overlaps the report: then each period is read on its own.
        (start, _end), (_previous_start, previous_end) = ranges
        self.overlap = previous_end >= start
        # One customer attribute (a sales rep's own scope is their rep value): its value's customer day sums answer
        # the order figures, and its buyers are those recorded with that value (ADR 0045).
        segment = customer_segment(filters=filters, user=user)
        self.segment = segment if segment is not None and self.customer_sums else None
        self._buyers: list[int] | None = None

    @functools.cached_property
    def customer_sums(self) -> bool:
        """Whether the customer day sums are current: not while a rebuild is queued (ADR 0045)."""
        return not sales_facts_pending()

    @property
    def buyers(self) -> list[int] | None:
        """The buyers the customer filters keep (``None``: every buyer): one attribute's value from the records'
        index alone (ADR 46; the report's check has just made them current), else from the customers."""
        if self._buyers is None and self.segment is not None:
            records = segment_buyers(*self.segment).order_by()
            self._buyers = list(records.values_list("customer", flat=True))
        if self._buyers is None:
            self._buyers = buyer_ids_matching(
                user=self.user,
                prefecture=self.filters.prefecture,
                assigned_rep_id=self.filters.sales_rep_id,
                size=self.filters.company_size,
            )
        return self._buyers

    def customers_q(self, *, recorded: bool = False) -> Q:
        """The facts of the buyers the customer filters keep, matched on the facts' ``buyer`` column, which each
        fact table indexes: a prefecture's 2 % of the facts are read by index instead of joining every fact of the
        period to its company and contact (5.1 → 1.25 s for a year by product at 3M orders, ADR 40).

        ``recorded``: one attribute's buyers as recorded (a semi-join, the same buyers once the report's check has
        run) instead of their ids bound to the query: for the few facts of an index range (other currencies, a
        month's days, the facts after a mid-month start), where binding and planning 150,000 ids cost 0.1-0.15 s a
        statement; not for the lines of whole periods, where the planner then scans every line (a prefecture by
        product 1.0 → 1.9 s; ADR 0045)."""
        if recorded and self.segment is not None:
            return Q(buyer__in=segment_buyers(*self.segment))
        buyers = self.buyers
        # A rep's scope is their companies; B2C orders have no rep, so they are not theirs (ADR 0004).
        return Q() if buyers is None else ids_q("buyer", buyers)

    def order_q(
        self,
        *,
        shop_currency: bool = True,
        sides: tuple[int, ...] = (1, 0),
        customers: bool = True,
        recorded: bool = False,
    ) -> Q:
        """The facts of the scope's periods (``sides``) and filters; ``recorded``: see ``customers_q``."""
        f = self.filters
        dates = Q()
        for side in sides:
            start, end = self.ranges[1 - side]
            dates |= Q(day__gte=start, day__lte=end)
        q = dates
        if shop_currency:
            q &= Q(currency=default_currency())
        if f.channel:
            q &= Q(channel=f.channel)
        if customers:
            q &= self.customers_q(recorded=recorded)
        return q

    def _parts(self) -> list[tuple[Q, Any]]:
        return [(q, side) for q, side, _first in self.order_parts()]

    def order_parts(self) -> list[tuple[Q, Any, Callable[[str], Q]]]:
        """``(filter, side, first)`` per query: ``first(prev)`` keeps the rows that are their buyer's first order in
        their own period, by the previous-order column ``prev``."""
        (start, _end), (previous_start, _previous_end) = self.ranges
        if self.overlap:
            return [
                (self.order_q(sides=(side,)), Value(side), first_since_start(since))
                for side, since in ((1, start), (0, previous_start))
            ]
        side = Case(When(day__gte=start, then=1), default=0)

        def first(prev: str) -> Q:
            return (Q(day__gte=start) & first_since(prev, start)) | (
                Q(day__lt=start) & first_since(prev, previous_start)
            )

        return [(self.order_q(), side, first)]

    def category_rows(self) -> list[QuerySet[Any]]:
        """The category facts of the filter's categories (all of them without one), with their side."""
        parts = []
        for q, side in self._parts():
            rows = SalesCategoryFact.objects.filter(q)
            if self.categories is not None:
                rows = rows.filter(category_id__in=sorted(self.categories))
            parts.append(rows.annotate(side=side))
        return parts
