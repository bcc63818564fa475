"""Reads of import jobs, their row results and the mapping screen."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import QuerySet

from tokui.accounts.models import User
from tokui.accounts.selectors import user_sees_all_accounts
from tokui.integrations.enums import ImportPhase, RowOutcome
from tokui.integrations.importers import importers
from tokui.integrations.models import ImportJob, ImportRowResult
from tokui.integrations.types import FieldChoice, ImportCounts, MappingColumn


def import_jobs_visible_to(*, user: User) -> QuerySet[ImportJob]:
    """Every import for managers, marketers and viewers; a sales rep sees the imports they ran."""
    jobs = ImportJob.objects.select_related("created_by")
    if not user_sees_all_accounts(user=user):
        jobs = jobs.filter(created_by=user)
    return jobs.order_by("-created_at", "-id")


def import_job_for_user(*, user: User, job_id: int) -> ImportJob | None:
    return import_jobs_visible_to(user=user).filter(pk=job_id).first()


def import_field_choices(*, object_type: str) -> list[FieldChoice]:
    importer = importers.get(object_type)
    required = {*importer.key_fields[:1], *importer.mapping_required}
    return [FieldChoice(key=field.key, label=field.label, required=field.key in required) for field in importer.fields]


def import_mapping_columns(*, job: ImportJob) -> list[MappingColumn]:
    """The columns of the file with a few sample values and the field currently chosen for each."""
    mapping = list(job.mapping) + [""] * (len(job.header) - len(job.mapping))
    return [
        MappingColumn(
            index=index,
            name=name,
            samples=[row[index] for row in job.sample_rows if index < len(row) and row[index]][:3],
            field=mapping[index],
        )
        for index, name in enumerate(job.header)
    ]


def import_counts(*, job: ImportJob) -> ImportCounts:
    return ImportCounts(
        total=job.rows_total,
        done=job.rows_done,
        created=job.created_count,
        updated=job.updated_count,
        unchanged=job.unchanged_count,
        rejected=job.rejected_count,
    )


def import_row_results(*, job: ImportJob, phase: str, outcome: str = "") -> QuerySet[ImportRowResult]:
    """Row by row: what the dry run found (new, updated, rejected) or the rows the import rejected."""
    results = ImportRowResult.objects.filter(job=job, phase=phase)
    if outcome:
        results = results.filter(outcome=outcome)
    return results.order_by("row_number", "id")


def import_error_phase(*, job: ImportJob) -> str:
    """Which run the error file is about: the import once it has started, else the dry run."""
    return ImportPhase.IMPORT if job.phase == ImportPhase.IMPORT else ImportPhase.DRY_RUN


def import_rejected_rows(*, job: ImportJob) -> Iterator[ImportRowResult]:
    """The rejected rows for the error file, streamed from the database in chunks."""
    rows = import_row_results(job=job, phase=import_error_phase(job=job), outcome=RowOutcome.REJECTED)
    return rows.iterator(chunk_size=2000)
