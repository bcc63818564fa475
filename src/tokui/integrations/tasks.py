from __future__ import annotations

from django.tasks import task

from tokui.integrations import services


@task()
def import_job_dry_run(*, job_id: int) -> None:
    services.import_job_dry_run(job_id=job_id)


@task()
def import_job_execute(*, job_id: int) -> None:
    services.import_job_execute(job_id=job_id)


@task()
def import_jobs_resume_stale() -> int:
    return services.import_jobs_resume_stale()


@task()
def sync_run_execute(*, run_id: int) -> None:
    services.sync_run_execute(run_id=run_id)


@task()
def connections_sync_due() -> int:
    return services.connections_sync_due()


@task()
def webhook_receipts_prune() -> int:
    return services.webhook_receipts_prune()
