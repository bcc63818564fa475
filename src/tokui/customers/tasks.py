from __future__ import annotations

from django.tasks import task

from tokui.customers import services


@task()
def expire_points() -> int:
    return services.points_expire_due()
