from __future__ import annotations

from django.tasks import task

from tokui.tracking import services


@task()
def dispatch_events(*, event_ids: list[int]) -> int:
    return services.events_dispatch(event_ids=event_ids)


@task()
def dispatch_pending_events() -> int:
    return services.events_dispatch_pending()
