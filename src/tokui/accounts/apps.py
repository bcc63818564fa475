import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "tokui.accounts"
    label = "accounts"
    verbose_name = _("Users and roles")

    def ready(self) -> None:
        from tokui.accounts.tasks import api_request_log_prune
        from tokui.core.schedule import periodic_jobs

        # The request log grows with every API call; rows past TOKUI_API_LOG_RETENTION_DAYS go once a day.
        periodic_jobs.register("accounts.prune_api_request_log", task=api_request_log_prune, every=dt.timedelta(days=1))
