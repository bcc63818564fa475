from decimal import Decimal

import pytest

from tests.factories import CategoryFactory, CompanyFactory, ProductFactory
from tests.integrations.importers.conftest import Upload, counts, csv_bytes, import_file, messages_by_row
from tokui.accounts.models import User
from tokui.catalog.models import Product
from tokui.customers.models import Contact

pytestmark = pytest.mark.django_db


def test_contacts_are_linked_to_their_company_by_customer_code(upload: Upload, importer_user: User) -> None:
    sakura = CompanyFactory(source="import", external_id="C001", code="C001")
    content = csv_bytes(
        "担当者コード,担当者名,担当者名カナ,メールアドレス,得意先コード,部署,生年月日",
        "P01,髙橋 一郎,ﾀｶﾊｼ ｲﾁﾛｳ,ichiro@sakura.example.jp,C001,仕入部,1980/4/1",
        "P02,山﨑 花子,ヤマサキ ハナコ,hanako@sakura.example.jp,C999,,",
    )
    job = import_file(upload, importer_user, content, object_type="contacts")
    assert counts(job) == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 1}
    ichiro = Contact.objects.get(external_id="P01")
    assert (ichiro.name, ichiro.name_kana, ichiro.company) == ("髙橋 一郎", "タカハシ イチロウ", sakura)
    assert ichiro.birthday is not None and ichiro.birthday.isoformat() == "1980-04-01"
    assert "C999" in messages_by_row(job)[3]


def test_contacts_without_a_code_are_keyed_by_email(upload: Upload, importer_user: User) -> None:
    content = csv_bytes("姓,名,メールアドレス", "鈴木,花子,Hanako@Example.jp")
    import_file(upload, importer_user, content, object_type="contacts")
    again = import_file(upload, importer_user, content, object_type="contacts")
    assert counts(again)["unchanged"] == 1
    contact = Contact.objects.get()
    assert (contact.name, contact.external_id, contact.email) == ("鈴木 花子", "hanako@example.jp", "Hanako@Example.jp")


def test_a_bad_email_is_rejected_with_the_column_named(upload: Upload, importer_user: User) -> None:
    content = csv_bytes("担当者コード,担当者名,メールアドレス", "P01,佐藤,not-an-address")
    job = import_file(upload, importer_user, content, object_type="contacts")
    assert messages_by_row(job)[2].startswith("メール")


def test_products_import_and_reimport_changes_nothing(upload: Upload, importer_user: User) -> None:
    CategoryFactory(name="トップス", slug="tops")
    content = csv_bytes(
        "品番,商品名,上代,カテゴリ,在庫数,シーズン",
        'SHIRT-01,リネンシャツ,"4,900",トップス,12,2026SS',
        "PANTS-01,ワイドパンツ,6900円,,3,2026SS",
    )
    first = import_file(upload, importer_user, content, object_type="products")
    assert counts(first)["created"] == 2
    shirt = Product.objects.get(sku="SHIRT-01")
    assert (shirt.price, shirt.stock, shirt.category.name if shirt.category else None) == (
        Decimal(4900),
        12,
        "トップス",
    )
    assert shirt.external_id == "SHIRT-01"
    again = import_file(upload, importer_user, content, object_type="products")
    assert counts(again) == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0}


def test_a_sku_owned_by_another_source_and_an_unknown_category_are_rejected(
    upload: Upload, importer_user: User
) -> None:
    ProductFactory(sku="SHIRT-01", source="shopify", external_id="555")
    content = csv_bytes("品番,商品名,上代,カテゴリ", "SHIRT-01,リネンシャツ,4900,", "BAG-01,トート,3000,バッグ")
    job = import_file(upload, importer_user, content, object_type="products")
    reasons = messages_by_row(job)
    assert "shopify" in reasons[2]
    assert "バッグ" in reasons[3]
    assert Product.objects.count() == 1
