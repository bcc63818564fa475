import pytest

from tests.factories import CompanyFactory, UserFactory
from tests.integrations.importers.conftest import (
    Upload,
    counts,
    csv_bytes,
    dry_run,
    import_file,
    messages_by_row,
    run_import,
)
from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.customers.models import Company
from tokui.integrations.enums import ImportStatus
from tokui.integrations.models import ImportMapping

pytestmark = pytest.mark.django_db

HEADER = "得意先コード,会社名,会社名カナ,電話番号,郵便番号,都道府県,住所"
SAKURA = "C001,株式会社ブティックさくら,ブティックサクラ,03-1234-5678,150-0001,東京都,渋谷区神宮前1-1"
TAKAHASHI = "C002,㈱髙橋商店,ﾀｶﾊｼｼｮｳﾃﾝ,06-1111-2222,5300001,大阪,大阪市北区梅田2-2"


def test_the_dry_run_counts_new_rows_and_writes_nothing(upload: Upload) -> None:
    job = dry_run(upload(csv_bytes(HEADER, SAKURA, TAKAHASHI)))
    assert job.status == ImportStatus.CHECKED
    assert job.rows_total == 2
    assert counts(job) == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 0}
    assert list(job.row_results.values_list("row_number", "outcome", "key")) == [
        (2, "created", "C001"),
        (3, "created", "C002"),
    ]
    assert Company.objects.count() == 0


def test_import_stores_the_rows_and_a_second_import_of_the_same_file_changes_nothing(
    upload: Upload, importer_user: User
) -> None:
    first = import_file(upload, importer_user, csv_bytes(HEADER, SAKURA, TAKAHASHI))
    assert first.status == ImportStatus.FINISHED
    assert counts(first)["created"] == 2
    takahashi = Company.objects.get(source="import", external_id="C002")
    assert (takahashi.name, takahashi.name_kana, takahashi.code) == ("㈱髙橋商店", "タカハシショウテン", "C002")
    assert (takahashi.prefecture, takahashi.postal_code) == ("27", "530-0001")

    again = import_file(upload, importer_user, csv_bytes(HEADER, SAKURA, TAKAHASHI))
    assert counts(again) == {"created": 0, "updated": 0, "unchanged": 2, "rejected": 0}
    assert Company.objects.count() == 2


def test_a_changed_cell_updates_the_company_and_the_dry_run_names_the_field(
    upload: Upload, importer_user: User
) -> None:
    import_file(upload, importer_user, csv_bytes(HEADER, SAKURA))
    moved = SAKURA.replace("03-1234-5678", "03-9999-0000")
    job = dry_run(upload(csv_bytes(HEADER, moved)))
    assert counts(job)["updated"] == 1
    assert job.row_results.get().message == "変更: 電話"
    assert Company.objects.get().phone == "03-1234-5678"
    run_import(job, importer_user)
    assert Company.objects.get().phone == "03-9999-0000"


def test_blank_cells_leave_the_stored_values_alone(upload: Upload, importer_user: User) -> None:
    import_file(upload, importer_user, csv_bytes(HEADER, SAKURA))
    job = import_file(upload, importer_user, csv_bytes(HEADER, "C001,株式会社ブティックさくら,,,,,"))
    assert counts(job)["unchanged"] == 1
    assert Company.objects.get().phone == "03-1234-5678"


def test_the_prefecture_is_taken_from_the_address_when_the_file_has_none(upload: Upload, importer_user: User) -> None:
    import_file(upload, importer_user, csv_bytes("得意先コード,会社名,住所", "C010,福岡の店,福岡県福岡市中央区天神1-1"))
    assert Company.objects.get().prefecture == "40"


def test_duplicate_customer_codes_in_one_file_are_all_rejected_with_their_rows(
    upload: Upload, importer_user: User
) -> None:
    content = csv_bytes(HEADER, SAKURA, TAKAHASHI, SAKURA.replace("ブティックさくら", "さくら本店"))
    job = dry_run(upload(content))
    assert counts(job) == {"created": 1, "updated": 0, "unchanged": 0, "rejected": 2}
    reasons = messages_by_row(job)
    assert set(reasons) == {2, 4}
    assert "C001" in reasons[2] and "2, 4" in reasons[2]
    run_import(job, importer_user)
    assert list(Company.objects.values_list("external_id", flat=True)) == ["C002"]


def test_bad_rows_are_reported_while_the_good_rows_are_stored(upload: Upload, importer_user: User) -> None:
    content = csv_bytes(
        "得意先コード,会社名,郵便番号,掛け率",
        "C001,良い店,150-0001,60%",
        "C002,郵便番号の悪い店,15-1,60%",
        "C003,,150-0001,60%",
        ",名無しコード,150-0001,",
        "C005,掛け率の悪い店,150-0001,300%",
        "C006,もう一つの良い店,,0.7",
    )
    job = import_file(upload, importer_user, content)
    assert job.status == ImportStatus.FINISHED
    assert counts(job) == {"created": 2, "updated": 0, "unchanged": 0, "rejected": 4}
    reasons = messages_by_row(job)
    assert reasons[3].startswith("郵便番号:")
    assert "会社名" in reasons[4]
    assert "得意先コード" in reasons[5]
    assert reasons[6].startswith("掛け率:")
    stored = dict(Company.objects.values_list("external_id", "price_rate"))
    assert {key: str(rate) for key, rate in stored.items()} == {"C001": "0.600", "C006": "0.700"}


def test_the_mapping_is_remembered_for_the_same_file_layout(upload: Upload, importer_user: User) -> None:
    header = "顧客番号,店名,備考"
    first = upload(csv_bytes(header, "A1,ショップA,メモ"))
    assert first.mapping_remembered is False
    # The user maps 店名 to the company name by hand (it was not guessed) and leaves 備考 out.
    dry_run(first, mapping=["external_id", "name", ""])
    assert ImportMapping.objects.get().mapping == ["external_id", "name", ""]

    second = upload(csv_bytes("顧客番号 ,店名,備考", "A2,ショップB,"), name="next-month.csv")
    assert second.mapping_remembered is True
    assert second.mapping == ["external_id", "name", ""]
    other_layout = upload(csv_bytes("顧客番号,店名", "A3,ショップC"))
    assert other_layout.mapping_remembered is False


def test_a_mapping_without_the_key_column_is_refused(upload: Upload) -> None:
    from tokui.core.errors import DomainError

    job = upload(csv_bytes(HEADER, SAKURA))
    with pytest.raises(DomainError) as raised:
        dry_run(job, mapping=["", "name", "", "", "", "", ""])
    assert "得意先コード" in raised.value.message or "識別" in raised.value.message


def test_a_sales_rep_imports_only_the_companies_they_look_after(upload: Upload) -> None:
    rep = UserFactory(username="sato", role=Role.SALES_REP)
    other = UserFactory(username="suzuki", role=Role.SALES_REP)
    CompanyFactory(source="import", external_id="C001", name="佐藤さんの店", assigned_rep=rep)
    CompanyFactory(source="import", external_id="C002", name="鈴木さんの店", assigned_rep=other)
    content = csv_bytes(
        "得意先コード,会社名,電話番号", "C001,佐藤さんの店,03-1", "C002,鈴木さんの店,03-2", "C003,新しい店,03-3"
    )
    job = run_import(dry_run(upload(content, user=rep)), rep)
    assert counts(job) == {"created": 1, "updated": 1, "unchanged": 0, "rejected": 1}
    assert "別の営業担当" in messages_by_row(job)[3]
    assert Company.objects.get(external_id="C003").assigned_rep == rep
    assert Company.objects.get(external_id="C002").phone == ""
