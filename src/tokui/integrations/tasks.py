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
