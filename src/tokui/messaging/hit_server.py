"""Mail opens and clicks served as plain ASGI in front of Django: a click must redirect at once, at any volume.

``tokui.asgi`` mounts ``MailHitFront`` around the app: a request for ``/m/c/<token>`` or ``/m/o/<token>.gif`` whose
token this site signed is answered here (the redirect, or the invisible image) and its hit handed to a group-commit
writer; the answer does not wait for the write (the recipient's click never waits for our database; a process
killed in the few milliseconds before the write loses those hits, see ADR 11). Everything else, including links
that are broken or tampered with, goes to Django, which answers them with its own pages (``messaging.views``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.utils import timezone
from django.utils.encoding import iri_to_uri

from tokui.core.group_commit import GroupCommitWriter
from tokui.messaging.enums import MailLinkKind
from tokui.messaging.links import mail_link_from_path
from tokui.messaging.pixel import NO_STORE, PIXEL_GIF
from tokui.messaging.services import mail_hits_record
from tokui.messaging.types import MailHit
from tokui.tracking.tag_server import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

HIT_PATH_PREFIX = "/m/"
MAX_HITS_PER_WRITE = 2_000
MAX_WAITING_HITS = 100_000


def mail_hit_writer() -> GroupCommitWriter[MailHit]:
    return GroupCommitWriter(
        write=lambda hits: mail_hits_record(hits=hits),
        max_per_write=MAX_HITS_PER_WRITE,
        max_waiting=MAX_WAITING_HITS,
        name="tokui-mail-hit-writer",
    )


def _stored(error: BaseException | None) -> None:
    # Logged by the writer already; the recipient has had their answer.
    pass


def _seen(scope: Scope) -> tuple[str, bool]:
    """The user agent and whether the request is a prefetch: what tells a machine's hit from a person's."""
    user_agent, prefetch = "", False
    for name, value in scope.get("headers", ()):
        if name == b"user-agent":
            user_agent = value[:300].decode("latin-1")
        elif name in (b"purpose", b"sec-purpose", b"x-moz") and b"prefetch" in value.lower():
            prefetch = True
    return user_agent, prefetch


class MailHitFront:
    """An ASGI app that answers signed mail links itself and hands every other request to ``app``."""

    def __init__(self, app: ASGIApp, *, writer: GroupCommitWriter[MailHit] | None = None) -> None:
        self.app = app
        self.writer = writer or mail_hit_writer()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(HIT_PATH_PREFIX) and scope["method"] == "GET":
            link = mail_link_from_path(scope["path"])
            if link is not None:
                await self._answer(link=link, scope=scope, send=send)
                return
        elif scope["type"] == "lifespan":
            await self.app(scope, self._stopping_on_shutdown(receive), send)
            return
        await self.app(scope, receive, send)

    def close(self) -> None:
        """Store what waits (server shutdown, tests)."""
        self.writer.stop()

    def _stopping_on_shutdown(self, receive: Receive) -> Receive:
        async def receive_and_stop() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await asyncio.get_running_loop().run_in_executor(None, self.close)
            return message

        return receive_and_stop

    async def _answer(self, *, link: Any, scope: Scope, send: Send) -> None:
        user_agent, prefetch = _seen(scope)
        hit = MailHit(link=link, occurred_at=timezone.now(), user_agent=user_agent, prefetch=prefetch)
        if not self.writer.submit_item(hit, done=_stored):
            logger.warning("too many mail hits waiting; this one is not counted")
        if link.kind == MailLinkKind.CLICK:
            headers = [(b"location", iri_to_uri(link.url).encode("latin-1")), (b"content-length", b"0")]
            headers += [(b"cache-control", NO_STORE.encode()), (b"referrer-policy", b"no-referrer")]
            await send({"type": "http.response.start", "status": 302, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
        else:
            headers = [(b"content-type", b"image/gif"), (b"content-length", str(len(PIXEL_GIF)).encode())]
            headers.append((b"cache-control", NO_STORE.encode()))
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": PIXEL_GIF})
