"""Tracking ingest benchmark: the tag's HTTP endpoint under load, on this machine, beside a bare PostgreSQL COPY.

Starts the app in its own processes (uvicorn, 2 workers) on a free port on 127.0.0.1 and drives it with `wrk`
(installed with apt when missing; a small asyncio client otherwise), bounded in time. Prints name=value lines:
events/s in batches of 20 and single-event requests/s as fast as the server answers (32 connections, closed loop),
then p50/p99 latency with the load paced at the issue's target rates (20,000 events/s in batches of 20; 5,000 single
requests/s), the delay until an event is queryable, and the rate of a COPY of the same rows. The server and the load
generator share the same 2 cores. Run through `make bench` (the database is migrated and TOKUI_DATABASE_URL set);
`python bench/ingest.py` works too.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokui.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from tokui.tracking.models import Event, TrackingSite  # noqa: E402
from tokui.tracking.services import tracking_site_create  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ORIGIN = "http://bench.localhost"
SECONDS = int(os.environ.get("TOKUI_BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("TOKUI_BENCH_CONNECTIONS", "32"))
WORKERS = int(os.environ.get("TOKUI_BENCH_WORKERS", "2"))
# ASGI by default: tokui.asgi serves the endpoint in front of Django (ADR 0009). "wsgi" measures the Django view.
INTERFACE = os.environ.get("TOKUI_BENCH_INTERFACE", "asgi3")
COPY_ROWS = 200_000
# The targets: 20,000 events/s in batches of 20 and 5,000 single-event requests/s, each with p99 < 50 ms.
BATCH_TARGET_EVENTS = 20_000
SINGLE_TARGET_REQUESTS = 5_000

# wrk builds every request with fresh event ids (the endpoint must really insert, not skip duplicates) and prints
# its own figures when done; latencies are in microseconds.
WRK_SCRIPT = r"""
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  per_request = tonumber(args[1])
  stamp = args[2]
  run = args[3]
  counter = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "text/plain;charset=UTF-8"
  wrk.headers["Origin"] = args[4]
end
function request()
  counter = counter + 1
  local prefix = run .. "t" .. tid .. "n" .. counter .. "e"
  local parts = {}
  for i = 1, per_request do
    parts[i] = '{"id":"' .. prefix .. i .. '","type":"page_viewed","occurred_at":"' .. stamp ..
      '","properties":{"url":"https://shop.example.jp/products/TS-' .. (counter % 500) ..
      '","title":"\\u30ea\\u30cd\\u30f3\\u30b7\\u30e3\\u30c4 | \\u30c7\\u30e2"}}'
  end
  local body = '{"anonymous_id":"' .. run .. "-a" .. tid .. "-" .. (counter % 2000) .. '","sent_at":"' .. stamp ..
    '","events":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format(nil, nil, nil, body)
end
function done(summary, latency, requests)
  local non2xx = summary.errors.status
  local failed = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("WRK requests=%d non2xx=%d errors=%d seconds=%.3f p50_us=%d p99_us=%d\n",
    summary.requests, non2xx, failed, summary.duration / 1e6, latency:percentile(50), latency:percentile(99)))
end
"""


# Appended for a paced run: every request takes the next slot of a timetable at the given total rate (a slot already
# past is sent at once, so a slow answer is made up for, not skipped). wrk times each request from its send.
WRK_PACING = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } tokui_timespec;
int clock_gettime(int clk_id, tokui_timespec *tp);
]]
local clock = ffi.new("tokui_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end
local interval_ms = 1000 / RATE
local next_slot = nil
function delay()
  local now = now_ms()
  if next_slot == nil then next_slot = now end
  next_slot = next_slot + interval_ms
  if next_slot < now then return 0 end
  return next_slot - now
end
"""


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    failed: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def ok_per_second(self) -> float:
        return (self.requests - self.failed) / self.seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, interface: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],
        "TOKUI_TASK_BACKEND": os.environ.get("TOKUI_TASK_BACKEND", "dummy"),
        "TOKUI_MAILCATCHER": "false",
        "TOKUI_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The limits stay on (their cost is part of the figure) but high enough for one machine's load generator.
        "TOKUI_TAG_RATE_LIMIT_PER_KEY": "100000000",
        "TOKUI_TAG_RATE_LIMIT_PER_IP": "100000000",
    }
    app = "tokui.wsgi:application" if interface == "wsgi" else "tokui.asgi:application"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--interface",
        interface,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    command += ["--workers", str(WORKERS), "--log-level", "warning", "--no-access-log"]
    command += ["--lifespan", "on" if interface != "wsgi" else "off", "--loop", "uvloop", "--http", "httptools"]
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the server did not start within 60 s")


def wrk_available() -> bool:
    if shutil.which("wrk"):
        return True
    subprocess.run(["bash", str(ROOT / "scripts/apt-install"), "wrk"], check=False, capture_output=True)
    return shutil.which("wrk") is not None


def run_wrk(url: str, per_request: int, seconds: int, run: str, rate: int | None = None) -> LoadResult:
    """``rate``: requests a second in all, paced; ``None``: as fast as the server answers."""
    stamp = timezone.now().isoformat().replace("+00:00", "Z")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as script:
        script.write(WRK_SCRIPT)
        if rate is not None:
            script.write(WRK_PACING.replace("RATE", str(rate)))
    command = ["wrk", "-t", "1", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--timeout", "5s", "-s", script.name]
    command += [url, "--", str(per_request), stamp, run, ORIGIN]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    os.unlink(script.name)
    match = re.search(
        r"WRK requests=(\d+) non2xx=(\d+) errors=(\d+) seconds=([\d.]+) p50_us=(\d+) p99_us=(\d+)", output
    )
    if match is None:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    requests, non2xx, errors, secs, p50, p99 = match.groups()
    return LoadResult(int(requests), int(non2xx) + int(errors), float(secs), int(p50) / 1000, int(p99) / 1000)


async def _client(host: str, port: int, path: str, per_request: int, run: str, until: float, out: list[float]) -> int:
    """A keep-alive HTTP/1.1 client for machines without wrk: one request at a time on one connection."""
    reader, writer = await asyncio.open_connection(host, port)
    failed, sent = 0, 0
    stamp = timezone.now().isoformat()
    while time.perf_counter() < until:
        sent += 1
        events = [
            {"id": f"{run}{id(writer)}n{sent}e{i}", "type": "page_viewed", "occurred_at": stamp, "properties": {}}
            for i in range(per_request)
        ]
        body = json.dumps({"anonymous_id": f"{run}-anon-{sent % 2000}", "sent_at": stamp, "events": events}).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: {ORIGIN}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        started = time.perf_counter()
        writer.write(head.encode() + body)
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        out.append((time.perf_counter() - started) * 1000)
        failed += b" 200 " not in status_line
    writer.close()
    return failed


def run_asyncio(port: int, path: str, per_request: int, seconds: int, run: str) -> LoadResult:
    async def main() -> LoadResult:
        latencies: list[float] = []
        start = time.perf_counter()
        until = start + seconds
        failures = await asyncio.gather(
            *(_client("127.0.0.1", port, path, per_request, run, until, latencies) for _ in range(CONNECTIONS))
        )
        elapsed = time.perf_counter() - start
        latencies.sort()
        return LoadResult(
            len(latencies),
            sum(failures),
            elapsed,
            latencies[len(latencies) // 2],
            latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        )

    return asyncio.run(main())


def queryable_delays(port: int, path: str, site: TrackingSite, count: int = 30) -> list[float]:
    """Send one event, then ask the database for it until it is there: the time from send to visible."""
    delays = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(count):
        event_id = uuid.uuid4().hex
        body = json.dumps(
            {
                "anonymous_id": "bench-visibility",
                "events": [{"id": event_id, "type": "page_viewed", "occurred_at": timezone.now().isoformat()}],
            }
        )
        started = time.perf_counter()
        conn.request("POST", path, body=body, headers={"Origin": ORIGIN, "Content-Type": "text/plain"})
        conn.getresponse().read()
        key = f"{site.pk}:{event_id}"
        while not Event.objects.filter(source="tag", idempotency_key=key).exists():
            if time.perf_counter() - started > 10:
                break
            time.sleep(0.001)
        delays.append((time.perf_counter() - started) * 1000)
    return delays


def copy_rate(rows: int) -> float | None:
    """A bare COPY of rows shaped like the tag's into the same table, with its indexes: the ceiling to compare with."""
    if connection.vendor != "postgresql":
        return None
    now = timezone.now()
    props = json.dumps(
        {"url": "https://shop.example.jp/products/TS-1", "title": "リネンシャツ | デモ"}, ensure_ascii=False
    )
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    started = time.perf_counter()
    with raw.cursor() as cursor:
        columns = "type, occurred_at, received_at, anonymous_id, properties, source, idempotency_key, dispatched_at"
        with cursor.copy(f"COPY tracking_event ({columns}) FROM STDIN") as copy:
            run = uuid.uuid4().hex[:8]
            for n in range(rows):
                copy.write_row(("page_viewed", now, now, f"copy-{n % 2000}", props, "bench-copy", f"{run}-{n}", now))
    raw.commit()
    return rows / (time.perf_counter() - started)


def main() -> None:
    print(f"database={connection.vendor}")
    site = tracking_site_create(name=f"bench {uuid.uuid4().hex[:6]}", allowed_origins=[ORIGIN])
    port = free_port()
    path = f"/t/v1/batch?key={site.write_key}"
    url = f"http://127.0.0.1:{port}{path}"
    before = Event.objects.filter(source="tag").count()
    server = start_server(port, INTERFACE)
    try:
        use_wrk = wrk_available()
        generator = "wrk" if use_wrk else "asyncio"
        print(f"ingest_server=uvicorn interface={INTERFACE} workers={WORKERS} load_generator={generator}")
        print(f"ingest_connections={CONNECTIONS} ingest_seconds_per_run={SECONDS} cores={os.cpu_count()}")

        def load(per_request: int, seconds: int, run: str) -> LoadResult:
            if use_wrk:
                return run_wrk(url, per_request, seconds, run)
            return run_asyncio(port, path, per_request, seconds, run)

        load(20, 2, "warm")  # connections, caches and the JIT of the load generator
        batch_run = f"b{uuid.uuid4().hex[:6]}"
        stored_before = Event.objects.filter(source="tag").count()
        batch = load(20, SECONDS, batch_run)
        stored = Event.objects.filter(source="tag").count() - stored_before
        print(
            f"ingest_batch20_events_per_second={batch.ok_per_second * 20:.0f} "
            f"requests_per_second={batch.ok_per_second:.0f} p50_ms={batch.p50_ms:.1f} p99_ms={batch.p99_ms:.1f} "
            f"failed={batch.failed} events_stored={stored} events_sent={(batch.requests - batch.failed) * 20}"
        )
        single = load(1, SECONDS, f"s{uuid.uuid4().hex[:6]}")
        print(
            f"ingest_single_requests_per_second={single.ok_per_second:.0f} p50_ms={single.p50_ms:.1f} "
            f"p99_ms={single.p99_ms:.1f} failed={single.failed}"
        )
        if use_wrk:
            # The latency target holds at the target rates; the runs above are closed loops at saturation, where
            # latency is the connection count over the throughput whatever the server does.
            for per_request, rate in ((20, BATCH_TARGET_EVENTS // 20), (1, SINGLE_TARGET_REQUESTS)):
                paced = run_wrk(url, per_request, SECONDS, f"p{uuid.uuid4().hex[:6]}", rate=rate)
                print(
                    f"ingest_paced_{'batch20' if per_request == 20 else 'single'}_target_requests_per_second={rate} "
                    f"achieved={paced.ok_per_second:.0f} p50_ms={paced.p50_ms:.1f} p99_ms={paced.p99_ms:.1f} "
                    f"failed={paced.failed}"
                )
        else:
            print("ingest_paced=n/a (needs wrk)")
        delays = queryable_delays(port, path, site)
        print(
            f"ingest_queryable_after_ms_p50={statistics.median(delays):.1f} max={max(delays):.1f} samples={len(delays)}"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    total = Event.objects.count()
    print(f"events_in_table={total} tag_events_added={Event.objects.filter(source='tag').count() - before}")
    rate = copy_rate(COPY_ROWS)
    if rate is None:
        print("copy_rows_per_second=n/a (PostgreSQL only)")
    else:
        print(f"copy_rows_per_second={rate:.0f} rows={COPY_ROWS}")


if __name__ == "__main__":
    main()
