import datetime as dt
from collections.abc import Sequence

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentsConfig(AppConfig):
    name = "tokui.segments"
    label = "segments"
    verbose_name = _("Segments")

    def ready(self) -> None:
        import tokui.segments.rules  # noqa: F401  (registers the condition types)
        from tokui.core.facts import fact_consumers
        from tokui.core.schedule import periodic_jobs
        from tokui.segments.services import AFFECTED_BY
        from tokui.segments.tasks import segments_refresh_all_task

        # Registered after analytics (INSTALLED_APPS order), so an order's stats are fresh when segments read them.
        # Only facts about a known customer can change a membership: anonymous page views skip the outbox.
        fact_consumers.register(*AFFECTED_BY, identified_only=True)(consume_facts)
        # Relative dates ("in the last 30 days") and idle carts change with the clock alone, not with facts.
        periodic_jobs.register("segments.refresh", task=segments_refresh_all_task, every=dt.timedelta(minutes=15))


def consume_facts(event_ids: Sequence[int]) -> None:
    from tokui.segments.services import segments_refresh_for_facts

    segments_refresh_for_facts(event_ids=event_ids)
