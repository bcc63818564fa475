"""The mapping step says what a file really needs: the key (for contacts, a contact code *or* an email; for products,
a product id *or* a SKU), the columns every file needs, and what only new records need."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.integrations.importers.conftest import Upload, csv_bytes
from tokui.core.errors import DomainError
from tokui.integrations import services
from tokui.integrations.importers import importers
from tokui.integrations.importers.base import Need
from tokui.integrations.selectors import import_field_choices

pytestmark = pytest.mark.django_db

CONTACTS_BY_EMAIL = csv_bytes("メールアドレス,担当者名", "hanako@example.jp,鈴木 花子")
PRODUCTS_BY_SKU = csv_bytes("品番,商品名,上代", "SHIRT-01,リネンシャツ,4900")


def _options(body: str, column: int) -> dict[str, str]:
    select = re.search(rf'<select[^>]*name="column_{column}".*?</select>', body, re.S)
    assert select is not None
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select.group(0)))


def test_a_contact_file_keyed_by_email_alone_is_accepted(upload: Upload) -> None:
    job = upload(CONTACTS_BY_EMAIL, object_type="contacts")
    services.import_job_set_mapping(job=job, mapping=["email", "name"])
    job.refresh_from_db()
    assert job.created_count == 1 and job.rejected_count == 0


def test_a_product_file_keyed_by_sku_alone_is_accepted(upload: Upload) -> None:
    job = upload(PRODUCTS_BY_SKU, object_type="products")
    services.import_job_set_mapping(job=job, mapping=["sku", "name", "price"])
    job.refresh_from_db()
    assert job.created_count == 1 and job.rejected_count == 0


def test_a_contact_file_without_a_key_is_refused_naming_both_keys_it_could_use(upload: Upload) -> None:
    job = upload(CONTACTS_BY_EMAIL, object_type="contacts")
    with pytest.raises(DomainError) as refused:
        services.import_job_set_mapping(job=job, mapping=["", "name"])
    assert (
        refused.value.message == "各レコードを見分ける列を選んでください（次のいずれか: 担当者コード(キー) / メール）。"
    )


def test_an_order_file_names_each_missing_column_and_the_customer_it_needs_one_of(upload: Upload) -> None:
    job = upload(csv_bytes("受注番号,備考", "F-1,至急"), object_type="orders")
    with pytest.raises(DomainError) as refused:
        services.import_job_set_mapping(job=job, mapping=["order_number", "note"])
    message = refused.value.message
    for label in ("受注日", "品番", "数量", "単価"):
        assert f"「{label}" in message
    assert "次のいずれか" in message and "得意先コード" in message


def test_contact_keys_are_one_of_a_group_and_the_name_is_needed_for_new_contacts_only() -> None:
    needs = {choice.key: choice.need for choice in import_field_choices(object_type="contacts")}
    assert needs["external_id"] == needs["email"] == Need.ONE_OF
    assert needs["name"] == needs["last_name"] == needs["first_name"] == Need.NEW_RECORDS
    assert needs["phone"] == ""


def test_product_keys_are_one_of_a_group_and_name_and_price_are_for_new_products() -> None:
    needs = {choice.key: choice.need for choice in import_field_choices(object_type="products")}
    assert needs["external_id"] == needs["sku"] == Need.ONE_OF
    assert needs["name"] == needs["price"] == Need.NEW_RECORDS


def test_order_columns_every_file_needs_are_marked_required() -> None:
    needs = {choice.key: choice.need for choice in import_field_choices(object_type="orders")}
    assert {key for key, need in needs.items() if need == Need.REQUIRED} == {
        "order_number",
        "placed_at",
        "sku",
        "quantity",
        "unit_price",
    }
    assert needs["company_code"] == needs["contact_key"] == Need.ONE_OF


def test_the_mapping_screen_lists_what_the_file_needs_and_marks_the_fields_so(
    marketer_client: Client, upload: Upload
) -> None:
    from tests.factories import UserFactory

    job = upload(CONTACTS_BY_EMAIL, object_type="contacts", user=UserFactory(username="marketer"))
    body = marketer_client.get(reverse("integrations:import_mapping", args=[job.pk])).content.decode()
    needs = re.search(r'data-testid="mapping-needs">(.*?)</ul>', body, re.S)
    assert needs is not None
    assert "次のいずれか: 担当者コード(キー) / メール。各レコードを見分ける列です。" in needs.group(1)
    assert "新規登録には次のいずれか: 氏名 / 姓 / 名" in needs.group(1)
    options = _options(body, 0)
    assert options["email"] == "メール（いずれか必須）"
    assert options["name"] == "氏名（新規登録に必要）"
    assert options["phone"] == "電話"
    assert "*" not in "".join(options.values())


def test_the_needs_read_the_same_in_english() -> None:
    importer = importers.get("contacts")
    with translation.override("en"):
        texts = [importer.rule_text(rule) for rule in importer.mapping_rules()]
        problems = importer.mapping_problems({"name": 0})
    assert texts[0] == (
        "One of: Contact code (key) / Email. It identifies each record; if several are chosen, the first in this list "
        "is used."
    )
    assert texts[1] == (
        "For new records, one of: Name / Family name / Given name. Rows that update a record may leave it empty."
    )
    assert problems == ["Choose a column that identifies each record, one of: Contact code (key) / Email."]
