"""A real ingest server for tests: TagIngestFront in front of Django, served by uvicorn on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.asgi import get_asgi_application

from tests.asgi_server import Answer, RunningServer, asgi_server
from tokui.tracking.tag_server import TagIngestFront
from tokui.tracking.tag_writer import TagBatchWriter

__all__ = ["Answer", "IngestServer", "ingest_server"]


@dataclass(frozen=True)
class IngestServer(RunningServer):
    front: TagIngestFront


@contextmanager
def ingest_server(*, writer: TagBatchWriter | None = None) -> Iterator[IngestServer]:
    front = TagIngestFront(get_asgi_application(), writer=writer)
    try:
        with asgi_server(front) as running:
            yield IngestServer(port=running.port, front=front)
    finally:
        front.close()
