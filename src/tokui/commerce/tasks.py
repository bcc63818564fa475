from __future__ import annotations

import datetime as dt

from django.tasks import task

from tokui.commerce import services

# A cart untouched this long is abandoned. Scenarios choose their own delays (15 min - 90 days) on top of it.
CART_IDLE_BEFORE_ABANDONED = dt.timedelta(hours=1)


@task()
def mark_abandoned_carts() -> int:
    return services.carts_mark_abandoned(idle_for=CART_IDLE_BEFORE_ABANDONED)
