"""The prediction screen (予測): the customers whose usual reorder interval has passed (発注遅延予備軍), the
customers of the highest predicted value, and the model's check against a hold-out period a manager can trust."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from tokui.accounts.models import User
from tokui.accounts.selectors import user_sees_all_accounts
from tokui.analytics.clv import CustomerKey, CustomerPrediction, customer_predictions
from tokui.analytics.enums import OverdueOrder
from tokui.analytics.models import PredictionCalibration
from tokui.analytics.prediction_lists import OVERDUE_SIGNS, PredictionLists, prediction_lists
from tokui.analytics.report_exports import CSV_CONTENT_TYPE, Table, csv_bytes, download
from tokui.analytics.selectors import prediction_calibration_latest
from tokui.analytics.services import prediction_calibration_store
from tokui.core.money import default_currency, format_money
from tokui.core.time import local_today
from tokui.customers.models import Company, Contact
from tokui.customers.selectors import companies_visible_to

NAV_KEY = "repeat"
ROWS_SHOWN = 50
VALUABLE_SHOWN = 20


def _visible(predictions: list[CustomerPrediction], user: User) -> list[CustomerPrediction]:
    if user_sees_all_accounts(user=user):
        return predictions
    mine = set(companies_visible_to(user=user).values_list("pk", flat=True))
    return [p for p in predictions if p.key[0] == "company" and p.key[1] in mine]


def _lists_fitted_now(user: User, today: dt.date, order: OverdueOrder) -> PredictionLists:
    """The lists from the models fitted now, over every customer (before the first nightly run)."""
    predictions = _visible(customer_predictions(today=today), user)
    sign = OVERDUE_SIGNS[order]
    overdue = sorted(
        (p for p in predictions if p.overdue),
        key=lambda p: (sign * (p.days_since_last_order - (p.usual_interval_days or 0)), -p.orders),
    )
    valuable = sorted((p for p in predictions if p.clv_365_days is not None), key=lambda p: p.clv_365_days or 0)[::-1]
    return PredictionLists(
        overdue=overdue,
        overdue_total=len(overdue),
        valuable=valuable[:VALUABLE_SHOWN],
        model_ready=any(p.probability_alive is not None for p in predictions),
    )


def _names(keys: list[CustomerKey], *, links: bool = True) -> dict[CustomerKey, tuple[str, str]]:
    """Display name and page of each customer (no page with ``links`` false: the CSV export of every overdue
    customer, where building 170,000 objects and links took 13 s of 17)."""
    companies = dict(
        Company.objects.filter(pk__in=[pk for kind, pk in keys if kind == "company"]).values_list("pk", "name")
    )
    contacts = dict(
        Contact.objects.filter(pk__in=[pk for kind, pk in keys if kind == "contact"]).values_list("pk", "name")
    )
    names: dict[CustomerKey, tuple[str, str]] = {}
    for key in keys:
        kind, pk = key
        if kind == "company" and pk in companies:
            names[key] = (companies[pk], reverse("web:company_detail", args=[pk]) if links else "")
        elif kind == "contact" and pk in contacts:
            names[key] = (contacts[pk], reverse("web:contact_detail", args=[pk]) if links else "")
    return names


def _row(prediction: CustomerPrediction, names: dict[CustomerKey, tuple[str, str]], currency: str) -> dict[str, Any]:
    name, url = names.get(prediction.key, ("-", ""))
    overdue_by = (
        prediction.days_since_last_order - prediction.usual_interval_days
        if prediction.usual_interval_days is not None
        else None
    )
    return {
        "p": prediction,
        "name": name,
        "url": url,
        # A median of whole-day gaps is whole or half a day: shown as it is (9.5 days), so a customer 10 days
        # after their last order reads 0.5 days past it, not "10 days" and "0 days".
        "overdue_by": overdue_by,
        "alive": "" if prediction.probability_alive is None else f"{prediction.probability_alive * 100:.0f}%",
        "orders_90": "" if prediction.expected_orders_90_days is None else f"{prediction.expected_orders_90_days:.1f}",
        "clv": "" if prediction.clv_365_days is None else format_money(round(prediction.clv_365_days), currency),
    }


def _calibration_chart(calibration: PredictionCalibration) -> dict[str, Any]:
    rows = calibration.rows
    return {
        "labels": [row["repeat_purchases"] for row in rows],
        "axes": [{"name": _("Orders per customer")}],
        "series": [
            {"name": _("Predicted"), "type": "bar", "data": [round(row["predicted"], 2) for row in rows]},
            {"name": _("Actual"), "type": "bar", "data": [round(row["actual"], 2) for row in rows]},
        ],
    }


@login_required
def prediction(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    today = local_today()
    currency = default_currency()
    exporting = request.GET.get("export") == "csv"
    asked = request.GET.get("order") or OverdueOrder.JUST_PAST
    order_error = None if asked in OverdueOrder.values else _("Choose a sort order from the list.")
    order = OverdueOrder.JUST_PAST if order_error else OverdueOrder(asked)
    if order_error and exporting:
        return HttpResponse(order_error, status=400, content_type="text/plain; charset=utf-8")
    # The nightly figures (analytics.services.predictions_store), listed by the database; fitted here only until
    # the first night has run.
    lists = prediction_lists(
        user=user,
        today=today,
        overdue_limit=None if exporting else ROWS_SHOWN,
        valuable_limit=VALUABLE_SHOWN,
        overdue_order=order,
    ) or _lists_fitted_now(user, today, order)
    overdue, valuable = lists.overdue, lists.valuable
    shown = overdue if exporting else overdue[:ROWS_SHOWN] + valuable[:VALUABLE_SHOWN]
    names = _names([p.key for p in shown], links=not exporting)
    if exporting:
        table = Table(
            title=_("Customers past their usual reorder interval"),
            header=[
                _("Customer"),
                _("Orders"),
                _("Last order"),
                _("Usual interval (days)"),
                _("Days since the last order"),
                _("Probability still active (%)"),
                _("Expected orders in 90 days"),
            ],
            rows=[
                [
                    names.get(p.key, ("-", ""))[0],
                    p.orders,
                    p.last_order.isoformat(),
                    round(p.usual_interval_days or 0, 1),
                    p.days_since_last_order,
                    None if p.probability_alive is None else round(p.probability_alive * 100, 1),
                    None if p.expected_orders_90_days is None else round(p.expected_orders_90_days, 2),
                ]
                for p in overdue
            ],
        )
        return download(csv_bytes(table), filename=f"overdue_{today:%Y%m%d}.csv", content_type=CSV_CONTENT_TYPE)
    # The nightly run keeps the check; before its first run (data loaded today) the first view makes it.
    calibration = prediction_calibration_latest() or prediction_calibration_store(today=today)
    context = {
        "nav_active": NAV_KEY,
        "overdue": [_row(p, names, currency) for p in overdue[:ROWS_SHOWN]],
        "overdue_total": lists.overdue_total,
        "overdue_order": order,
        "overdue_orders": OverdueOrder.choices,
        "order_error": order_error,
        "valuable": [_row(p, names, currency) for p in valuable[:VALUABLE_SHOWN]],
        "model_ready": lists.model_ready,
        "calibration": calibration,
        "calibration_chart": _calibration_chart(calibration) if calibration else None,
        "calibration_error": (
            (calibration.predicted_total - calibration.actual_total) / calibration.actual_total * 100
            if calibration and calibration.actual_total
            else None
        ),
    }
    return render(request, "analytics/prediction.html", context, status=400 if order_error else 200)
