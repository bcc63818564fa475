"""Reads of import jobs, their row results and the mapping screen."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy

from tokui.accounts.models import User
from tokui.accounts.selectors import user_is_administrator, user_sees_all_accounts
from tokui.integrations.credentials import CredentialsUnreadableError, credentials_decrypt
from tokui.integrations.enums import ImportPhase, RowOutcome, SyncStatus
from tokui.integrations.importers import importers
from tokui.integrations.models import Connection, ImportJob, ImportRowResult, SyncRun
from tokui.integrations.types import FieldChoice, ImportCounts, MappingColumn, SyncCount, SyncCountRow


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
    needs = importer.field_needs()
    return [FieldChoice(key=field.key, label=field.label, need=needs.get(field.key, "")) for field in importer.fields]


def import_mapping_needs(*, object_type: str) -> list[str]:
    """What a file of ``object_type`` needs, one sentence per rule (“one of: contact code, email”, ...)."""
    importer = importers.get(object_type)
    return [importer.rule_text(rule) for rule in importer.mapping_rules()]


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


def user_manages_connections(*, user: User) -> bool:
    """Connections hold another system's credentials and write into the whole database: administrators only."""
    return user_is_administrator(user=user)


def connections_with_last_run() -> list[Connection]:
    """Every connection, each with ``last_run`` (its newest sync run or None), in two queries."""
    connections = list(Connection.objects.order_by("name", "id"))
    newer = SyncRun.objects.filter(connection=OuterRef("connection")).order_by("-created_at", "-id").values("pk")[:1]
    newest = {run.connection_id: run for run in SyncRun.objects.filter(pk=Subquery(newer), connection__in=connections)}
    for connection in connections:
        connection.last_run = newest.get(connection.pk)  # type: ignore[attr-defined]
    return connections


def connection_get(*, connection_id: int) -> Connection | None:
    return Connection.objects.filter(pk=connection_id).first()


def connection_sync_runs(*, connection: Connection) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(connection=connection).select_related("requested_by").order_by("-created_at", "-id")


def connection_active_run(*, connection: Connection) -> SyncRun | None:
    return (
        SyncRun.objects.filter(connection=connection, status__in=(SyncStatus.QUEUED, SyncStatus.RUNNING))
        .order_by("-created_at")
        .first()
    )


def connection_stored_secret_names(*, connection: Connection) -> set[str]:
    """Which credentials are stored (to show "set" beside a field), never their values; empty when unreadable."""
    try:
        return set(credentials_decrypt(connection.encrypted_credentials))
    except CredentialsUnreadableError:
        return set()


SYNC_RESOURCE_LABELS = {
    "categories": gettext_lazy("Categories"),
    "products": gettext_lazy("Products"),
    "customers": gettext_lazy("Customers"),
    "orders": gettext_lazy("Orders"),
    "checkouts": gettext_lazy("Carts (checkouts)"),
    "bookmarks": gettext_lazy("Favourites"),
    "favorites": gettext_lazy("Favourites"),
}
SYNC_OUTCOME_LABELS = {
    "created": gettext_lazy("new"),
    "updated": gettext_lazy("updated"),
    "unchanged": gettext_lazy("unchanged"),
    "skipped": gettext_lazy("skipped"),
    "error": gettext_lazy("errors"),
}
SYNC_OUTCOME_ORDER = ("created", "updated", "unchanged", "skipped", "error")


def sync_count_rows(*, counts: dict[str, int]) -> list[SyncCountRow]:
    """A run's ``{"orders.created": 2, "duplicate": 1}`` as rows a person reads: 受注 — 新規 2 …; keys Tokui has no
    label for are shown as they are."""
    by_resource: dict[str, dict[str, int]] = {}
    for key, count in counts.items():
        resource, _dot, outcome = key.partition(".")
        by_resource.setdefault(resource, {})[outcome] = count
    rows = []
    for resource, outcomes in by_resource.items():
        ordered = sorted(outcomes, key=lambda o: (SYNC_OUTCOME_ORDER.index(o) if o in SYNC_OUTCOME_ORDER else 99, o))
        rows.append(
            SyncCountRow(
                resource=resource,
                label=str(SYNC_RESOURCE_LABELS.get(resource, resource)),
                counts=[
                    SyncCount(outcome=o, label=str(SYNC_OUTCOME_LABELS.get(o, o)), count=outcomes[o]) for o in ordered
                ],
            )
        )
    order = list(SYNC_RESOURCE_LABELS)
    return sorted(rows, key=lambda row: order.index(row.resource) if row.resource in order else len(order))
