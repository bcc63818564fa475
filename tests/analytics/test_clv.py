"""BG/NBD and Gamma-Gamma: parameters recovered from customers simulated with known ones, predictions that match
what the simulated customers then do, and the hold-out calibration on the demo data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import optimize

from tokui.analytics.clv import (
    BgNbd,
    Summary,
    _bgnbd_log_likelihood,
    bgnbd_fit,
    clv_calibration,
    expected_order_value,
    expected_purchases,
    gamma_gamma_fit,
    probability_alive,
)
from tokui.demo.generator import load_demo_data

TRUE = BgNbd(r=0.8, alpha=40.0, a=0.6, b=3.0)


def simulate(
    model: BgNbd, customers: int, *, observe: float, extra: float, seed: int = 7
) -> tuple[Summary, np.ndarray]:
    """Customers of the BG/NBD story: purchase at rate λ ~ Gamma(r, α); after each purchase, drop out with
    probability p ~ Beta(a, b). Returns what is seen in (0, observe] and the purchases in (observe, observe+extra]."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(model.r, 1 / model.alpha, customers)
    drop = rng.beta(model.a, model.b, customers)
    x, t_x, future = np.zeros(customers), np.zeros(customers), np.zeros(customers)
    ages = rng.uniform(0.5 * observe, observe, customers)  # customers acquired at different times
    for i in range(customers):
        t, alive = 0.0, True
        while alive:
            t += rng.exponential(1 / lam[i])
            if t > ages[i] + extra:
                break
            if t <= ages[i]:
                x[i] += 1
                t_x[i] = t
            else:
                future[i] += 1
            alive = rng.random() >= drop[i]
    summary = Summary(
        keys=[("contact", i) for i in range(customers)], x=x, t_x=t_x, age=ages, monetary=np.zeros(customers)
    )
    return summary, future


def test_bgnbd_recovers_the_parameters_of_simulated_customers() -> None:
    summary, _future = simulate(TRUE, 4000, observe=365, extra=0)
    fitted = bgnbd_fit(summary)
    assert fitted.r == pytest.approx(TRUE.r, rel=0.25)
    assert fitted.alpha == pytest.approx(TRUE.alpha, rel=0.3)
    assert fitted.a == pytest.approx(TRUE.a, rel=0.35)
    assert fitted.b == pytest.approx(TRUE.b, rel=0.45)


def test_the_fit_over_distinct_customer_histories_is_the_fit_over_every_customer() -> None:
    summary, _future = simulate(TRUE, 3000, observe=120, extra=0, seed=5)
    # Whole days, as the shop's order days are: many customers then share (repeat days, last day, age).
    days = Summary(
        keys=summary.keys,
        x=summary.x,
        t_x=np.floor(summary.t_x),
        age=np.floor(summary.age),
        monetary=summary.monetary,
    )
    assert len(np.unique(np.column_stack((days.x, days.t_x, days.age)), axis=0)) < len(days.keys) * 0.7
    scale = float(days.age.max())

    def every_customer(log_params: np.ndarray) -> float:
        params = np.exp(log_params)
        return -float(_bgnbd_log_likelihood(params, days.x, days.t_x / scale, days.age / scale).sum())

    plain = optimize.minimize(
        every_customer, x0=np.zeros(4), method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-7}
    )
    r, alpha, a, b = np.exp(plain.x)
    fitted = bgnbd_fit(days)
    assert (fitted.r, fitted.alpha, fitted.a, fitted.b) == pytest.approx((r, alpha * scale, a, b), rel=1e-4)


def test_predicted_orders_match_what_simulated_customers_then_do() -> None:
    summary, future = simulate(TRUE, 4000, observe=365, extra=180, seed=11)
    fitted = bgnbd_fit(summary)
    predicted = expected_purchases(fitted, summary, days=180)
    assert predicted.sum() == pytest.approx(future.sum(), rel=0.1)
    # Those with more purchases so far are predicted (and seen) to buy more.
    heavy, light = summary.x >= 3, summary.x == 0
    assert predicted[heavy].mean() > predicted[light].mean()
    assert future[heavy].mean() > future[light].mean()


def test_probability_alive_is_one_without_repeats_and_falls_with_silence() -> None:
    summary = Summary(
        keys=[("contact", 1), ("contact", 2), ("contact", 3)],
        x=np.array([0.0, 3.0, 3.0]),
        t_x=np.array([0.0, 300.0, 30.0]),
        age=np.array([365.0, 365.0, 365.0]),
        monetary=np.zeros(3),
    )
    alive = probability_alive(TRUE, summary)
    assert alive[0] == 1.0
    assert alive[1] > alive[2]  # bought recently vs. silent for 335 days


def test_gamma_gamma_recovers_spend_parameters() -> None:
    rng = np.random.default_rng(3)
    p, q, gamma = 6.0, 4.0, 15000.0
    customers = 3000
    x = rng.integers(1, 10, customers).astype(float)
    nu = rng.gamma(q, 1 / gamma, customers)
    monetary = np.array([rng.gamma(p, 1 / nu[i], int(x[i])).mean() for i in range(customers)])
    summary = Summary(keys=[("contact", i) for i in range(customers)], x=x, t_x=x, age=x + 1, monetary=monetary)
    fitted = gamma_gamma_fit(summary)
    assert fitted.p == pytest.approx(p, rel=0.3)
    assert fitted.q == pytest.approx(q, rel=0.3)
    expected = expected_order_value(fitted, summary, fallback=float(monetary.mean()))
    true_mean = p / nu
    assert np.corrcoef(expected, true_mean)[0, 1] > 0.8


@pytest.mark.django_db
def test_the_hold_out_calibration_on_the_demo_data_is_close_to_what_happened() -> None:
    load_demo_data(seed=7, scale=0.2)
    calibration = clv_calibration(today=dt.date.today(), holdout_days=180)
    assert calibration.customers > 50
    assert calibration.actual_total > 0
    assert calibration.predicted_total == pytest.approx(calibration.actual_total, rel=0.5)
    assert calibration.rows[0].repeat_purchases == "0"


@pytest.mark.django_db
def test_a_customer_past_their_usual_interval_is_flagged_and_a_fresh_one_is_not() -> None:
    from decimal import Decimal

    from django.utils import timezone

    from tests.factories import CompanyFactory, OrderFactory
    from tokui.analytics.clv import customer_predictions

    now = timezone.now()
    late, fresh, once = CompanyFactory(), CompanyFactory(), CompanyFactory()
    for days_ago in (130, 100, 70, 40):  # every 30 days, last one 40 days ago: overdue
        OrderFactory(company=late, placed_at=now - dt.timedelta(days=days_ago), total=Decimal(20000))
    for days_ago in (95, 65, 35, 5):  # every 30 days, last one 5 days ago
        OrderFactory(company=fresh, placed_at=now - dt.timedelta(days=days_ago), total=Decimal(20000))
    OrderFactory(company=once, placed_at=now - dt.timedelta(days=50), total=Decimal(5000))

    by_company = {p.key[1]: p for p in customer_predictions(today=timezone.localdate())}
    assert by_company[late.pk].overdue and by_company[late.pk].usual_interval_days == 30
    assert not by_company[fresh.pk].overdue
    assert not by_company[once.pk].overdue and by_company[once.pk].usual_interval_days is None
    # Three customers are too few to fit a model on: no made-up numbers.
    assert by_company[fresh.pk].probability_alive is None and by_company[fresh.pk].clv_365_days is None


@pytest.mark.django_db
def test_every_demo_customer_gets_finite_predictions() -> None:
    from tokui.analytics.clv import customer_predictions

    load_demo_data(seed=7, scale=0.2)
    predictions = customer_predictions(today=dt.date.today())
    assert len(predictions) > 50
    for prediction in predictions:
        assert prediction.probability_alive is not None and 0 <= prediction.probability_alive <= 1
        assert prediction.expected_orders_90_days is not None and prediction.expected_orders_90_days >= 0
        assert prediction.clv_365_days is not None and prediction.clv_365_days >= 0
    frequent = max(predictions, key=lambda p: p.orders)
    rare = min(predictions, key=lambda p: (p.orders, -p.days_since_last_order))
    assert (frequent.expected_orders_90_days or 0) > (rare.expected_orders_90_days or 0)
