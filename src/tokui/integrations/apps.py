import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "tokui.integrations"
    label = "integrations"
    verbose_name = _("Import and connectors")

    def ready(self) -> None:
        from tokui.core.schedule import periodic_jobs
        from tokui.integrations.tasks import connections_sync_due, import_jobs_resume_stale, webhook_receipts_prune

        # An import whose worker died resumes from its last committed batch.
        periodic_jobs.register(
            "integrations.resume_stale_imports", task=import_jobs_resume_stale, every=dt.timedelta(minutes=5)
        )
        # Each connection keeps its own interval; this only looks for the ones that are due.
        periodic_jobs.register(
            "integrations.sync_due_connections", task=connections_sync_due, every=dt.timedelta(minutes=1)
        )
        periodic_jobs.register(
            "integrations.prune_webhook_receipts", task=webhook_receipts_prune, every=dt.timedelta(days=1)
        )
