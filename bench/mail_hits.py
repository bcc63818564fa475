"""Mail open and click hits: the signed redirect and the open pixel under load, on this machine.

Signs links for 1,000 contacts, starts the app like bench/ingest.py (uvicorn, 2 workers, ASGI: the hits are answered
in front of Django) and drives it with `wrk` for TOKUI_BENCH_SECONDS per run: clicks (302 to the shop), then opens
(the GIF), as fast as the server answers, then both paced at the issue's target rate (5,000 hits/s). Prints hits/s,
p50/p99 latency, and how many hits reached the timeline once the writers had drained. Run through `make bench`;
`python bench/mail_hits.py` works too.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings

from ingest import (  # the same server set-up and the same pacing
    CONNECTIONS,
    SECONDS,
    WORKERS,
    WRK_PACING,
    free_port,
    start_server,
    wrk_available,
)
from tokui.customers.models import Company, Contact
from tokui.messaging.links import mail_click_url, mail_open_url
from tokui.tracking.models import Event

CONTACTS = 1_000
# The target: 5,000 hits/s with the redirect's p99 < 20 ms.
TARGET_HITS = 5_000

WRK_SCRIPT = r"""
local paths = {}
function init(args)
  for line in io.lines(args[1]) do table.insert(paths, line) end
  counter = 0
end
function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
function done(summary, latency, requests)
  local failed = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("WRK requests=%d non2xx=%d errors=%d seconds=%.3f p50_us=%d p99_us=%d\n",
    summary.requests, summary.errors.status, failed, summary.duration / 1e6, latency:percentile(50),
    latency:percentile(99)))
end
"""


def contacts() -> list[int]:
    run = uuid.uuid4().hex[:6]
    companies = Company.objects.bulk_create(
        Company(name=f"ベンチ商店 {run} {n}", source="bench", external_id=f"{run}-c{n}") for n in range(CONTACTS // 4)
    )
    created = Contact.objects.bulk_create(
        Contact(
            name=f"担当 {n}",
            email=f"bench-{run}-{n}@example.jp",
            company=companies[n % len(companies)],
            source="bench",
            external_id=f"{run}-p{n}",
        )
        for n in range(CONTACTS)
    )
    return [contact.pk for contact in created]


def wrk(url: str, paths: list[str], seconds: int, rate: int | None = None) -> dict[str, float]:
    """``rate``: hits a second in all, paced; ``None``: as fast as the server answers."""
    with tempfile.TemporaryDirectory() as folder:
        script, listing = Path(folder) / "hits.lua", Path(folder) / "paths.txt"
        pacing = WRK_PACING.replace("RATE", str(rate)) if rate is not None else ""
        script.write_text(WRK_SCRIPT + pacing, encoding="utf-8")
        listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
        command = ["wrk", "-t", "1", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--timeout", "5s", "-s", str(script)]
        output = subprocess.run(
            [*command, url, "--", str(listing)], check=True, capture_output=True, text=True, timeout=seconds + 60
        ).stdout
    match = re.search(
        r"WRK requests=(\d+) non2xx=(\d+) errors=(\d+) seconds=([\d.]+) p50_us=(\d+) p99_us=(\d+)", output
    )
    if match is None:
        raise SystemExit(f"could not read wrk's output:\n{output}")
    requests, non2xx, errors, secs, p50, p99 = match.groups()
    return {
        "requests": int(requests),
        # wrk counts a 302 as a "non-2xx" answer; the clicks are meant to redirect.
        "non2xx": int(non2xx),
        "failed": int(errors),
        "seconds": float(secs),
        "p50_ms": int(p50) / 1000,
        "p99_ms": int(p99) / 1000,
    }


def stored_after(before: int, expected: int, *, kind: str) -> int:
    """Hits are written moments after the answer: wait (at most 10 s) for the writers to drain."""
    deadline = time.monotonic() + 10
    while True:
        stored = Event.objects.filter(type=kind, source="mail").count() - before
        if stored >= expected or time.monotonic() > deadline:
            return stored
        time.sleep(0.1)


def main() -> None:
    if not wrk_available():
        print("mail_hits=skipped (wrk is not installed)")
        return
    ids = contacts()
    shop = "https://shop.example.jp/products/TS-0001?utm_source=tokui"
    site = settings.SITE_URL.rstrip("/")
    clicks = [mail_click_url(message_id=1, contact_id=pk, url=shop).removeprefix(site) for pk in ids]
    opens = [mail_open_url(message_id=1, contact_id=pk).removeprefix(site) for pk in ids]
    port = free_port()
    server = start_server(port, "asgi3")
    try:
        print(f"mail_hits_server=uvicorn workers={WORKERS} connections={CONNECTIONS} seconds_per_run={SECONDS}")
        print(f"mail_hits_contacts={CONTACTS} cores={os.cpu_count()}")
        url = f"http://127.0.0.1:{port}"
        wrk(url, clicks, 2)  # warm up
        time.sleep(1)  # let the warm-up hits be written before counting
        for name, paths, kind, status in (
            ("click", clicks, "mail_clicked", "302"),
            ("open", opens, "mail_opened", "200"),
        ):
            before = Event.objects.filter(type=kind, source="mail").count()
            result = wrk(url, paths, SECONDS)
            answered = result["requests"] - result["failed"]
            stored = stored_after(before, int(answered), kind=kind)
            print(
                f"mail_{name}_hits_per_second={answered / result['seconds']:.0f} p50_ms={result['p50_ms']:.1f} "
                f"p99_ms={result['p99_ms']:.1f} status={status} failed={result['failed']:.0f} "
                f"answered={answered:.0f} stored={stored}"
            )
        # The latency target holds at the target rate; the runs above are closed loops at saturation.
        for name, paths in (("click", clicks), ("open", opens)):
            paced = wrk(url, paths, SECONDS, rate=TARGET_HITS)
            answered = paced["requests"] - paced["failed"]
            print(
                f"mail_{name}_paced_target_hits_per_second={TARGET_HITS} achieved={answered / paced['seconds']:.0f} "
                f"p50_ms={paced['p50_ms']:.1f} p99_ms={paced['p99_ms']:.1f} failed={paced['failed']:.0f}"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
