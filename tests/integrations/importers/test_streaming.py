"""Large files stream in constant memory: the file is never read whole, keys live on disk, rows go in batches."""

import csv
import tracemalloc
from pathlib import Path

import pytest
from django.core.files import File

from tests.factories import CompanyFactory, ProductFactory
from tokui.accounts.models import User
from tokui.integrations import services
from tokui.integrations.importers import importers
from tokui.integrations.importers.keys import KeyIndex
from tokui.integrations.importers.reading import inspect_file, open_table
from tokui.integrations.importers.runner import batches, column_map

MB = 1024 * 1024
HEADER = ["受注番号", "受注日", "得意先コード", "品番", "商品名", "数量", "単価", "受注区分"]


def _order_lines(path: Path, rows: int, prefix: str = "A") -> Path:
    with path.open("w", encoding="cp932", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow(
                [
                    f"{prefix}{n // 3:08d}",
                    "2026/11/25",
                    f"C{n // 3 % 50:03d}",
                    f"SKU-{n % 7}",
                    "リネンシャツ髙",
                    2,
                    4900,
                    "FAX",
                ]
            )
    return path


def test_a_200000_row_file_is_read_checked_and_batched_in_constant_memory(tmp_path: Path) -> None:
    path = _order_lines(tmp_path / "orders.csv", 200_000)
    assert path.stat().st_size > 10 * MB
    importer = importers.get("orders")
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            layout = inspect_file(stream, name="orders.csv")
            columns = column_map(
                [
                    "order_number",
                    "placed_at",
                    "company_code",
                    "sku",
                    "product_name",
                    "quantity",
                    "unit_price",
                    "channel",
                ]
            )
            index = KeyIndex(tmp_path)
            with open_table(stream, file_format=layout.file_format, encoding=layout.encoding) as table:
                for _read in index.scan(table.rows(), importer, columns):
                    pass
            index.find_problems(grouped=True, max_group=2000)
            rows = 0
            with open_table(stream, file_format=layout.file_format, encoding=layout.encoding) as table:
                for batch in batches(table.rows(), importer, columns):
                    parsed = [importer.parse(row, columns) for row in batch]
                    index.problems_for([item.values["order_number"] for item in parsed], grouped=True, max_group=2000)
                    assert not any(item.errors for item in parsed)
                    rows += len(batch)
            index.close()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert layout.encoding == "cp932"
    assert rows == index.rows == 200_000
    # The file is over 10 MB and its 66,667 order numbers alone would take several MB in a Python set.
    assert peak < 4 * MB, f"peak {peak / MB:.1f} MB"


@pytest.mark.django_db
def test_an_import_uses_the_same_memory_for_ten_times_the_rows(tmp_path: Path, importer_user: User) -> None:
    for n in range(50):
        CompanyFactory(source="import", external_id=f"C{n:03d}", code=f"C{n:03d}")
    for n in range(7):
        ProductFactory(sku=f"SKU-{n}")

    def peak_of_import(rows: int) -> int:
        path = _order_lines(tmp_path / f"orders-{rows}.csv", rows, prefix=f"R{rows}-")
        with path.open("rb") as handle:
            job = services.import_job_create(
                user=importer_user, upload=File(handle, name=path.name), object_type="orders"
            )
        tracemalloc.start()
        try:
            services.import_job_set_mapping(job=job, mapping=job.mapping)
            services.import_job_start(job=job, user=importer_user)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        job.refresh_from_db()
        assert (job.created_count, job.updated_count, job.unchanged_count, job.rejected_count) == (rows, 0, 0, 0), (
            job.created_count,
            job.updated_count,
            job.unchanged_count,
            job.rejected_count,
            list(job.row_results.filter(phase="import").values_list("message", flat=True)[:3]),
        )
        return peak

    small, large = peak_of_import(1_200), peak_of_import(12_000)
    assert large < small + 1 * MB, f"{small / MB:.1f} MB for 1,200 rows, {large / MB:.1f} MB for 12,000"
