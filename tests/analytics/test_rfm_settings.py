"""RFM settings: the boundaries and groups a marketer edits, refused with a Japanese message that says what to fix."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tokui.analytics.enums import CustomerLevel, RankMethod
from tokui.analytics.rfm_defaults import default_rules
from tokui.analytics.selectors import rfm_rules
from tokui.analytics.services import rfm_settings_update
from tokui.analytics.types import RfmGroupDef
from tokui.core.errors import DomainError

pytestmark = pytest.mark.django_db


def _update(**changes: object) -> None:
    rules = default_rules(CustomerLevel.COMPANY)
    arguments: dict[str, object] = {
        "level": CustomerLevel.COMPANY,
        "recency_method": RankMethod.FIXED,
        "recency_bounds": rules.recency_bounds,
        "frequency_method": RankMethod.FIXED,
        "frequency_bounds": rules.frequency_bounds,
        "monetary_method": RankMethod.FIXED,
        "monetary_bounds": rules.monetary_bounds,
        "groups": rules.groups,
    }
    arguments.update(changes)
    rfm_settings_update(**arguments)  # type: ignore[arg-type]


def test_defaults_cover_every_cell_once_with_japanese_names() -> None:
    rules = rfm_rules(level=CustomerLevel.COMPANY)
    assert [group.name for group in rules.groups] == ["新規", "優良", "安定", "離脱懸念", "休眠"]
    cells = [cell for group in rules.groups for cell in group.cells]
    assert sorted(cells) == [(r, f) for r in range(1, 6) for f in range(1, 6)]
    assert rules.recency_bounds == (30, 60, 90, 180)


def test_saved_boundaries_and_groups_are_read_back() -> None:
    _update(
        recency_bounds=["14", "30", "60", "120"],
        monetary_bounds=["50,000", "100000", "200000.5", "400000"],
        groups=[RfmGroupDef(name="VIP", cells=frozenset({(5, 5)})), RfmGroupDef(name="その他", cells=frozenset())],
    )
    rules = rfm_rules(level=CustomerLevel.COMPANY)
    assert rules.recency_bounds == (14, 30, 60, 120)
    assert rules.monetary_bounds == (Decimal(50000), Decimal(100000), Decimal("200000.5"), Decimal(400000))
    assert [(g.name, g.cells) for g in rules.groups] == [("VIP", frozenset({(5, 5)})), ("その他", frozenset())]
    assert rfm_rules(level=CustomerLevel.CONTACT).recency_bounds == (30, 90, 180, 365), "levels are separate"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"recency_bounds": [30, 90, 60, 180]}, "recency_bounds", "昇順"),
        ({"recency_bounds": [30, 30, 60, 180]}, "recency_bounds", "昇順"),
        ({"frequency_bounds": [2, 4, 8]}, "frequency_bounds", "4つ"),
        ({"frequency_bounds": [2, 4, 8.5, 16]}, "frequency_bounds", "整数"),
        ({"monetary_bounds": ["1万", 2, 3, 4]}, "monetary_bounds", "数値ではありません"),
        ({"monetary_bounds": [0, 2, 3, 4]}, "monetary_bounds", "0より大きい"),
        ({"recency_method": "median"}, "recency_method", "固定"),
    ],
)
def test_bad_boundaries_are_refused_with_the_field_and_a_japanese_message(
    changes: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(DomainError) as error:
        _update(**changes)
    assert error.value.field == field
    assert message in error.value.message


def test_a_cell_in_two_groups_and_duplicate_names_are_refused() -> None:
    with pytest.raises(DomainError, match="R5×F5"):
        _update(
            groups=[RfmGroupDef(name="A", cells=frozenset({(5, 5)})), RfmGroupDef(name="B", cells=frozenset({(5, 5)}))]
        )
    with pytest.raises(DomainError, match="A"):
        _update(groups=[RfmGroupDef(name="A", cells=frozenset()), RfmGroupDef(name="A ", cells=frozenset())])
    assert rfm_rules(level=CustomerLevel.COMPANY).groups == default_rules(CustomerLevel.COMPANY).groups


def test_recency_boundaries_are_days_back_from_the_day_of_reading() -> None:
    _update(recency_bounds=[1, 2, 3, 4])
    assert rfm_rules(level=CustomerLevel.COMPANY).recency_bounds == (1, 2, 3, 4)
    assert dt.date.today()  # ranks are computed when read; see test_stats_demo for the ranks themselves
