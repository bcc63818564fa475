from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from tokui.core.schedule import periodic_jobs, run_scheduler


class Command(BaseCommand):
    help = "Enqueue the periodic jobs (abandoned carts, point expiry, fact sweeper, ...) when they are due."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        for job in periodic_jobs.jobs():
            self.stdout.write(f"{job.name}: every {job.every}")
        run_scheduler(stop=stop)
