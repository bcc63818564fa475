import datetime as dt
from decimal import Decimal

import pytest

from tokui.core.time import site_zone
from tokui.integrations.importers import values
from tokui.integrations.importers.values import ValueProblemError

JST = site_zone()


@pytest.mark.parametrize(
    "cell",
    [
        "2026/11/25",
        "2026-11-25",
        "2026.11.25",
        "2026年11月25日",
        "令和8年11月25日",
        "R8.11.25",
        "20261125",
        "２０２６／１１／２５",
        dt.datetime(2026, 11, 25),
        dt.date(2026, 11, 25),
        (dt.date(2026, 11, 25) - dt.date(1899, 12, 30)).days,
    ],
)
def test_dates_are_read_in_the_forms_japanese_files_use(cell: object) -> None:
    assert values.date(cell) == dt.date(2026, 11, 25)  # type: ignore[arg-type]


def test_the_first_year_of_an_era_is_written_gannen() -> None:
    assert values.date("令和元年5月1日") == dt.date(2019, 5, 1)
    assert values.date("平成31年4月30日") == dt.date(2019, 4, 30)


def test_order_times_are_in_the_site_zone() -> None:
    placed = values.local_datetime("2026/11/25 23:30")
    assert placed == dt.datetime(2026, 11, 25, 23, 30, tzinfo=JST)
    assert values.local_datetime("2026-11-25") == dt.datetime(2026, 11, 25, tzinfo=JST)
    assert values.local_datetime("2026-11-25T10:00:00+00:00") == dt.datetime(2026, 11, 25, 19, 0, tzinfo=JST)
    assert values.local_datetime(dt.datetime(2026, 11, 25, 9, 15)) == dt.datetime(2026, 11, 25, 9, 15, tzinfo=JST)


def test_a_text_that_is_no_date_says_which_forms_are_understood() -> None:
    with pytest.raises(ValueProblemError) as raised:
        values.date("11/25/2026")
    assert "2026/11/25" in raised.value.message
    with pytest.raises(ValueProblemError):
        values.date("2026/02/30")


@pytest.mark.parametrize(
    ("cell", "amount"),
    [
        ("¥1,200", "1200"),
        ("1200円", "1200"),
        ("１，２００", "1200"),
        (1200.5, "1200.5"),
        (3000, "3000"),
        ("￥980", "980"),
    ],
)
def test_money_is_read_as_decimal_from_what_people_type(cell: object, amount: str) -> None:
    assert values.decimal(cell) == Decimal(amount)  # type: ignore[arg-type]


def test_quantities_are_whole_numbers() -> None:
    assert values.integer("3個") == 3
    assert values.integer("1,000") == 1000
    assert values.integer(2.0) == 2
    with pytest.raises(ValueProblemError):
        values.integer("2.5")
    with pytest.raises(ValueProblemError):
        values.integer("たくさん")


@pytest.mark.parametrize("cell", ["60%", "0.6", "60", "6掛", "６０％"])
def test_wholesale_rates_are_read_however_they_are_written(cell: str) -> None:
    assert values.rate(cell) == Decimal("0.600")


@pytest.mark.parametrize(
    ("cell", "channel"),
    [
        ("FAX", "fax"),
        ("ＦＡＸ注文", "fax"),
        ("ファックス", "fax"),
        ("電話", "phone"),
        ("TEL", "phone"),
        ("営業", "sales_rep"),
        ("営業担当", "sales_rep"),
        ("Web", "web"),
        ("EC", "web"),
        ("店舗", "pos"),
    ],
)
def test_channels_are_read_from_japanese_order_types(cell: str, channel: str) -> None:
    assert values.channel(cell) == channel


def test_an_unknown_channel_names_the_ones_that_exist() -> None:
    with pytest.raises(ValueProblemError) as raised:
        values.channel("伝書鳩")
    assert "FAX" in raised.value.message


@pytest.mark.parametrize("cell", ["東京都", "東京", "13", "Tokyo"])
def test_prefectures_are_matched_by_name_short_name_code_or_romaji(cell: str) -> None:
    assert values.prefecture(cell) == "13"


def test_the_prefecture_of_an_address_is_found_only_when_written_out() -> None:
    assert values.prefecture_of_address("大阪府大阪市北区梅田1-1") == "27"
    assert values.prefecture_of_address("石川町1-1") == ""


def test_postal_codes_phones_and_kana_are_normalised() -> None:
    assert values.postal_code("〒１５００００１") == "150-0001"
    assert values.phone("０３－１２３４－５６７８") == "03-1234-5678"
    assert values.kana("ｶﾌﾞｼｷｶﾞｲｼｬ ｻｸﾗ") == "カブシキガイシャ サクラ"
    with pytest.raises(ValueProblemError):
        values.postal_code("123")


def test_yes_and_no_are_read_in_japanese_too() -> None:
    assert values.boolean("はい") is True
    assert values.boolean("○") is True
    assert values.boolean("×") is False
    assert values.boolean(0) is False
