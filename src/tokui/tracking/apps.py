from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    name = "tokui.tracking"
    label = "tracking"
    verbose_name = _("Timeline")

    def ready(self) -> None:
        import datetime as dt

        from tokui.core.schedule import periodic_jobs
        from tokui.tracking.tasks import dispatch_pending_events, resolve_pending_identities

        # The sweeper of the fact outbox: anything a crash or a bulk load left undispatched.
        periodic_jobs.register(
            "tracking.dispatch_pending_events", task=dispatch_pending_events, every=dt.timedelta(seconds=30)
        )
        # Browsers that signed up before their customer record reached Tokui (connector, API or import).
        periodic_jobs.register(
            "tracking.resolve_pending_identities", task=resolve_pending_identities, every=dt.timedelta(minutes=5)
        )
