import datetime as dt
from collections.abc import Sequence

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "tokui.analytics"
    label = "analytics"
    verbose_name = _("Analysis")

    def ready(self) -> None:
        from tokui.analytics.tasks import analytics_nightly, basket_packs_fill_task, sales_facts_catch_up_task
        from tokui.core.facts import fact_consumers
        from tokui.core.schedule import periodic_jobs
        from tokui.tracking.enums import EventType

        # Any order from any channel (web, API, import, connector) is an order fact; a cancellation lowers the
        # figures again. The stats of the customers named by those facts are recomputed right away.
        fact_consumers.register(EventType.ORDER_PLACED, EventType.ORDER_CANCELLED)(consume_order_facts)
        # The sales facts (read by the sales analysis and rankings) of the orders named are rewritten too.
        fact_consumers.register(EventType.ORDER_PLACED, EventType.ORDER_CANCELLED)(consume_order_facts_for_sales)
        # The full recompute catches what facts do not carry (an edited order, history loaded without facts) and
        # takes the month's RFM snapshot. The scheduler enqueues it every hour; the task only runs once a day.
        periodic_jobs.register("analytics.nightly", task=analytics_nightly, every=dt.timedelta(hours=1))
        # A product moved in the admin re-derives the category facts of its buyers (about 1 s at 3M orders, more
        # on a cold cache) and an import leaves orders without facts: the worker catches both up every minute, so
        # the first report after them need not.
        periodic_jobs.register(
            "analytics.sales_facts_catch_up", task=sales_facts_catch_up_task, every=dt.timedelta(minutes=1)
        )
        # The basket screen reads past days from their packs; a day whose lines changed is packed again here.
        periodic_jobs.register(
            "analytics.basket_packs_fill", task=basket_packs_fill_task, every=dt.timedelta(minutes=1)
        )


def consume_order_facts(event_ids: Sequence[int]) -> None:
    from tokui.analytics.services import stats_refresh_for_facts

    stats_refresh_for_facts(event_ids=event_ids)


def consume_order_facts_for_sales(event_ids: Sequence[int]) -> None:
    from tokui.analytics.sales_facts import sales_facts_refresh_for_facts

    sales_facts_refresh_for_facts(event_ids=event_ids)
