"""Many batches in one write: the group commit of the ingest server, and what it stores exactly as one by one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tests.factories import ContactFactory
from tokui.tracking.models import Event
from tokui.tracking.tag_ingest import tag_batches_ingest
from tokui.tracking.tag_writer import TagBatchWriter
from tokui.tracking.types import TagBatch, TagEvent, TrackingSiteConfig

SITE = TrackingSiteConfig(
    id=1, name="テスト店舗", write_key="tk_test", origins=frozenset(), require_consent=False, contact_source=""
)


def batch(*types: str, anonymous_id: str = "anon-writer-0001", identified: bool = False, **props: Any) -> TagBatch:
    stamp = timezone.now()
    events = [
        TagEvent(id=f"ev-{time.perf_counter_ns()}-{n}", type=kind, occurred_at=stamp, properties=dict(props))
        for n, kind in enumerate(types)
    ]
    return TagBatch(anonymous_id=anonymous_id, consent=False, events=events, errors=[], identified=identified)


@pytest.mark.django_db
def test_logins_in_one_write_attribute_events_exactly_as_request_by_request() -> None:
    first, second = ContactFactory(email="first@shop.example.jp"), ContactFactory(email="second@shop.example.jp")
    shared_pc = "anon-shared-pc-01"
    tag_batches_ingest(
        batches=[
            (SITE, batch("page_viewed", anonymous_id=shared_pc)),
            (SITE, batch("logged_in", anonymous_id=shared_pc, email="first@shop.example.jp")),
            (SITE, batch("product_viewed", anonymous_id=shared_pc, identified=True)),
            (SITE, batch("page_viewed", anonymous_id="anon-other-browser")),
            (SITE, batch("signed_up", anonymous_id=shared_pc, identified=True, email="second@shop.example.jp")),
            (SITE, batch("searched", anonymous_id=shared_pc, identified=True)),
        ]
    )
    contacts = dict(Event.objects.filter(anonymous_id=shared_pc).values_list("type", "contact_id"))
    assert contacts == {
        "page_viewed": first.pk,
        "logged_in": first.pk,
        "product_viewed": first.pk,
        "signed_up": second.pk,
        "searched": second.pk,
    }
    assert Event.objects.get(anonymous_id="anon-other-browser").contact_id is None


@pytest.mark.django_db
def test_a_write_of_1200_events_is_stored_whole_and_a_second_time_not_at_all() -> None:
    big = [(SITE, batch(*["page_viewed"] * 400, anonymous_id=f"anon-big-{n:04d}")) for n in range(3)]
    assert tag_batches_ingest(batches=big) == 1200
    tag_batches_ingest(batches=big)
    assert Event.objects.filter(source="tag").count() == 1200


def test_requests_waiting_during_a_write_go_together_in_the_next_one() -> None:
    writes: list[int] = []
    release = threading.Event()

    def write(batches: list[Any]) -> None:
        writes.append(len(batches))
        release.wait(5)

    writer = TagBatchWriter(write=write)
    outcomes: list[BaseException | None] = []
    writer.submit(site=SITE, batch=batch("page_viewed"), done=outcomes.append)
    while not writes:  # the first write is under way; the next five wait for it
        time.sleep(0.001)
    for _ in range(5):
        writer.submit(site=SITE, batch=batch("page_viewed"), done=outcomes.append)
    release.set()
    writer.stop()
    assert writes == [1, 5]
    assert outcomes == [None] * 6


def test_one_write_carries_at_most_its_share_of_events() -> None:
    writes: list[int] = []
    gate = threading.Event()

    def write(batches: list[Any]) -> None:
        gate.wait(5)
        writes.append(sum(len(item[1].events) for item in batches))

    writer = TagBatchWriter(write=write, max_events_per_write=40)
    for _ in range(5):
        assert writer.submit(site=SITE, batch=batch(*["page_viewed"] * 20), done=lambda error: None)
    gate.set()
    writer.stop()
    assert sum(writes) == 100
    assert max(writes) <= 40


def test_stopping_stores_what_waits_and_refuses_what_comes_after() -> None:
    stored: list[int] = []
    writer = TagBatchWriter(write=lambda batches: stored.append(len(batches)))
    for _ in range(3):
        writer.submit(site=SITE, batch=batch("page_viewed"), done=lambda error: None)
    writer.stop()
    assert sum(stored) == 3
    assert not writer.submit(site=SITE, batch=batch("page_viewed"), done=lambda error: None)


def test_the_embedded_server_on_sqlite_stores_tag_events_through_the_ingest_server(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TOKUI_") and k != "DJANGO_SETTINGS_MODULE"},
        "TOKUI_VAR_DIR": str(tmp_path),
        "TOKUI_MAILCATCHER": "false",
        "TOKUI_EMBEDDED_WORKER": "false",
    }
    port = _free_port()
    env["TOKUI_HTTP_PORT"] = str(port)
    tokui = [sys.executable, "-m", "tokui"]
    subprocess.run([*tokui, "migrate", "-v", "0"], env=env, check=True)
    create = (
        "from tokui.tracking.services import tracking_site_create;"
        "print(tracking_site_create(name='s', allowed_origins=['https://shop.example.jp']).write_key)"
    )
    key = subprocess.run([*tokui, "shell", "-c", create], env=env, check=True, capture_output=True, text=True)
    write_key = key.stdout.strip().splitlines()[-1]
    server = subprocess.Popen([*tokui, "serve"], env=env)
    try:
        body = (
            b'{"anonymous_id":"anon-embedded-1","events":[{"id":"embedded-event-1","type":"page_viewed",'
            b'"occurred_at":"' + timezone.now().isoformat().encode() + b'"}]}'
        )
        answer = _post_until_up(f"http://127.0.0.1:{port}/t/v1/batch?key={write_key}", body)
        assert answer == (200, b'{"accepted":1,"rejected":0,"errors":[]}')
        count = "from tokui.tracking.models import Event;print(Event.objects.filter(source='tag').count())"
        stored = subprocess.run([*tokui, "shell", "-c", count], env=env, check=True, capture_output=True, text=True)
        assert stored.stdout.strip().splitlines()[-1] == "1"
    finally:
        server.terminate()
        server.wait(30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _post_until_up(url: str, body: bytes, timeout: float = 30.0) -> tuple[int, bytes]:
    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Origin": "https://shop.example.jp", "Content-Type": "text/plain"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
