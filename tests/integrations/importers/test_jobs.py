"""The background work: an import resumes after a crash with right counts, stops when cancelled, and fails clearly."""

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests.integrations.importers.conftest import Upload, counts, csv_bytes, dry_run
from tokui.accounts.models import User
from tokui.core.models import AuditLogEntry
from tokui.customers.models import Company
from tokui.integrations import services
from tokui.integrations.enums import ImportPhase, ImportStatus
from tokui.integrations.importers import runner
from tokui.integrations.importers.companies import CompanyImporter
from tokui.integrations.models import ImportJob

pytestmark = pytest.mark.django_db


def _companies(count: int) -> bytes:
    return csv_bytes("得意先コード,会社名", *(f"C{n:04d},会社{n}" for n in range(count)))


class WorkerKilledError(BaseException):
    """Stands for a worker process that dies: nothing in the import catches it."""


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "BATCH_ROWS", 10)


def _fail_on_call(monkeypatch: pytest.MonkeyPatch, call: int, error: BaseException) -> None:
    original = CompanyImporter.apply
    calls = {"n": 0}

    def apply(self: CompanyImporter, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == call:
            raise error
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CompanyImporter, "apply", apply)


@pytest.mark.usefixtures("small_batches")
def test_an_import_whose_worker_died_resumes_after_the_last_batch_with_right_counts(
    upload: Upload, importer_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = dry_run(upload(_companies(35)))
    _fail_on_call(monkeypatch, 3, WorkerKilledError())
    monkeypatch.setattr(services.imports, "_enqueue", lambda job: None)
    services.import_job_start(job=job, user=importer_user)
    with pytest.raises(WorkerKilledError):
        services.import_job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.rows_done, Company.objects.count()) == (ImportStatus.RUNNING, 20, 20)

    monkeypatch.undo()
    monkeypatch.setattr(runner, "BATCH_ROWS", 10)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    assert services.import_jobs_resume_stale() == 1
    job.refresh_from_db()
    assert job.status == ImportStatus.FINISHED
    assert counts(job) == {"created": 35, "updated": 0, "unchanged": 0, "rejected": 0}
    assert Company.objects.count() == 35


@pytest.mark.usefixtures("small_batches")
def test_a_running_import_is_not_taken_over_by_a_second_worker(upload: Upload, importer_user: User) -> None:
    job = dry_run(upload(_companies(5)))
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.RUNNING, phase=ImportPhase.IMPORT, run_token="other-worker", heartbeat_at=timezone.now()
    )
    services.import_job_execute(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, Company.objects.count()) == (ImportStatus.RUNNING, 0)


@pytest.mark.usefixtures("small_batches")
def test_cancelling_stops_the_import_after_the_batch_it_is_working_on(
    upload: Upload, importer_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = dry_run(upload(_companies(35)))
    batches = runner.batches

    def cancelled_after_the_first_batch(*args: Any) -> Any:
        for number, batch in enumerate(batches(*args)):
            if number == 1:  # the user presses "Cancel" while the second batch is being read
                services.import_job_cancel(job=job)
            yield batch

    monkeypatch.setattr(runner, "batches", cancelled_after_the_first_batch)
    services.import_job_start(job=job, user=importer_user)
    job.refresh_from_db()
    assert job.status == ImportStatus.CANCELLED
    # The batch during which the cancellation came is rolled back with the counts: what is stored is what is counted.
    assert job.rows_done == Company.objects.count() == 10
    assert AuditLogEntry.objects.filter(changes__event="import_cancelled").exists()


@pytest.mark.usefixtures("small_batches")
def test_an_unexpected_error_fails_the_job_with_a_message_and_keeps_the_earlier_batches(
    upload: Upload, importer_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = dry_run(upload(_companies(35)))
    _fail_on_call(monkeypatch, 2, RuntimeError("boom"))
    services.import_job_start(job=job, user=importer_user)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "10" in job.error_message
    assert Company.objects.count() == 10


def test_starting_the_import_is_written_to_the_audit_log(upload: Upload, importer_user: User) -> None:
    job = dry_run(upload(_companies(3)))
    services.import_job_start(job=job, user=importer_user)
    started = AuditLogEntry.objects.get(changes__event="import_started")
    assert started.actor == importer_user
    assert started.target_type == "integrations.ImportJob" and started.target_id == str(job.pk)
    assert started.changes["rows"] == 3 and started.changes["dry_run"]["created"] == 3
    finished = AuditLogEntry.objects.get(changes__event="import_finished")
    assert finished.changes["created"] == 3


def test_an_import_cannot_start_before_its_dry_run_or_twice(upload: Upload, importer_user: User) -> None:
    from tokui.core.errors import DomainError

    job = upload(_companies(3))
    with pytest.raises(DomainError):
        services.import_job_start(job=job, user=importer_user)
    job = dry_run(job)
    services.import_job_start(job=job, user=importer_user)
    with pytest.raises(DomainError):
        services.import_job_start(job=job, user=importer_user)
    assert Company.objects.count() == 3
