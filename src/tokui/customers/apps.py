from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "tokui.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        import datetime as dt

        from tokui.core.schedule import periodic_jobs
        from tokui.customers.tasks import expire_points

        periodic_jobs.register("customers.expire_points", task=expire_points, every=dt.timedelta(hours=1))
