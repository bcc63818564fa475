"""The ingest server: ``/t/v1/batch`` served as plain ASGI in front of Django, for the traffic of every shop page.

Django's request machinery (middleware, URL routing, a thread hop per sync view under ASGI) costs several times
what checking a batch does, so ``tokui.asgi`` mounts ``TagIngestFront`` in front of Django: it answers the tag's
endpoint itself and passes every other request to Django unchanged. What it answers comes from
``tracking.tag_endpoint``, the same checks the Django view uses; what it stores goes through the process's
``TagBatchWriter`` (a group commit), and the answer is sent once the batch is stored. The event loop never waits for
the database: a write key this process does not remember is looked up in a thread. See ADR 0009.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import close_old_connections, connections
from django.http import HttpRequest
from django.utils import translation

from tokui.tracking.selectors import tracking_site_for_key, tracking_site_remembered
from tokui.tracking.tag_endpoint import (
    TagAnswer,
    tag_batch_check,
    tag_body_too_large,
    tag_client_ip,
    tag_client_ip_header,
    tag_declared_length,
    tag_request_admit,
    tag_unavailable,
)
from tokui.tracking.tag_writer import TagBatchWriter
from tokui.tracking.types import TrackingSiteConfig

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The path of tracking.urls' "batch" (a test keeps the two the same).
TAG_BATCH_PATH = "/t/v1/batch"


@functools.lru_cache(maxsize=256)
def _language(accept_language: str) -> str:
    """The language Django's LocaleMiddleware would choose for this Accept-Language (the site's default if none)."""
    request = SimpleNamespace(COOKIES={}, META={"HTTP_ACCEPT_LANGUAGE": accept_language}, path_info="/")
    return translation.get_language_from_request(cast(HttpRequest, request))


def _site_lookup(write_key: str) -> TrackingSiteConfig | None:
    try:
        return tracking_site_for_key(write_key=write_key)
    finally:
        close_old_connections()  # like the end of a Django request: honour CONN_MAX_AGE, drop broken connections


class TagIngestFront:
    """An ASGI app that serves the tag's endpoint itself and hands every other request to ``app``."""

    def __init__(self, app: ASGIApp, *, writer: TagBatchWriter | None = None, path: str = TAG_BATCH_PATH) -> None:
        self.app = app
        self.path = path
        self.writer = writer or TagBatchWriter()
        self._lookups = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokui-tag-lookup")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.path:
            await self._serve(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.app(scope, receive, send)

    def close(self) -> None:
        """Store what waits and release the threads and their database connections (server shutdown, tests)."""
        self.writer.stop()
        self._lookups.submit(connections.close_all).result()
        self._lookups.shutdown()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        # Django does not speak the lifespan protocol; the front does, to store what waits when the server stops.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self.writer.stop)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = accept_language = forwarded = ""
        declared: bytes | None = None
        ip_header = tag_client_ip_header().encode("latin-1")
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"content-length":
                declared = value
            elif name == b"accept-language":
                accept_language = value.decode("latin-1")
            elif ip_header and name == ip_header:
                forwarded = value.decode("latin-1")
        write_key = ""
        for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
            if name == "key":
                write_key = value
        known, site = tracking_site_remembered(write_key=write_key)
        language = _language(accept_language)
        if not known:
            try:
                site = await asyncio.get_running_loop().run_in_executor(self._lookups, _site_lookup, write_key)
            except Exception:
                logger.exception("looking up a tag write key failed")
                with translation.override(language):
                    await _send(send, tag_unavailable(origin=""))
                return
        client = scope.get("client")
        with translation.override(language):
            admitted = tag_request_admit(
                site=site,
                method=scope["method"],
                origin=origin,
                client_ip=tag_client_ip(remote_addr=client[0] if client else "", forwarded=forwarded),
            )
            if isinstance(admitted, TagAnswer):
                await _send(send, admitted)
                return
            limit: int = settings.TAG_MAX_BODY_BYTES
            if tag_declared_length(declared) > limit:
                await _send(send, tag_body_too_large(origin=admitted.origin))
                return
            body = await _read_body(receive, limit)
            if body is None:  # the client went away
                return
            if len(body) > limit:
                await _send(send, tag_body_too_large(origin=admitted.origin))
                return
            checked = tag_batch_check(admitted=admitted, body=body)
            if isinstance(checked, TagAnswer):
                await _send(send, checked)
                return
            if not checked.batch.events:
                await _send(send, checked.answer)
                return
            loop = asyncio.get_running_loop()
            stored: asyncio.Future[BaseException | None] = loop.create_future()

            def done(error: BaseException | None) -> None:
                loop.call_soon_threadsafe(_settle, stored, error)

            if not self.writer.submit(site=checked.site, batch=checked.batch, done=done):
                await _send(send, tag_unavailable(origin=admitted.origin))
                return
            error = await stored
            await _send(send, checked.answer if error is None else tag_unavailable(origin=admitted.origin))


def _settle(future: asyncio.Future[BaseException | None], error: BaseException | None) -> None:
    if not future.done():
        future.set_result(error)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request body, cut just past ``limit`` bytes; ``None`` when the client disconnects first."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk: bytes = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > limit or not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, answer: TagAnswer) -> None:
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
    headers.append((b"content-length", str(len(answer.body)).encode("latin-1")))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
