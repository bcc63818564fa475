from collections.abc import Sequence

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "tokui.commerce"
    label = "commerce"
    verbose_name = _("Orders and carts")

    def ready(self) -> None:
        import datetime as dt

        from tokui.commerce.tasks import mark_abandoned_carts
        from tokui.core.schedule import periodic_jobs

        periodic_jobs.register(
            "commerce.mark_abandoned_carts", task=mark_abandoned_carts, every=dt.timedelta(minutes=1)
        )

        from tokui.commerce.services import TAG_CART_TRIGGERS
        from tokui.core.facts import fact_consumers

        # The tracking tag's cart facts keep the browser's cart current, so abandoned carts are known without a
        # cart connector; a login names the cart's owner.
        fact_consumers.register(*TAG_CART_TRIGGERS)(consume_tag_cart_facts)


def consume_tag_cart_facts(event_ids: Sequence[int]) -> None:
    from tokui.commerce.services import cart_apply_tag_events

    cart_apply_tag_events(event_ids=event_ids)
