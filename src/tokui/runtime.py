"""One process running everything embedded mode needs: the web app, the task worker, the scheduler and the mail
catcher. ``tokui demo`` and ``tokui serve`` use it; a scaled-out install runs ``tokui worker`` and
``tokui scheduler`` as their own processes and serves the ASGI app with any server.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.utils.crypto import get_random_string

logger = logging.getLogger(__name__)


def start_worker_thread(*, stop: threading.Event) -> threading.Thread | None:
    """Run the database task worker in a daemon thread (embedded mode only)."""
    if not settings.EMBEDDED_WORKER or settings.TASK_BACKEND != "database":
        return None
    from django_tasks_db.management.commands.db_worker import Worker

    worker = Worker(
        queue_names=["*"],
        interval=0.5,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=f"embedded-{get_random_string(8)}",
        excluded_queue_names=[],
    )

    def stop_when_asked() -> None:
        stop.wait()
        worker.running = False

    def run() -> None:
        threading.Thread(target=stop_when_asked, daemon=True).start()
        worker.run()

    thread = threading.Thread(target=run, name="tokui-worker", daemon=True)
    thread.start()
    return thread


def start_scheduler_thread(*, stop: threading.Event) -> threading.Thread:
    from tokui.core.schedule import run_scheduler

    thread = threading.Thread(target=run_scheduler, kwargs={"stop": stop}, name="tokui-scheduler", daemon=True)
    thread.start()
    return thread


def serve(*, host: str, port: int, on_ready: Callable[[], None] | None = None) -> None:
    """Serve the app until interrupted, with worker, scheduler and (if enabled) the mail catcher alongside."""
    import uvicorn

    from tokui.demo.mailcatcher import MailCatcher

    stop = threading.Event()
    catcher = None
    if settings.MAILCATCHER_ENABLED:
        catcher = MailCatcher(host=settings.MAILCATCHER_HOST, port=settings.MAILCATCHER_PORT).start()
        logger.info("mail catcher listening on %s:%s", settings.MAILCATCHER_HOST, settings.MAILCATCHER_PORT)
    start_worker_thread(stop=stop)
    start_scheduler_thread(stop=stop)

    # lifespan "on": the ingest server in front of Django (tokui.asgi) stores what waits when the server stops.
    config = uvicorn.Config("tokui.asgi:application", host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    if on_ready is not None:
        threading.Thread(target=_call_when_started, args=(server, on_ready), daemon=True).start()
    try:
        server.run()
    finally:
        stop.set()
        if catcher is not None:
            catcher.stop()


def _call_when_started(server: object, on_ready: Callable[[], None]) -> None:
    import time

    while not getattr(server, "started", False):
        time.sleep(0.1)
    on_ready()
