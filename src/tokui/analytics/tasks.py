from __future__ import annotations

from django.tasks import task

from tokui.analytics import sales_facts, services


@task()
def analytics_nightly() -> bool:
    return services.analytics_nightly_run()


@task()
def sales_facts_rebuild_task() -> int:
    """A report found orders loaded without facts (a bulk import): the sales facts are rebuilt here."""
    return sales_facts.sales_facts_rebuild()
