"""Writes of the import (取込) flow: upload → column mapping → dry run → import, each step a service.

The dry run and the import run in the background (``tasks.py``) and report progress on the job row.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tokui.accounts.models import User
from tokui.commerce.enums import OrderChannel
from tokui.core.enums import AuditAction
from tokui.core.errors import DomainError, NotAllowedError
from tokui.core.services import audit_record
from tokui.integrations.enums import ACTIVE_STATUSES, ImportObjectType, ImportPhase, ImportStatus
from tokui.integrations.importers import importers
from tokui.integrations.importers.headers import guess_mapping
from tokui.integrations.importers.reading import header_hash, inspect_file
from tokui.integrations.importers.runner import STALE_AFTER_SECONDS, column_map, job_run, stored_file
from tokui.integrations.models import ImportJob, ImportMapping

MAX_FILE_BYTES = 1024 * 1024 * 1024
SOURCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_SOURCE = "import"


def user_can_import(user: User) -> bool:
    """Administrators, marketers and sales reps import; viewers only look."""
    return bool(user.is_authenticated and user.can_edit_customers)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def import_job_create(
    *, user: User, upload: File[Any], object_type: str, source: str = DEFAULT_SOURCE, language: str = "ja"
) -> ImportJob:
    """Store an uploaded file, read its layout (format, encoding, header, first rows) and propose a mapping.

    The mapping used last time for the same layout (the same header row) is proposed again; otherwise the fields
    are guessed from the header names. A file that cannot be read is refused with the reason and not kept.
    """
    if not user_can_import(user):
        raise NotAllowedError(_("Your role can look at imports but not run them."))
    if object_type not in ImportObjectType.values:
        raise DomainError(_("Choose what the file contains."), field="object_type")
    source = source.strip() or DEFAULT_SOURCE
    if not SOURCE_PATTERN.match(source):
        raise DomainError(
            _("The source name may use letters, digits, “-”, “_” and “.” only (for example: kikan or bcart)."),
            field="source",
        )
    size = upload.size or 0
    if size > MAX_FILE_BYTES:
        raise DomainError(_("The file is larger than 1 GB. Split it into smaller files."), field="file")
    if size == 0:
        raise DomainError(_("The file is empty."), field="file")
    name = (upload.name or "upload.csv").rsplit("/", 1)[-1]
    job = ImportJob(object_type=object_type, source=source, original_name=name[:255], file_size=size, created_by=user)
    job.language = language[:8]
    job.file.save(name, upload, save=False)
    try:
        with stored_file(str(job.file.name)) as stream:
            layout = inspect_file(stream, name=name)
    except DomainError:
        job.file.delete(save=False)
        raise
    job.file_format = layout.file_format
    job.encoding = layout.encoding
    job.delimiter = layout.delimiter
    job.header = layout.header
    job.header_hash = header_hash(layout.header)
    job.sample_rows = layout.sample_rows
    remembered = ImportMapping.objects.filter(object_type=object_type, header_hash=job.header_hash).first()
    if remembered is not None:
        job.mapping = _fitted(remembered.mapping, object_type, len(layout.header))
        job.options = dict(remembered.options)
        job.mapping_remembered = True
    else:
        job.mapping = guess_mapping(importers.get(object_type), layout.header)
    job.save()
    return job


def _fitted(mapping: list[str], object_type: str, width: int) -> list[str]:
    known = {field.key for field in importers.get(object_type).fields}
    fitted = [key if key in known else "" for key in mapping[:width]]
    return fitted + [""] * (width - len(fitted))


def _checked_mapping(job: ImportJob, mapping: list[str]) -> list[str]:
    importer = importers.get(job.object_type)
    if len(mapping) != len(job.header):
        raise DomainError(_("The mapping does not match the columns of the file. Reload the page."), field="mapping")
    known = {field.key for field in importer.fields}
    problems: list[str] = []
    columns_of: dict[str, list[int]] = {}
    for index, key in enumerate(mapping):
        if key and key not in known:
            raise DomainError(_("Unknown field “%(field)s”.") % {"field": key}, field="mapping")
        if key:
            columns_of.setdefault(key, []).append(index)
    for key, indexes in columns_of.items():
        if len(indexes) > 1:
            problems.append(
                _("“%(field)s” is chosen for more than one column (%(columns)s); choose it for one only.")
                % {
                    "field": importer.field(key).label,
                    "columns": ", ".join(f"{_column_letter(i)}: {job.header[i]}" for i in indexes),
                }
            )
    problems.extend(importer.mapping_problems(column_map(mapping)))
    if problems:
        raise DomainError(" ".join(problems), field="mapping")
    return mapping


def import_job_set_mapping(
    *, job: ImportJob, mapping: list[str], options: Mapping[str, str] | None = None
) -> ImportJob:
    """Save the column mapping, remember it for this file layout, and start the dry run in the background."""
    if job.status not in (ImportStatus.MAPPING, ImportStatus.CHECKED, ImportStatus.FAILED):
        raise DomainError(_("This import has already started; upload the file again to change the mapping."))
    mapping = _checked_mapping(job, list(mapping))
    clean_options: dict[str, str] = {}
    if job.object_type == ImportObjectType.ORDERS:
        channel = (options or {}).get("channel") or OrderChannel.SALES_REP
        if channel not in OrderChannel.values:
            raise DomainError(_("Choose the channel of orders without one."), field="channel")
        clean_options["channel"] = channel
    with transaction.atomic():
        moved = ImportJob.objects.filter(
            pk=job.pk, status__in=[ImportStatus.MAPPING, ImportStatus.CHECKED, ImportStatus.FAILED]
        ).update(
            mapping=mapping,
            options=clean_options,
            status=ImportStatus.CHECKING,
            phase=ImportPhase.DRY_RUN,
            run_token="",
            cancel_requested=False,
            rows_done=0,
            created_count=0,
            updated_count=0,
            unchanged_count=0,
            rejected_count=0,
            error_message="",
            dry_run_summary={},
        )
        if not moved:
            raise DomainError(_("This import has already started; upload the file again to change the mapping."))
        _remember(job, mapping, clean_options)
    job.refresh_from_db()
    _enqueue(job)
    return job


def _remember(job: ImportJob, mapping: list[str], options: dict[str, str]) -> None:
    values = {"header": job.header, "mapping": mapping, "options": options}
    try:
        with transaction.atomic():
            ImportMapping.objects.update_or_create(
                object_type=job.object_type, header_hash=job.header_hash, defaults=values
            )
    except IntegrityError:
        # Someone saved the same layout at the same moment: theirs or ours, either is a fine memory.
        pass


def _enqueue(job: ImportJob) -> None:
    from tokui.integrations import tasks  # tasks import services; import late to keep one direction

    if job.status == ImportStatus.CHECKING:
        tasks.import_job_dry_run.enqueue(job_id=job.pk)
    elif job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        tasks.import_job_execute.enqueue(job_id=job.pk)


def import_job_dry_run(*, job_id: int) -> None:
    """Run the dry run of a job: every row through the real services, rolled back; results stored per row."""
    job_run(job_id=job_id, phase=ImportPhase.DRY_RUN)


def import_job_start(*, job: ImportJob, user: User, ip_address: str | None = None) -> ImportJob:
    """Start the real import of a job whose dry run has finished. Written to the audit log."""
    if not user_can_import(user):
        raise NotAllowedError(_("Your role can look at imports but not run them."))
    # The dry run's counts stay in ``dry_run_summary``; the progress of the import starts from zero.
    started = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.CHECKED).update(
        status=ImportStatus.QUEUED,
        phase=ImportPhase.IMPORT,
        run_token="",
        cancel_requested=False,
        rows_done=0,
        created_count=0,
        updated_count=0,
        unchanged_count=0,
        rejected_count=0,
    )
    if not started:
        raise DomainError(_("This import cannot be started now: run the dry run first, or it has already started."))
    job.refresh_from_db()
    audit_record(
        actor=user,
        action=AuditAction.OTHER,
        target=job,
        changes={
            "event": "import_started",
            "file": job.original_name,
            "type": job.object_type,
            "source": job.source,
            "rows": job.rows_total,
            "dry_run": job.dry_run_summary,
        },
        ip_address=ip_address,
    )
    _enqueue(job)
    job.refresh_from_db()
    return job


def import_job_execute(*, job_id: int) -> None:
    """Run (or resume) the import of a job: batches of rows upserted through the services; counts on the job."""
    job_run(job_id=job_id, phase=ImportPhase.IMPORT)


def import_job_cancel(*, job: ImportJob) -> ImportJob:
    """Stop a dry run or an import after its current batch. Rows already imported stay imported."""
    not_started = Q(run_token="")
    if ImportJob.objects.filter(pk=job.pk, status=ImportStatus.CHECKING).filter(not_started).update(
        status=ImportStatus.MAPPING
    ) or ImportJob.objects.filter(pk=job.pk, status=ImportStatus.QUEUED).filter(not_started).update(
        status=ImportStatus.CANCELLED, finished_at=timezone.now()
    ):
        job.refresh_from_db()
        return job
    ImportJob.objects.filter(pk=job.pk, status__in=ACTIVE_STATUSES).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def import_jobs_resume_stale(*, now: dt.datetime | None = None) -> int:
    """Hand jobs whose worker went silent (killed, restarted) to a worker again; they resume where they stopped."""
    at = now or timezone.now()
    stale = at - dt.timedelta(seconds=STALE_AFTER_SECONDS)
    jobs = list(
        ImportJob.objects.filter(status__in=ACTIVE_STATUSES).filter(
            Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, updated_at__lt=stale)
        )
    )
    for job in jobs:
        _enqueue(job)
    # A job no worker has taken yet is sent again at most once per period, however long the queue is.
    ImportJob.objects.filter(pk__in=[job.pk for job in jobs], run_token="").update(heartbeat_at=at)
    return len(jobs)
