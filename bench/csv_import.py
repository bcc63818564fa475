"""CSV import benchmark: a generated 1,000,000-row file of order lines through the import services the UI uses.

Prints name=value lines with the data size. Run through `make bench` (PostgreSQL when reachable). The run is bounded:
an import still running after TOKUI_BENCH_IMPORT_SECONDS (600 by default) is cancelled and the figures are for the
rows done, which the output says.

What is measured:
- import of 1,000,000 order lines (333,334 orders of 3 lines, FAX / phone / sales rep, 1,000 customers, 200 SKUs):
  rows per second, and the peak resident memory of the process while it runs (sampled every 0.2 s) next to the
  memory before it started;
- the dry run and the re-import (every row unchanged) of a 100,000-row slice of the same layout.
The 1,000,000-row import starts from a job marked as checked: its dry run would take as long as the import itself,
and is measured on the 100,000-row file instead.
"""

from __future__ import annotations

import csv
import os
import tempfile
import threading
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokui.settings")
django.setup()

from django.core.files import File  # noqa: E402
from django.db import connection  # noqa: E402

from tokui.accounts.enums import Role  # noqa: E402
from tokui.accounts.models import User  # noqa: E402
from tokui.catalog.models import Product  # noqa: E402
from tokui.customers.models import Company  # noqa: E402
from tokui.integrations import services  # noqa: E402
from tokui.integrations.enums import ImportStatus  # noqa: E402
from tokui.integrations.models import ImportJob  # noqa: E402

ROWS = int(os.environ.get("TOKUI_BENCH_IMPORT_ROWS", "1000000"))
SLICE_ROWS = min(100_000, ROWS)
LINES_PER_ORDER = 3
COMPANIES = 1_000
SKUS = 200
TIME_LIMIT = float(os.environ.get("TOKUI_BENCH_IMPORT_SECONDS", "600"))
HEADER = ["受注番号", "受注日", "得意先コード", "品番", "商品名", "数量", "単価", "受注区分"]
CHANNELS = ["FAX", "電話", "営業"]


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


class PeakMemory:
    """Samples the resident memory of this process in a thread; ``peak`` is the largest value seen."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, rss_mb())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def set_up_catalog() -> User:
    user, _ = User.objects.get_or_create(username="bench-importer", defaults={"role": Role.ADMIN})
    Company.objects.bulk_create(
        [
            Company(source="bench", external_id=f"C{n:05d}", code=f"C{n:05d}", name=f"ベンチ商店{n}")
            for n in range(COMPANIES)
        ],
        ignore_conflicts=True,
    )
    Product.objects.bulk_create(
        [Product(sku=f"BENCH-{n:04d}", name=f"リネンシャツ {n}", price=4900) for n in range(SKUS)],
        ignore_conflicts=True,
    )
    return user


def write_order_lines(path: Path, rows: int, prefix: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(rows):
            order = n // LINES_PER_ORDER
            writer.writerow(
                [
                    f"{prefix}{order:07d}",
                    f"2026/{order % 12 + 1:02d}/{order % 28 + 1:02d}",
                    f"C{order % COMPANIES:05d}",
                    f"BENCH-{n % SKUS:04d}",
                    f"リネンシャツ {n % SKUS}",
                    n % 5 + 1,
                    4900,
                    CHANNELS[order % 3],
                ]
            )


def upload(path: Path, user: User) -> ImportJob:
    with path.open("rb") as handle:
        job = services.import_job_create(
            user=user, upload=File(handle, name=path.name), object_type="orders", source="bench"
        )
    return services.import_job_set_mapping(job=job, mapping=job.mapping, options={"channel": "sales_rep"})


def bounded_import(job: ImportJob, user: User) -> tuple[float, PeakMemory]:
    """Start the import and run it here (the benchmark's task backend queues nothing); cancel it at the limit."""
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.CHECKED)
    job.refresh_from_db()
    services.import_job_start(job=job, user=user)
    timer = threading.Timer(TIME_LIMIT, lambda: ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True))
    timer.daemon = True
    start = time.perf_counter()
    with PeakMemory() as memory:
        timer.start()
        services.import_job_execute(job_id=job.pk)
        timer.cancel()
    return time.perf_counter() - start, memory


def main() -> None:
    print(f"database={connection.vendor}")
    user = set_up_catalog()
    with tempfile.TemporaryDirectory(prefix="tokui-bench-import-") as directory:
        path = Path(directory) / "order_lines_1m.csv"
        start = time.perf_counter()
        run = f"{int(time.time()) % 100000:05d}"  # a fresh set of order numbers on every run
        write_order_lines(path, ROWS, prefix=f"M{run}-")
        print(f"generate_seconds={time.perf_counter() - start:.1f} file_mb={path.stat().st_size / 1024 / 1024:.0f}")

        job = upload(path, user)
        before = rss_mb()
        seconds, memory = bounded_import(job, user)
        job.refresh_from_db()
        done = job.rows_done
        orders = -(-job.created_count // LINES_PER_ORDER)
        print(f"rows={ROWS} rows_imported={done} orders={orders} status={job.status}")
        if job.status != ImportStatus.FINISHED:
            print(f"note=stopped after {TIME_LIMIT:.0f} s; the figures are for the {done} rows done")
        print(f"import_rows_per_second={done / seconds:.0f} import_seconds={seconds:.1f}")
        print(f"import_peak_memory_mb={memory.peak:.0f} rss_before_import_mb={before:.0f}")
        print(f"rejected={job.rejected_count} created={job.created_count}")

        slice_path = Path(directory) / "order_lines_100k.csv"
        write_order_lines(slice_path, SLICE_ROWS, prefix=f"S{run}-")
        start = time.perf_counter()
        checked = upload(slice_path, user)
        services.import_job_dry_run(job_id=checked.pk)
        seconds = time.perf_counter() - start
        checked.refresh_from_db()
        print(
            f"dry_run_rows_per_second={SLICE_ROWS / seconds:.0f} rows={SLICE_ROWS} would_create={checked.created_count}"
        )
        services.import_job_start(job=checked, user=user)
        services.import_job_execute(job_id=checked.pk)
        again = upload(slice_path, user)
        ImportJob.objects.filter(pk=again.pk).update(status=ImportStatus.CHECKED)
        again.refresh_from_db()
        services.import_job_start(job=again, user=user)
        start = time.perf_counter()
        services.import_job_execute(job_id=again.pk)
        seconds = time.perf_counter() - start
        again.refresh_from_db()
        print(
            f"reimport_rows_per_second={SLICE_ROWS / seconds:.0f} rows={SLICE_ROWS} "
            f"unchanged={again.unchanged_count} changed={again.created_count + again.updated_count}"
        )


if __name__ == "__main__":
    main()
