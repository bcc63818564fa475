"""Running a dry run or an import over a stored file, in two streaming passes and batches of about 1,000 rows.

Pass 1 reads only the keys (duplicates, the number of rows). Pass 2 hands each batch to the importer inside a
transaction; the job's progress and counts are updated in the same transaction, so they always match what is
stored, and a worker that dies resumes after the last committed batch. A dry run runs the very same code and rolls
each batch back: what it predicts is what the import does (unless the data changes in between).
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import IO

from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tokui.accounts.models import User
from tokui.accounts.selectors import user_sees_all_accounts
from tokui.core.enums import AuditAction
from tokui.core.services import audit_record
from tokui.integrations.enums import ImportPhase, ImportStatus, RowOutcome
from tokui.integrations.importers.base import ColumnMap, Importer, RunContext, importers
from tokui.integrations.importers.keys import KeyIndex
from tokui.integrations.importers.orders import MAX_ORDER_LINES
from tokui.integrations.importers.reading import FileProblemError, SourceRow, open_table
from tokui.integrations.models import ImportJob, ImportRowResult
from tokui.integrations.types import RowResult

logger = logging.getLogger(__name__)

BATCH_ROWS = 1000
STALE_AFTER_SECONDS = 600


class _InterruptedError(Exception):
    """The job was cancelled, or another worker took it over: stop without touching it further."""


def column_map(mapping: list[str]) -> ColumnMap:
    return {field: index for index, field in enumerate(mapping) if field}


@contextmanager
def stored_file(name: str) -> Iterator[IO[bytes]]:
    """The uploaded file from the media store, as a binary stream (never read whole)."""
    handle = default_storage.open(name, "rb")
    try:
        yield getattr(handle, "file", handle)
    finally:
        handle.close()


def batches(rows: Iterator[SourceRow], importer: Importer, columns: ColumnMap) -> Iterator[list[SourceRow]]:
    """Rows in batches of about ``BATCH_ROWS``; the lines of one order are never split between two batches."""
    batch: list[SourceRow] = []
    for row in rows:
        if len(batch) >= BATCH_ROWS:
            ends_group = not importer.groups_rows or len(batch) >= BATCH_ROWS + MAX_ORDER_LINES
            if ends_group or importer.key_of(row, columns) != importer.key_of(batch[-1], columns):
                yield batch
                batch = []
        batch.append(row)
    if batch:
        yield batch


def _claim(job_id: int, *, statuses: tuple[str, ...]) -> str | None:
    """Take the job for this worker (no check-then-act); ``None`` when another worker has it or it is done."""
    now = timezone.now()
    token = uuid.uuid4().hex
    stale = now - dt.timedelta(seconds=STALE_AFTER_SECONDS)
    claimed = (
        ImportJob.objects.filter(pk=job_id, status__in=statuses)
        .filter(Q(run_token="") | Q(heartbeat_at__lt=stale))
        .update(run_token=token, heartbeat_at=now)
    )
    return token if claimed else None


def _touch(job: ImportJob, token: str, **changes: object) -> None:
    touched = ImportJob.objects.filter(pk=job.pk, run_token=token, cancel_requested=False).update(
        heartbeat_at=timezone.now(), **changes
    )
    if not touched:
        raise _InterruptedError


def _store(job: ImportJob, phase: str, results: list[RowResult]) -> None:
    """Keep the rows worth showing: a dry run lists what would change and why; an import keeps only the rejected
    rows (for the error file). Unchanged rows are only counted.

    One multi-row INSERT per batch without building model instances: in a dry run of a large file this is a row
    per row of the file, and the ORM's per-instance cost would be a quarter of the whole run.
    """
    keep = [
        result
        for result in results
        if result.outcome == RowOutcome.REJECTED
        or (phase == ImportPhase.DRY_RUN and result.outcome != RowOutcome.UNCHANGED)
    ]
    if not keep:
        return
    meta = ImportRowResult._meta
    values_field = meta.get_field("values")
    names = ["job_id", "phase", "row_number", "outcome", "key", "message", "values"]
    columns = ", ".join(connection.ops.quote_name(name) for name in names)
    placeholders = ", ".join(["%s"] * len(names))
    sql = f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) VALUES ({placeholders})"
    empty = values_field.get_db_prep_save([], connection)
    params = [
        (
            job.pk,
            phase,
            result.row_number,
            result.outcome,
            result.key[:128],
            result.message,
            values_field.get_db_prep_save(list(result.cells), connection) if result.cells is not None else empty,
        )
        for result in keep
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _apply_batch(
    job: ImportJob,
    token: str,
    importer: Importer,
    batch: list[SourceRow],
    columns: ColumnMap,
    context: RunContext,
    phase: str,
) -> None:
    with transaction.atomic():
        with transaction.atomic():
            results = importer.apply(batch, columns, context)
            if phase == ImportPhase.DRY_RUN:
                transaction.set_rollback(True)
        _store(job, phase, results)
        counts = Counter(result.outcome for result in results)
        _touch(
            job,
            token,
            rows_done=F("rows_done") + len(batch),
            created_count=F("created_count") + counts[RowOutcome.CREATED],
            updated_count=F("updated_count") + counts[RowOutcome.UPDATED],
            unchanged_count=F("unchanged_count") + counts[RowOutcome.UNCHANGED],
            rejected_count=F("rejected_count") + counts[RowOutcome.REJECTED],
        )


def _context(job: ImportJob) -> RunContext:
    user: User | None = job.created_by
    return RunContext(
        source=job.source,
        user=user,
        sees_all_accounts=user is None or user_sees_all_accounts(user=user),
        options=job.options,
        key_problems=lambda keys: {},
    )


def _run(job: ImportJob, token: str, phase: str) -> None:
    importer = importers.get(job.object_type)
    columns = column_map(job.mapping)
    context = _context(job)
    with tempfile.TemporaryDirectory(prefix="tokui-import-") as directory:
        index = KeyIndex(Path(directory))
        try:
            with (
                stored_file(str(job.file.name)) as stream,
                open_table(
                    stream, file_format=job.file_format, encoding=job.encoding, delimiter=job.delimiter
                ) as table,
            ):
                for _read in index.scan(table.rows(), importer, columns):
                    _touch(job, token)
            index.find_problems(grouped=importer.groups_rows, max_group=MAX_ORDER_LINES)
            _touch(job, token, rows_total=index.rows)
            context.key_problems = lambda keys: index.problems_for(
                keys, grouped=importer.groups_rows, max_group=MAX_ORDER_LINES
            )
            with (
                stored_file(str(job.file.name)) as stream,
                open_table(
                    stream, file_format=job.file_format, encoding=job.encoding, delimiter=job.delimiter
                ) as table,
            ):
                rows = islice(table.rows(), job.rows_done, None)
                for batch in batches(rows, importer, columns):
                    _apply_batch(job, token, importer, batch, columns, context, phase)
        finally:
            index.close()


def _release(job: ImportJob, token: str, **changes: object) -> bool:
    return bool(ImportJob.objects.filter(pk=job.pk, run_token=token).update(run_token="", **changes))


def job_run(*, job_id: int, phase: str) -> None:
    """Run the dry run or the import of a job, if no other worker is running it. Safe to call twice."""
    statuses = (ImportStatus.CHECKING,) if phase == ImportPhase.DRY_RUN else (ImportStatus.QUEUED, ImportStatus.RUNNING)
    token = _claim(job_id, statuses=statuses)
    if token is None:
        return
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if phase == ImportPhase.DRY_RUN or job.status == ImportStatus.QUEUED:
        # A dry run always starts over; an import resumes from the last committed batch.
        ImportRowResult.objects.filter(job=job, phase=phase).delete()
        ImportJob.objects.filter(pk=job.pk).update(
            rows_done=0, created_count=0, updated_count=0, unchanged_count=0, rejected_count=0, error_message=""
        )
        if phase == ImportPhase.IMPORT:
            ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, started_at=timezone.now())
        job.refresh_from_db()
    with translation.override(job.language):
        try:
            _run(job, token, phase)
        except _InterruptedError:
            _interrupted(job, token, phase)
            return
        except FileProblemError as problem:
            _release(job, token, status=ImportStatus.FAILED, error_message=problem.message)
            return
        except Exception:
            logger.exception("import job %s stopped", job.pk)
            job.refresh_from_db()
            _release(
                job,
                token,
                status=ImportStatus.FAILED,
                error_message=_(
                    "An unexpected error stopped the work after %(rows)s rows. The rows before it are kept; "
                    "ask an administrator to look at the server log."
                )
                % {"rows": f"{job.rows_done:,}"},
            )
            return
        _finished(job, token, phase)


def _interrupted(job: ImportJob, token: str, phase: str) -> None:
    job.refresh_from_db()
    if not job.cancel_requested:
        return  # another worker took the job over; it carries on
    if phase == ImportPhase.DRY_RUN:
        _release(job, token, status=ImportStatus.MAPPING, cancel_requested=False)
    else:
        _release(job, token, status=ImportStatus.CANCELLED, finished_at=timezone.now())
        _audit(job, event="import_cancelled")


def _finished(job: ImportJob, token: str, phase: str) -> None:
    job.refresh_from_db()
    counts = {
        "rows": job.rows_done,
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count,
        "rejected": job.rejected_count,
    }
    if phase == ImportPhase.DRY_RUN:
        _release(job, token, status=ImportStatus.CHECKED, dry_run_summary=counts)
        return
    if _release(job, token, status=ImportStatus.FINISHED, finished_at=timezone.now()):
        _audit(job, event="import_finished", **counts)


def _audit(job: ImportJob, *, event: str, **details: object) -> None:
    audit_record(
        actor=job.created_by,
        action=AuditAction.OTHER,
        target=job,
        changes={"event": event, "file": job.original_name, "type": job.object_type, **details},
    )
