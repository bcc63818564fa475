"""Periodic jobs: each app registers the tasks it wants run every so often in its ``AppConfig.ready()``.

The scheduler only *enqueues* the task when it is due; the task queue's workers run it. Jobs are idempotent
batch tasks (sweep what is due now), so running one twice or late is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass

from django.tasks import Task

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    task: Task  # type: ignore[type-arg]
    every: dt.timedelta


class PeriodicJobRegistry:
    def __init__(self) -> None:
        self._jobs: dict[str, PeriodicJob] = {}

    def register(self, name: str, *, task: Task, every: dt.timedelta) -> None:  # type: ignore[type-arg]
        self._jobs[name] = PeriodicJob(name=name, task=task, every=every)

    def jobs(self) -> list[PeriodicJob]:
        return sorted(self._jobs.values(), key=lambda job: job.name)


periodic_jobs = PeriodicJobRegistry()


def run_scheduler(*, stop: threading.Event, tick_seconds: float = 5.0) -> None:
    """Enqueue each registered job when it is due, until ``stop`` is set."""
    next_run: dict[str, float] = {}
    while not stop.is_set():
        now = time.monotonic()
        for job in periodic_jobs.jobs():
            if now >= next_run.get(job.name, 0.0):
                try:
                    job.task.enqueue()
                except Exception:
                    logger.exception("could not enqueue periodic job %s", job.name)
                next_run[job.name] = now + job.every.total_seconds()
        stop.wait(tick_seconds)
