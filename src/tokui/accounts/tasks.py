from __future__ import annotations

from django.tasks import task

from tokui.accounts import services


@task()
def api_request_log_prune() -> int:
    return services.api_request_log_prune()
