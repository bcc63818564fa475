from tokui.integrations.importers import importers
from tokui.integrations.importers.headers import guess_mapping


def test_japanese_company_headers_are_guessed() -> None:
    header = ["得意先コード", "会社名", "会社名カナ", "電話番号", "郵便番号", "都道府県", "住所", "担当者名", "メモ欄"]
    assert guess_mapping(importers.get("companies"), header) == [
        "external_id",
        "name",
        "name_kana",
        "phone",
        "postal_code",
        "prefecture",
        "address",
        "",
        "",
    ]


def test_full_width_and_bracketed_headers_are_guessed() -> None:
    header = ["得意先ＣＤ", "会社名（カナ）", "ＴＥＬ", "〒"]
    assert guess_mapping(importers.get("companies"), header) == ["external_id", "name_kana", "phone", "postal_code"]


def test_english_headers_are_guessed() -> None:
    header = ["Customer code", "Company name", "Phone", "Zip code", "Prefecture", "Address"]
    assert guess_mapping(importers.get("companies"), header) == [
        "external_id",
        "name",
        "phone",
        "postal_code",
        "prefecture",
        "address",
    ]


def test_order_line_headers_are_guessed_including_the_channel() -> None:
    header = ["受注番号", "受注日", "得意先コード", "得意先名", "品番", "商品名", "数量", "単価", "受注区分"]
    assert guess_mapping(importers.get("orders"), header) == [
        "order_number",
        "placed_at",
        "company_code",
        "",
        "sku",
        "product_name",
        "quantity",
        "unit_price",
        "channel",
    ]
    assert (
        guess_mapping(
            importers.get("orders"), ["注文番号", "注文日", "顧客コード", "品番", "数量", "単価", "チャネル"]
        )[-1]
        == "channel"
    )


def test_contact_headers_are_guessed() -> None:
    header = ["担当者名", "フリガナ", "メールアドレス", "得意先コード", "部署", "役職"]
    assert guess_mapping(importers.get("contacts"), header) == [
        "name",
        "name_kana",
        "email",
        "company_code",
        "department",
        "title",
    ]


def test_a_field_is_given_to_one_column_only() -> None:
    mapping = guess_mapping(importers.get("companies"), ["電話番号", "電話番号", "会社名"])
    assert mapping == ["phone", "", "name"]
