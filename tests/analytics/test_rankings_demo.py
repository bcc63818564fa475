"""Rankings on the demo data: every ranked product, figure and movement against the plain reference."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.analytics.sales_reference import Reference
from tokui.analytics.rankings import product_ranking, ranking_window
from tokui.analytics.report_types import Movement
from tokui.catalog.models import Category
from tokui.demo.generator import load_demo_data

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

TODAY = dt.date(2026, 3, 20)


@pytest.fixture
def demo() -> Reference:
    load_demo_data(seed=7, scale=0.05, today=TODAY)
    return Reference()


def _check_ranking(demo: Reference, period: str, day: dt.date, by: str, category_id: int | None) -> int:
    start, end, previous_start = ranking_window(period=period, day=day)
    rows = product_ranking(
        start=start, end=end, by=by, category_id=category_id, limit=20, previous_start=previous_start
    )
    expected = demo.ranking(start, end, by=by, category_id=category_id)
    before = demo.ranking(previous_start, start - dt.timedelta(days=1), by=by, category_id=category_id)
    previous_rank = {k: rank for rank, (k, *_rest) in enumerate(before, start=1)}
    assert [(r.product_id, r.units, r.revenue) for r in rows] == [(k, u, rev) for k, u, rev, _s in expected[:20]]
    for row in rows:
        was = previous_rank.get(row.product_id)
        assert row.previous_rank == was
        if was is None:
            assert row.movement == Movement.NEW and row.movement_label == "NEW"
        elif was > row.rank:
            assert row.movement_label == f"↑{was - row.rank}"
        elif was < row.rank:
            assert row.movement_label == f"↓{row.rank - was}"
        else:
            assert row.movement_label == "→"
    return len(rows)


def test_rankings_on_the_demo_data_match_the_reference(demo: Reference) -> None:
    top = Category.objects.filter(parent__isnull=True, children__isnull=False).order_by("pk").first()
    assert top is not None
    shown = 0
    for period, day in (
        ("month", TODAY.replace(day=1) - dt.timedelta(days=1)),
        ("week", TODAY),
        ("day", TODAY - dt.timedelta(days=1)),
    ):
        for by in ("units", "revenue"):
            for category_id in (None, top.pk):
                shown += _check_ranking(demo, period, day, by, category_id)
    assert shown > 50, "the demo sells enough to rank"
