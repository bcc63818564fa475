import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "tokui.integrations"
    label = "integrations"
    verbose_name = _("Import and connectors")

    def ready(self) -> None:
        from tokui.core.schedule import periodic_jobs
        from tokui.integrations.tasks import import_jobs_resume_stale

        # An import whose worker died resumes from its last committed batch.
        periodic_jobs.register(
            "integrations.resume_stale_imports", task=import_jobs_resume_stale, every=dt.timedelta(minutes=5)
        )
