from __future__ import annotations

from django.tasks import task

from tokui.analytics import basket_packs, sales_facts, services


@task()
def analytics_nightly() -> bool:
    return services.analytics_nightly_run()


@task()
def sales_facts_rebuild_task() -> int:
    """A report found orders loaded without facts (a bulk import): the sales facts are rebuilt here."""
    return sales_facts.sales_facts_rebuild()


@task()
def sales_facts_catch_up_task() -> int:
    """The worker's minute job: orders loaded without facts and products moved to another category are written
    into the sales facts here, so the next report need not do it first (it still would, had this not run yet)."""
    return sales_facts.sales_facts_catch_up()


@task()
def basket_packs_fill_task() -> int:
    """The worker's minute job: the past days whose basket lines changed (or were never packed) are packed again,
    so the basket screen reads them as one value a day (ADR 0053)."""
    return basket_packs.basket_packs_fill()
