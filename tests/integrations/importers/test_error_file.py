import codecs
import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from tests.integrations.importers.conftest import Upload, csv_bytes, dry_run, run_import
from tokui.accounts.models import User
from tokui.core.spreadsheets import cell_neutralise as neutralise

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+81-3-1234", "'+81-3-1234"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("株式会社さくら", "株式会社さくら"),
    ],
)
def test_cells_that_would_run_as_a_formula_are_neutralised(cell: str, safe: str) -> None:
    assert neutralise(cell) == safe


def test_the_error_file_lists_rejected_rows_with_reasons_for_excel(
    upload: Upload, importer_user: User, client: Client
) -> None:
    content = csv_bytes(
        "得意先コード,会社名,郵便番号",
        "C001,良い店,150-0001",
        "C002,=cmd|' /C calc'!A0,123",
        "C003,@悪い店,abc",
    )
    job = run_import(dry_run(upload(content, name="顧客一覧.csv")), importer_user)
    client.force_login(importer_user)
    response = client.get(reverse("integrations:import_errors", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)  # type: ignore[arg-type]
    assert body.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["得意先コード", "会社名", "郵便番号", "元の行番号", "エラー内容"]
    assert rows[1][:4] == ["C002", "'=cmd|' /C calc'!A0", "123", "3"]
    assert rows[1][4].startswith("郵便番号")
    assert rows[2][:4] == ["C003", "'@悪い店", "abc", "4"]
    assert len(rows) == 3


def test_a_fixed_error_file_uploads_again_with_the_remembered_mapping(upload: Upload, importer_user: User) -> None:
    job = run_import(dry_run(upload(csv_bytes("顧客番号,店名", "A1,"))), importer_user)
    del job
    fixed = csv_bytes("顧客番号,店名,元の行番号,エラー内容", "A1,直した店,2,店名が空です")
    again = upload(fixed, name="顧客一覧_errors.csv")
    assert again.mapping_remembered
    assert again.mapping == ["external_id", "name", "", ""]
