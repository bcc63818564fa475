from __future__ import annotations

from django.tasks import task

from tokui.tracking import services
from tokui.tracking.tag_ingest import pending_identities_resolve


@task()
def dispatch_events(*, event_ids: list[int]) -> int:
    return services.events_dispatch(event_ids=event_ids)


@task()
def dispatch_pending_events() -> int:
    return services.events_dispatch_pending()


@task()
def resolve_pending_identities() -> int:
    return pending_identities_resolve()
