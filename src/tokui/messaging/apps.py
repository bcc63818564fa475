import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "tokui.messaging"
    label = "messaging"
    verbose_name = _("Messages")

    def ready(self) -> None:
        from tokui.core.schedule import periodic_jobs
        from tokui.messaging import webhooks
        from tokui.messaging.channels import email, esp  # noqa: F401 - registers the channels
        from tokui.messaging.tasks import deliver_due_mail

        periodic_jobs.register("messaging.deliver_due_mail", task=deliver_due_mail, every=dt.timedelta(seconds=30))
        webhooks.connect()
        # The segment page lists the one-off mails sent to it, without the segments app importing this one.
        from tokui.messaging.segment_sends import segment_sends_of
        from tokui.segments.usages import segment_usage_providers

        segment_usage_providers.register(segment_sends_of)
