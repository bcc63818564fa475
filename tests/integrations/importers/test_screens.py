"""The import screens: upload → mapping → dry run → import → finished, progress polling and who may do what."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.factories import CompanyFactory, ProductFactory, UserFactory
from tests.integrations.importers.conftest import Upload, csv_bytes, dry_run
from tokui.accounts.enums import Role
from tokui.accounts.models import User
from tokui.commerce.models import Order
from tokui.core.models import AuditLogEntry
from tokui.integrations.enums import ImportStatus
from tokui.integrations.models import ImportJob

pytestmark = pytest.mark.django_db

ORDERS = csv_bytes(
    "受注番号,受注日,得意先コード,品番,商品名,数量,単価,受注区分",
    "F-1001,2026/11/25,C001,SHIRT-01,リネンシャツ,2,4900,FAX",
    "F-1001,2026/11/25,C001,PANTS-01,ワイドパンツ,1,6900,FAX",
    "T-2001,2026/11/26,C001,SHIRT-01,リネンシャツ,5,4500,電話",
    "T-2002,2026/11/26,C999,SHIRT-01,リネンシャツ,1,4500,電話",
    encoding="cp932",
)


def _selected(body: str, name: str) -> str:
    select = re.search(rf'<select[^>]*name="{name}".*?</select>', body, re.S)
    assert select is not None, name
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(0))
    return chosen.group(1) if chosen else ""


def test_an_offline_order_file_goes_from_upload_through_dry_run_to_finished(
    marketer_client: Client, marketer: User
) -> None:
    CompanyFactory(source="import", external_id="C001", code="C001")
    ProductFactory(sku="SHIRT-01")
    ProductFactory(sku="PANTS-01")

    listing = marketer_client.get(reverse("integrations:import_list"))
    assert listing.status_code == 200
    assert 'data-testid="upload-form"' in listing.content.decode()

    uploaded = marketer_client.post(
        reverse("integrations:import_upload"),
        {"file": SimpleUploadedFile("受注_2026年11月.csv", ORDERS), "object_type": "orders", "source": "import"},
    )
    job = ImportJob.objects.get()
    assert uploaded.status_code == 302 and uploaded["Location"] == reverse("integrations:import_mapping", args=[job.pk])

    mapping = marketer_client.get(uploaded["Location"]).content.decode()
    assert "Shift_JIS (CP932)" in mapping
    assert "F-1001 / F-1001 / T-2001" in mapping  # sample values of the column
    assert _selected(mapping, "column_0") == "order_number"
    assert _selected(mapping, "column_7") == "channel"
    assert _selected(mapping, "channel") == "sales_rep"

    form = {f"column_{index}": key for index, key in enumerate(job.mapping)} | {"channel": "fax"}
    checked = marketer_client.post(reverse("integrations:import_mapping", args=[job.pk]), form)
    assert checked["Location"] == reverse("integrations:import_detail", args=[job.pk])
    dry_page = marketer_client.get(checked["Location"]).content.decode()
    assert Order.objects.count() == 0
    assert 'data-testid="count-created">3<' in dry_page
    assert 'data-testid="count-rejected">1<' in dry_page
    assert "C999" in dry_page
    assert 'data-testid="error-file"' in dry_page

    started = marketer_client.post(reverse("integrations:import_run", args=[job.pk]))
    assert started.status_code == 302
    finished = marketer_client.get(started["Location"]).content.decode()
    job.refresh_from_db()
    assert job.status == ImportStatus.FINISHED
    assert 'data-testid="count-created">3<' in finished
    assert reverse("integrations:import_errors", args=[job.pk]) in finished
    assert Order.objects.count() == 2
    assert AuditLogEntry.objects.filter(actor=marketer, changes__event="import_started").exists()

    listing = marketer_client.get(reverse("integrations:import_list")).content.decode()
    assert "受注_2026年11月.csv" in listing


def test_the_sidebar_links_to_the_import_screen(marketer_client: Client) -> None:
    body = marketer_client.get(reverse("web:dashboard")).content.decode()
    assert f'href="{reverse("integrations:import_list")}"' in body


def test_an_unreadable_file_is_refused_on_the_upload_form_with_the_reason(marketer_client: Client) -> None:
    broken = csv_bytes("得意先コード,会社名", "C001,さくら") + b"C002,\xff\xfe\r\n"
    response = marketer_client.post(
        reverse("integrations:import_upload"),
        {"file": SimpleUploadedFile("顧客.csv", broken), "object_type": "companies", "source": "import"},
    )
    assert response.status_code == 400
    assert "3 行目" in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_a_mapping_without_the_required_columns_says_what_is_missing(marketer_client: Client, upload: Upload) -> None:
    job = upload(ORDERS, object_type="orders", user=UserFactory(username="marketer"))
    form = {f"column_{index}": "" for index in range(len(job.header))} | {"channel": "fax"}
    response = marketer_client.post(reverse("integrations:import_mapping", args=[job.pk]), form)
    assert response.status_code == 400
    assert 'data-testid="mapping-error"' in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportStatus.MAPPING


def test_the_progress_bar_is_polled_while_running_and_the_page_reloads_when_done(
    marketer_client: Client, upload: Upload
) -> None:
    job = upload(csv_bytes("得意先コード,会社名", "C001,さくら"), user=UserFactory(username="marketer"))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, phase="import", rows_total=200, rows_done=80
    )
    page = marketer_client.get(reverse("integrations:import_detail", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in page and 'data-progress="40"' in page
    assert "integrations/imports.js" in page
    poll = marketer_client.get(reverse("integrations:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and 'data-progress="40"' in poll.content.decode()
    assert "<html" not in poll.content.decode()

    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.FINISHED)
    done = marketer_client.get(reverse("integrations:import_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert done["HX-Redirect"] == reverse("integrations:import_detail", args=[job.pk])


def test_dry_run_rows_are_filtered_and_paginated_with_htmx(marketer_client: Client, upload: Upload) -> None:
    lines = [f"C{n:03d},会社{n}" for n in range(60)] + [",名無し"]
    job = dry_run(upload(csv_bytes("得意先コード,会社名", *lines), user=UserFactory(username="marketer")))
    url = reverse("integrations:import_detail", args=[job.pk])
    first = marketer_client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="import-rows").content.decode()
    assert "<html" not in first and "C049" in first and "C050" not in first
    second = marketer_client.get(url, {"page": 2}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="import-rows")
    assert "C050" in second.content.decode()
    rejected = marketer_client.get(url, {"outcome": "rejected"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="import-rows")
    assert "C001" not in rejected.content.decode() and "62" in rejected.content.decode()


def test_a_viewer_sees_the_imports_but_may_not_import(client: Client, upload: Upload) -> None:
    job = dry_run(upload(csv_bytes("得意先コード,会社名", "C001,さくら")))
    client.force_login(UserFactory(username="viewer", role=Role.VIEWER))
    listing = client.get(reverse("integrations:import_list"))
    assert listing.status_code == 200 and 'data-testid="upload-form"' not in listing.content.decode()
    upload_attempt = client.post(
        reverse("integrations:import_upload"),
        {"file": SimpleUploadedFile("a.csv", b"a,b\r\n1,2\r\n"), "object_type": "companies"},
    )
    assert upload_attempt.status_code == 403
    assert client.get(reverse("integrations:import_mapping", args=[job.pk])).status_code == 403
    assert client.post(reverse("integrations:import_run", args=[job.pk])).status_code == 403
    assert client.post(reverse("integrations:import_cancel", args=[job.pk])).status_code == 403
    job.refresh_from_db()
    assert job.status == ImportStatus.CHECKED


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MARKETER, Role.SALES_REP])
def test_admins_marketers_and_sales_reps_may_upload(client: Client, role: str) -> None:
    client.force_login(UserFactory(username=f"user-{role}", role=role))
    response = client.post(
        reverse("integrations:import_upload"),
        {"file": SimpleUploadedFile("a.csv", csv_bytes("得意先コード,会社名", "C1,A")), "object_type": "companies"},
    )
    assert response.status_code == 302


def test_a_sales_rep_sees_only_their_own_imports(client: Client, upload: Upload) -> None:
    rep = UserFactory(username="sato", role=Role.SALES_REP)
    own = upload(csv_bytes("得意先コード,会社名", "C1,A"), name="mine.csv", user=rep)
    other = upload(csv_bytes("得意先コード,会社名", "C2,B"), name="marketing.csv")
    client.force_login(rep)
    listing = client.get(reverse("integrations:import_list")).content.decode()
    assert "mine.csv" in listing and "marketing.csv" not in listing
    assert client.get(reverse("integrations:import_detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("integrations:import_mapping", args=[own.pk])).status_code == 200
