from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from tokui.runtime import serve


class Command(BaseCommand):
    help = "Serve Tokui with the task worker, the scheduler and (embedded mode) the mail catcher in one process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.HTTP_HOST)
        parser.add_argument("--port", type=int, default=settings.HTTP_PORT)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        serve(host=host, port=port, on_ready=lambda: self.stdout.write(f"Tokui is ready on http://{host}:{port}/"))
