from __future__ import annotations

from django.tasks import task

from tokui.analytics import services


@task()
def analytics_nightly() -> bool:
    return services.analytics_nightly_run()
