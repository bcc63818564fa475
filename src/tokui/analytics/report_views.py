"""The sales analysis and ranking screens, and their CSV / Excel exports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from tokui.accounts.models import User
from tokui.accounts.selectors import user_sees_all_accounts
from tokui.analytics.rankings import product_ranking, ranking_window
from tokui.analytics.report_exports import (
    CSV_CONTENT_TYPE,
    XLSX_CONTENT_TYPE,
    Cell,
    Table,
    csv_bytes,
    download,
    xlsx_bytes,
)
from tokui.analytics.report_forms import RankingForm, SalesReportForm, rankings_defaults, sales_defaults
from tokui.analytics.report_types import Breakdown, Change, Compared, Granularity, RankingRow, SalesReport
from tokui.analytics.sales import sales_report
from tokui.analytics.sales_facts import sales_facts_pending
from tokui.core.money import default_currency, format_money, quantize

BREAKDOWN_ROWS_SHOWN = 100
BREAKDOWN_CHART_ROWS = 10


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


def _with_defaults(query: QueryDict, defaults: dict[str, str]) -> dict[str, str]:
    """The query with a default for every field left empty, so the first visit shows a report at once."""
    data = dict(defaults)
    for key in query:
        value = query.get(key, "")
        if value or key not in defaults:
            data[key] = value
    return data


def period_label(day: dt.date, granularity: str) -> str:
    if granularity == Granularity.MONTH:
        return formats.date_format(day, "YEAR_MONTH_FORMAT")
    if granularity == Granularity.WEEK:
        return _("Week of %(day)s") % {"day": formats.date_format(day, "SHORT_DATE_FORMAT")}
    return formats.date_format(day, "SHORT_DATE_FORMAT")


def _percent(value: Change | None) -> float | None:
    return round(value.percent, 1) if value and value.percent is not None else None


def _money(amount: Decimal | None) -> Decimal | None:
    return quantize(amount, default_currency()) if amount is not None else None


def _figure_cells(row: Compared) -> list[Cell]:
    now, before = row.current, row.previous
    return [
        _money(now.revenue),
        now.orders,
        now.aov,
        now.units,
        now.buyers,
        _money(before.revenue),
        _money(row.revenue_change.absolute),
        _percent(row.revenue_change),
        before.orders,
        _percent(row.orders_change),
    ]


def _figure_header() -> list[str]:
    return [
        _("Revenue"),
        _("Orders"),
        _("Average order value"),
        _("Units"),
        _("Buying customers"),
        _("Revenue (comparison)"),
        _("Revenue change"),
        _("Revenue change (%)"),
        _("Orders (comparison)"),
        _("Orders change (%)"),
    ]


def sales_tables(report: SalesReport) -> list[Table]:
    periods = Table(
        title=_("Sales by period"),
        header=[_("Period"), _("Comparison period"), *_figure_header()],
        rows=[
            [
                period_label(row.start, report.granularity),
                period_label(row.previous_start, report.granularity) if row.previous_start else "",
                *_figure_cells(row),
            ]
            for row in report.periods
        ]
        + [[_("Total"), "", *_figure_cells(report.totals)]],
    )
    tables = [periods]
    if report.breakdown and report.breakdown_totals:
        label = str(Breakdown(report.breakdown).label)
        tables.append(
            Table(
                title=_("By %(breakdown)s") % {"breakdown": label},
                header=[label, _("Share of revenue (%)"), *_figure_header()],
                rows=[
                    [row.label, round(row.share * 100, 1) if row.share is not None else None, *_figure_cells(row)]
                    for row in report.breakdown_rows
                ]
                + [
                    [
                        _("Total"),
                        100.0 if report.breakdown_totals.current.revenue else None,
                        *_figure_cells(report.breakdown_totals),
                    ]
                ],
            )
        )
    return tables


def _sales_chart(report: SalesReport) -> dict[str, Any]:
    return {
        "labels": [period_label(row.start, report.granularity) for row in report.periods],
        "axes": [{"name": _("Revenue")}, {"name": _("Orders"), "grid": False}],
        "series": [
            {"name": _("Revenue"), "type": "bar", "data": [float(row.current.revenue) for row in report.periods]},
            {
                "name": _("Revenue (comparison)"),
                "type": "line",
                "data": [float(row.previous.revenue) for row in report.periods],
            },
            {"name": _("Orders"), "type": "line", "axis": 1, "data": [row.current.orders for row in report.periods]},
        ],
    }


def _breakdown_chart(report: SalesReport) -> dict[str, Any]:
    rows = report.breakdown_rows[:BREAKDOWN_CHART_ROWS]
    return {
        "labels": [row.label for row in rows],
        "axes": [{"name": _("Revenue")}],
        "series": [
            {"name": _("Revenue"), "type": "bar", "data": [float(row.current.revenue) for row in rows]},
            {"name": _("Revenue (comparison)"), "type": "bar", "data": [float(row.previous.revenue) for row in rows]},
        ],
    }


def notice_facts_pending(request: HttpRequest) -> None:
    """Say so when a bulk load's orders, or many products moved to other categories, are still being added to the
    figures (a rebuild queued in the worker)."""
    if sales_facts_pending():
        messages.info(
            request,
            _(
                "Many orders were loaded, or many products moved to other categories, at once: the analysis is being"
                " brought up to date and will show them in a few minutes."
            ),
        )


@login_required
def sales_analysis(request: HttpRequest) -> HttpResponse:
    """Revenue, orders, AOV, units and buyers by period with a comparison, and one breakdown; CSV and Excel."""
    user = _user(request)
    form = SalesReportForm(_with_defaults(request.GET, sales_defaults()), user=user)
    context: dict[str, Any] = {"form": form, "nav_active": "sales"}
    if not form.is_valid():
        return render(request, "analytics/sales.html", context)
    data = form.cleaned_data
    report = sales_report(
        user=user,
        start=data["start"],
        end=data["end"],
        granularity=data["granularity"],
        comparison=data["comparison"],
        filters=form.filters(),
        breakdown=data["breakdown"],
    )
    export = request.GET.get("export")
    stem = f"sales_{report.start:%Y%m%d}-{report.end:%Y%m%d}"
    if export == "xlsx":
        return download(xlsx_bytes(sales_tables(report)), filename=f"{stem}.xlsx", content_type=XLSX_CONTENT_TYPE)
    if export == "csv":
        tables = sales_tables(report)
        table = tables[1] if request.GET.get("table") == "breakdown" and len(tables) > 1 else tables[0]
        suffix = "_" + report.breakdown if table is not tables[0] else ""
        return download(csv_bytes(table), filename=f"{stem}{suffix}.csv", content_type=CSV_CONTENT_TYPE)
    context |= {
        "report": report,
        "period_rows": [
            (
                period_label(row.start, report.granularity),
                period_label(row.previous_start, report.granularity) if row.previous_start else "",
                row,
            )
            for row in report.periods
        ],
        "breakdown_label": Breakdown(report.breakdown).label,
        "breakdown_rows": report.breakdown_rows[:BREAKDOWN_ROWS_SHOWN],
        "breakdown_hidden": max(len(report.breakdown_rows) - BREAKDOWN_ROWS_SHOWN, 0),
        "chart": _sales_chart(report),
        "breakdown_chart": _breakdown_chart(report),
        "line_breakdown": report.breakdown in (Breakdown.CATEGORY, Breakdown.PRODUCT),
        "query": request.GET.urlencode(),
        "currency": report.currency,
        "scoped": not user_sees_all_accounts(user=user),
    }
    notice_facts_pending(request)
    return render(request, "analytics/sales.html", context)


def ranking_table(rows: list[RankingRow], *, title: str) -> Table:
    return Table(
        title=title,
        header=[
            pgettext("ranking", "Rank"),
            _("Movement"),
            _("Previous rank"),
            _("SKU"),
            _("Product"),
            _("Category"),
            _("Units"),
            _("Revenue"),
        ],
        rows=[
            [
                row.rank,
                row.movement_label,
                row.previous_rank,
                row.sku,
                row.name,
                row.category_name,
                row.units,
                row.revenue,
            ]
            for row in rows
        ],
    )


@login_required
def rankings(request: HttpRequest) -> HttpResponse:
    """Best sellers of a day, week or month by units or revenue, with the move against the period before."""
    form = RankingForm(_with_defaults(request.GET, rankings_defaults()))
    context: dict[str, Any] = {"form": form, "nav_active": "rankings"}
    if not form.is_valid():
        return render(request, "analytics/rankings.html", context)
    data = form.cleaned_data
    start, end, previous_start = ranking_window(period=data["period"], day=data["day"])
    rows = product_ranking(
        start=start,
        end=end,
        by=data["by"],
        category_id=int(data["category"]) if data["category"] else None,
        limit=data["limit"],
        previous_start=previous_start,
    )
    export = request.GET.get("export")
    title = _("Ranking %(start)s-%(end)s") % {"start": f"{start:%Y%m%d}", "end": f"{end:%Y%m%d}"}
    if export == "xlsx":
        table = ranking_table(rows, title=title)
        return download(
            xlsx_bytes([table]), filename=f"ranking_{start:%Y%m%d}-{end:%Y%m%d}.xlsx", content_type=XLSX_CONTENT_TYPE
        )
    if export == "csv":
        content = csv_bytes(ranking_table(rows, title=title))
        name = f"ranking_{start:%Y%m%d}-{end:%Y%m%d}.csv"
        return download(content, filename=name, content_type=CSV_CONTENT_TYPE)
    params = request.GET.copy()
    neighbours = {}
    for key, day in (("previous", previous_start), ("next", end + dt.timedelta(days=1))):
        params["day"] = day.isoformat()
        neighbours[key] = params.urlencode()
    context |= {
        "rows": rows,
        "start": start,
        "end": end,
        "previous_start": previous_start,
        "previous_end": start - dt.timedelta(days=1),
        "query": request.GET.urlencode(),
        "neighbours": neighbours,
        "by_revenue": data["by"] == "revenue",
        "total_units": sum(row.units for row in rows),
        "total_revenue_text": format_money(sum((row.revenue for row in rows), start=0)),
    }
    notice_facts_pending(request)
    return render(request, "analytics/rankings.html", context)
