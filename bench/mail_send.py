"""Personalised mail end to end: rendered, signed, recorded and handed to a local SMTP sink.

TOKUI_BENCH_MAILS recipients (default 100,000) get a 20 KB HTML marketing mail with a cart-items block (3 items)
and 3 Liquid variables (contact name, company name, coupon code). Measured:

- **end to end** with 2 worker processes already running: outbox rows queued in committed chunks of 10,000
  (``messages_send_in_chunks``, as a segment send queues them), while each worker claims batches of 1,000
  (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), runs the send-time checks (suppression, consent, topic opt-out),
  renders each mail (Liquid, signed click links, open pixel, signed unsubscribe link, MIME assembled from the
  version's skeleton, its parts 8bit since the sink offers 8BITMIME), hands it over SMTP to the sink on one
  connection (ten mails rendered, then sent with BDAT in one go, since the sink offers CHUNKING and PIPELINING as
  Postfix does), and records statuses, the delivery log and the ``mail_sent`` facts in bulk;
- **render only** (one process, the per-recipient work without SMTP or database: the parts rendered to UTF-8 bytes
  and the message assembled, as the SMTP send does);
- **SMTP only** (2 processes handing finished messages to the sink), with BDAT and, as for a server without
  CHUNKING, with pipelined DATA (one round trip a mail);
- **ESP batch render**: 1,000-recipient calls of an ESP that merges per-recipient fields into one body (ADR 32;
  Mailgun's form: the body with placeholders written once per version, each recipient's fields and headers as the
  call's recipient-variables JSON), in one process and in 2 processes at once (as the 2 running workers would
  render them: the clock starts when both have started and rendered a first call); beside it, whole mails
  rendered one a call (an ESP without merging).

End to end, each recipient's cart (3 lines of 50 products) is read from the database as a real send reads it: for
a claimed batch at once (``contexts_prefetch``). The render-only and ESP figures build the same context in the
bench instead (each contact's cart made up from its id), so they measure the rendering alone. The sink is a
minimal asyncio SMTP server in its own process that accepts and discards (the same 2 cores are shared by all; a
real MTA would be on another machine). The tables are vacuumed and analyzed after they are filled, as autovacuum
does in a deployment: the send's reads by a thousand ids each need statistics to use their indexes.

On a machine shared with other work the wall-clock rates swing with its load (printed on the first line), so the
render figures also say how many mails one CPU second renders, and the end-to-end line the workers' own CPU time
per mail (PostgreSQL's and the sink's are not in it).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import multiprocessing
import os
import socket
import sys
import time
import uuid
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tokui.settings")
django.setup()

from django.db import connection, connections  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from tokui.catalog.models import Product  # noqa: E402
from tokui.commerce.models import Cart, CartLine  # noqa: E402
from tokui.customers.enums import Channel, ConsentStatus  # noqa: E402
from tokui.customers.models import Company, Consent, Contact  # noqa: E402
from tokui.messaging import delivery, hand_over  # noqa: E402
from tokui.messaging.channels.base import Envelope  # noqa: E402
from tokui.messaging.channels.email import SmtpChannel  # noqa: E402
from tokui.messaging.channels.esp import EspChannel  # noqa: E402
from tokui.messaging.channels.esp_merge import merge_syntaxes  # noqa: E402
from tokui.messaging.links import opt_out_urls  # noqa: E402
from tokui.messaging.models import MailTemplateVersion, OutboxMessage  # noqa: E402
from tokui.messaging.rendering.compiled import (  # noqa: E402
    assemble_mail,
    compiled_version,
    render_tracked,
    render_tracked_utf8,
)
from tokui.messaging.rendering.merge import merge_mail  # noqa: E402
from tokui.messaging.rendering.mime import AssembledMail  # noqa: E402
from tokui.messaging.segment_sends import QUEUE_CHUNK, messages_send_in_chunks  # noqa: E402
from tokui.messaging.services import mail_template_create, mail_template_save, sender_identity_save  # noqa: E402

MAILS = int(os.environ.get("TOKUI_BENCH_MAILS", "100000"))
WORKERS = 2
BATCH = 1_000
RENDER_SAMPLE = min(MAILS, 20_000)
ESP_CALL = 1_000
ESP_SEND_SAMPLE = min(MAILS, 10_000)
MAILGUN = merge_syntaxes.for_backend("anymail.backends.mailgun.EmailBackend")
assert MAILGUN is not None

# --- the template: 20 KB of realistic table layout around a cart block and three variables -------------------

CART_BLOCK = """
<table role="presentation" width="100%" class="cart">{% for item in cart.items %}
<tr><td class="thumb"><a href="{{ item.url }}">
<img src="{{ item.image_url }}" width="96" alt="{{ item.name }}"></a></td>
<td class="name"><a href="{{ item.url }}">{{ item.name }}</a><br>{{ item.price | yen }} × {{ item.quantity }}</td></tr>
{% endfor %}</table>
<p class="cta"><a class="button" href="{{ cart.url }}">カートを見る</a></p>
"""
FILLER_ROW = (
    '<tr><td class="col"><a href="https://shop.example.jp/categories/{n}?utm_source=mail"><img '
    'src="https://shop.example.jp/media/banner-{n}.jpg" width="280" alt="今週のおすすめ {n}"></a>'
    '<p class="copy">春の新作コレクションが入荷しました。素材にこだわったリネンシャツやコットンパンツなど、'
    "店頭でも人気のアイテムを多数ご用意しております。まとめ買いでさらにお得になります。</p></td></tr>"
)
CSS = """
body { margin: 0; background: #f4f4f4; font-family: 'Hiragino Sans', 'Noto Sans JP', sans-serif; }
.wrap { width: 600px; margin: 0 auto; background: #ffffff; }
.cart td { padding: 8px; border-bottom: 1px solid #eeeeee; }
.thumb img { border-radius: 4px; }
.name a { color: #222222; text-decoration: none; font-weight: bold; }
.button { display: inline-block; padding: 12px 24px; background: #c0392b; color: #ffffff; border-radius: 4px; }
.copy { font-size: 14px; line-height: 1.7; color: #444444; }
.col { padding: 12px; }
"""


def template_html() -> str:
    head = '<table role="presentation" class="wrap"><tr><td><h1>{{ contact.name | default: "ご担当者" }}様</h1>'
    head += (
        "<p>{{ company.name }}様、いつもご利用ありがとうございます。クーポン {{ coupon.code }} をご利用ください。</p>"
    )
    body = head + CART_BLOCK + "<table>"
    n = 0
    while len(body.encode()) < 20_000:
        body += FILLER_ROW.format(n=n)
        n += 1
    return body + "</table></td></tr></table>"


def bench_context(contact_id: int, name: str, company: str, sender: dict[str, str], message_pk: int) -> dict[str, Any]:
    items = [
        {
            "name": f"リネンシャツ {contact_id % 7 + index}",
            "image_url": f"https://shop.example.jp/media/products/{index}.jpg",
            "price": 4900 + index * 1000,
            "quantity": 1 + (contact_id + index) % 3,
            "url": f"https://shop.example.jp/products/{contact_id % 50 + index}",
        }
        for index in range(3)
    ]
    opt_out = opt_out_urls(message_id=message_pk, contact_id=contact_id)
    return {
        "contact": {"name": name, "email": ""},
        "company": {"name": company},
        "cart": {"items": items, "url": "https://shop.example.jp/cart"},
        "coupon": {"code": "SPRING10"},
        "sender": sender,
        "unsubscribe_url": opt_out[0],
        "preferences_url": opt_out[1],
    }


# --- a minimal SMTP sink --------------------------------------------------------------------------------------


class _SinkProtocol(asyncio.Protocol):
    """One SMTP session of the sink: commands are answered, DATA content read up to its closing dot, BDAT content
    counted off by its size; messages are counted and thrown away. A protocol on the event loop's buffers rather
    than a StreamReader coroutine: the sink shares the 2 cores with the workers and PostgreSQL, and its own cost
    per mail is not what is measured."""

    def __init__(self, counter: Any, *, chunking: bool) -> None:
        self.counter, self.chunking = counter, chunking
        self.buffer = bytearray()
        self.in_data = False
        self.chunk_left = 0
        self.chunk_last = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        if self.chunk_left and not self.buffer:  # the middle of a large chunk: counted off without copying
            taken = min(self.chunk_left, len(data))
            self.chunk_left -= taken
            data = data[taken:]
            if not self.chunk_left:
                self._chunk_done()
            if not data:
                return
        self.buffer += data
        replies: list[bytes] = []
        delivered = 0
        buffer = self.buffer
        while buffer:
            if self.chunk_left:
                taken = min(self.chunk_left, len(buffer))
                del buffer[:taken]
                self.chunk_left -= taken
                if self.chunk_left:
                    break
                delivered += self.chunk_last
                replies.append(b"250 2.0.0 OK queued\r\n" if self.chunk_last else b"250 2.0.0 chunk\r\n")
                continue
            if self.in_data:
                end = buffer.find(b"\r\n.\r\n")
                if end < 0:
                    break
                del buffer[: end + 5]
                self.in_data = False
                delivered += 1
                replies.append(b"250 OK queued\r\n")
                continue
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                break
            line = bytes(buffer[:line_end])
            del buffer[: line_end + 2]
            command = line[:4].upper()
            if command in (b"EHLO", b"HELO"):
                replies.append(b"250-sink\r\n250-PIPELINING\r\n" + (b"250-CHUNKING\r\n" if self.chunking else b"")
                               + b"250 8BITMIME\r\n")  # fmt: skip
            elif command == b"DATA":
                self.in_data = True
                replies.append(b"354 go ahead\r\n")
            elif command == b"BDAT":
                size, _space, last = line[5:].partition(b" ")
                self.chunk_left, self.chunk_last = int(size), last.upper() == b"LAST"
                if not self.chunk_left:
                    replies.append(b"250 2.0.0 OK queued\r\n")
                    delivered += self.chunk_last
            elif command == b"QUIT":
                replies.append(b"221 bye\r\n")
            else:
                replies.append(b"250 OK\r\n")
        if delivered:
            with self.counter.get_lock():
                self.counter.value += delivered
        if replies and self.transport is not None:
            self.transport.write(b"".join(replies))

    def _chunk_done(self) -> None:
        if self.chunk_last:
            with self.counter.get_lock():
                self.counter.value += 1
        if self.transport is not None:
            self.transport.write(b"250 2.0.0 OK queued\r\n" if self.chunk_last else b"250 2.0.0 chunk\r\n")


def run_sink(port: int, counter: Any, chunking: bool = True) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _SinkProtocol(counter, chunking=chunking), "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- set-up ----------------------------------------------------------------------------------------------------


def setup() -> tuple[MailTemplateVersion, list[int]]:
    run = uuid.uuid4().hex[:6]
    sender = sender_identity_save(
        name="得意商事", email="shop@tokui.example.jp", company_name="得意商事株式会社",
        postal_address="東京都千代田区丸の内1-1-1", is_default=True,
    )  # fmt: skip
    template = mail_template_create(
        name=f"bench {run}", subject="{{ contact.name }}様、カートに商品が残っています", sender=sender
    )
    version = mail_template_save(template=template, html=template_html(), css=CSS)
    companies = Company.objects.bulk_create(
        (
            Company(name=f"ベンチ商店{run}-{n}", source="bench", external_id=f"{run}-c{n}")
            for n in range(MAILS // 10 or 1)
        ),
        batch_size=5000,
    )
    contacts = Contact.objects.bulk_create(
        (
            Contact(
                name=f"山田 太郎{n}",
                email=f"bench-{run}-{n}@example.jp",
                company=companies[n % len(companies)],
                source="bench",
                external_id=f"{run}-p{n}",
            )
            for n in range(MAILS)
        ),
        batch_size=5000,
    )
    ids = [c.pk for c in contacts]
    now = timezone.now()
    # Every recipient has a cart of 3 lines, read from the database by the end-to-end send.
    products = Product.objects.bulk_create(
        Product(sku=f"bench-{run}-{n}", name=f"リネンシャツ {n}", price=4900 + n * 100, image=f"products/{n}.jpg",
                url=f"https://shop.example.jp/products/{n}")
        for n in range(50)
    )  # fmt: skip
    carts = Cart.objects.bulk_create(
        (
            Cart(contact_id=pk, last_activity_at=now, recovery_url=f"https://shop.example.jp/cart/{pk}",
                 source="bench", external_id=f"{run}-cart{pk}")
            for pk in ids
        ),
        batch_size=5000,
    )  # fmt: skip
    CartLine.objects.bulk_create(
        (
            CartLine(cart=cart, product=products[(n + item) % 50], quantity=1 + (n + item) % 3,
                     unit_price=products[(n + item) % 50].price, added_at=now)
            for n, cart in enumerate(carts)
            for item in range(3)
        ),
        batch_size=5000,
    )  # fmt: skip
    Consent.objects.bulk_create(
        (
            Consent(contact_id=pk, channel=Channel.EMAIL, status=ConsentStatus.GRANTED, source="bench", recorded_at=now)
            for pk in ids
        ),
        batch_size=5000,
    )
    # A deployment's tables are vacuumed and have statistics (autovacuum sees to it after a load); without
    # statistics the planner takes a thousand contact ids for most of a table and reads the carts and consents
    # whole for every batch, and the first readers of the new rows would write their hint bits.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (Contact, Company, Cart, CartLine, Consent, Product, OutboxMessage):
                cursor.execute(f"VACUUM ANALYZE {table._meta.db_table}")
    return version, ids


# --- the workers -----------------------------------------------------------------------------------------------


def worker(port: int, results: Any, queued_all: Any) -> None:
    connections.close_all()
    channel = SmtpChannel(host="127.0.0.1", port=port)
    sent = 0
    cpu = time.process_time()
    while True:
        report = delivery.outbox_deliver(limit=BATCH, channel=channel)
        if report.claimed == 0:
            if queued_all.is_set():
                break
            time.sleep(0.005)  # the next chunk is being queued
            continue
        sent += report.sent
    channel.close()
    results.put((sent, time.process_time() - cpu))


def end_to_end(version: MailTemplateVersion, ids: list[int], port: int) -> tuple[float, int, float, float]:
    """The workers run already (as a deployment's do); the send is queued a committed chunk at a time, as a
    segment send is (``messages_send_in_chunks``), so they start on the first chunk."""
    connections.close_all()  # not shared with the forked workers
    results: Any = multiprocessing.Queue()
    queued_all = multiprocessing.Event()
    processes = [multiprocessing.Process(target=worker, args=(port, results, queued_all)) for _ in range(WORKERS)]
    for process in processes:
        process.start()
    start = time.perf_counter()
    messages_send_in_chunks(
        template_version=version, contact_ids=ids, campaign_id="bench", idempotency_prefix=f"bench:{uuid.uuid4().hex}"
    )
    recorded = time.perf_counter() - start
    queued_all.set()
    connections.close_all()
    answers = [results.get() for _ in processes]
    for process in processes:
        process.join()
    sent, cpu = sum(answer[0] for answer in answers), sum(answer[1] for answer in answers)
    return time.perf_counter() - start, sent, recorded, cpu


def hot_update_share() -> float:
    """The share of the outbox's row updates PostgreSQL made HOT (the workers have exited, so their counts are in)."""
    time.sleep(0.6)  # a backend's counters reach the shared statistics within a second of its last transaction
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = %s",
            [OutboxMessage._meta.db_table],
        )
        updates, hot = cursor.fetchone()
    return hot / max(updates, 1)


def render_only(version: MailTemplateVersion) -> tuple[float, float]:
    compiled = compiled_version(version=version, sender=hand_over.sender_data(version.template.sender))
    sender = compiled.sender.as_context()
    start, cpu = time.perf_counter(), time.process_time()
    for n in range(RENDER_SAMPLE):
        context = bench_context(n, f"山田 太郎{n}", f"ベンチ商店{n}", sender, n)
        parts = render_tracked_utf8(compiled, context=context, message_pk=n, contact_id=n)
        assemble_mail(compiled, parts=parts, rfc_message_id=f"<{n}@bench>", to_email=f"u{n}@example.jp",
                      to_name=f"山田 太郎{n}", unsubscribe_url=context["unsubscribe_url"], eight_bit=True)  # fmt: skip
    return RENDER_SAMPLE / (time.perf_counter() - start), RENDER_SAMPLE / (time.process_time() - cpu)


def esp_batch_render(version: MailTemplateVersion, *, sample: int = RENDER_SAMPLE) -> tuple[float, float]:
    """Recipients rendered into 1,000-recipient calls of an ESP that merges (Mailgun's form: one body with
    ``%recipient.NAME%`` placeholders, written once, and the recipient variables as the JSON the call carries)."""
    compiled = compiled_version(version=version, sender=hand_over.sender_data(version.template.sender))
    form = merge_mail(compiled)
    sender = compiled.sender.as_context()
    calls = max(1, sample // ESP_CALL)
    start, cpu = time.perf_counter(), time.process_time()
    for call in range(calls):
        _subject, _html, _text = form.fixed_parts(MAILGUN.placeholder, key=MAILGUN.name)
        variables = {}
        for n in range(call * ESP_CALL, (call + 1) * ESP_CALL):
            context = bench_context(n, f"山田 太郎{n}", f"ベンチ商店{n}", sender, n)
            fields = form.fields(context=context, message_pk=n, contact_id=n)
            fields["h:Message-ID"] = f"<{n}@bench>"
            fields["h:List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
            fields["v:tokui_outbox_id"] = str(n)
            variables[f"u{n}@example.jp"] = fields
        payload = json.dumps(variables)  # as anymail serialises recipient-variables
        assert payload
    done = calls * ESP_CALL
    return done / (time.perf_counter() - start), done / (time.process_time() - cpu)


def esp_single_render(version: MailTemplateVersion, *, sample: int = RENDER_SAMPLE) -> tuple[float, float]:
    """Recipients rendered whole, one mail a call (an ESP without merging: Postmark, Amazon SES)."""
    compiled = compiled_version(version=version, sender=hand_over.sender_data(version.template.sender))
    sender = compiled.sender.as_context()
    start, cpu = time.perf_counter(), time.process_time()
    for n in range(sample):
        context = bench_context(n, f"山田 太郎{n}", f"ベンチ商店{n}", sender, n)
        parts = render_tracked(compiled, context=context, message_pk=n, contact_id=n)
        headers = {"Message-ID": f"<{n}@bench>", "List-Unsubscribe": f"<{context['unsubscribe_url']}>"}
        payload = {"to": f"u{n}@example.jp", "subject": parts.subject, "html": parts.html, "text": parts.text}
        assert payload and headers
    return sample / (time.perf_counter() - start), sample / (time.process_time() - cpu)


def _esp_worker(version: MailTemplateVersion, sample: int, ready: Any, results: Any) -> None:
    connections.close_all()  # the parent's connection is not this process's to use
    esp_batch_render(version, sample=ESP_CALL)  # a running worker has its version prepared and its pages its own
    ready.wait()
    esp_batch_render(version, sample=sample)
    results.put(sample)


def esp_batch_render_processes(version: MailTemplateVersion) -> float:
    """ESP batches rendered by WORKERS processes at once, as the running workers would (started, and one call
    rendered, before the clock starts: a process start and its first call are not a recipient's cost): recipients
    per second in all."""
    results: Any = multiprocessing.Queue()
    ready: Any = multiprocessing.Barrier(WORKERS + 1)
    sample = RENDER_SAMPLE // WORKERS // ESP_CALL * ESP_CALL
    processes = [
        multiprocessing.Process(target=_esp_worker, args=(version, sample, ready, results)) for _ in range(WORKERS)
    ]
    connections.close_all()
    for process in processes:
        process.start()
    ready.wait()
    start = time.perf_counter()
    total = sum(results.get() for _ in processes)
    seconds = time.perf_counter() - start
    for process in processes:
        process.join()
    return total / seconds


def _smtp_only_worker(port: int, mail: AssembledMail, count: int, chunking: bool, results: Any) -> None:
    channel = SmtpChannel(host="127.0.0.1", port=port, chunking=chunking)
    envelopes = [
        Envelope(
            outbox_id=n,
            mail_from="shop@tokui.example.jp",
            to=f"u{n}@example.jp",
            raw=mail.raw,
            crlf_only=True,
            eight_bit=mail.eight_bit,
            dot_free=mail.dot_free,
        )
        for n in range(count)
    ]
    start = time.perf_counter()
    ok = sum(1 for result in channel.send_many(envelopes) if result.outcome == "sent")
    channel.close()
    results.put((ok, time.perf_counter() - start))


class _MailgunSink(http.server.BaseHTTPRequestHandler):
    """Answers Mailgun's send API as Mailgun does (200, a message id); reads and discards the request."""

    protocol_version = "HTTP/1.1"  # keep-alive: requests' session reuses the connection, as with the real API
    disable_nagle_algorithm = True  # headers and body are written apart: no 40 ms wait for a delayed ACK

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = b'{"id": "<1@mg.example>", "message": "Queued. Thank you."}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _run_mailgun_sink(port: int) -> None:
    http.server.ThreadingHTTPServer(("127.0.0.1", port), _MailgunSink).serve_forever()


def esp_send(version: MailTemplateVersion, *, merge: bool, recipients: int) -> float:
    """Recipients/s handed to Mailgun's API (a local stand-in in its own process) through anymail's real backend:
    with merging, calls of 1,000 recipients' fields; without, one call a whole mail."""
    port = free_port()
    sink = multiprocessing.Process(target=_run_mailgun_sink, args=(port,), daemon=True)
    sink.start()
    time.sleep(0.3)
    compiled = compiled_version(version=version, sender=hand_over.sender_data(version.template.sender))
    form = merge_mail(compiled)
    sender = compiled.sender.as_context()
    with override_settings(ANYMAIL={"MAILGUN_API_KEY": "key-bench", "MAILGUN_API_URL": f"http://127.0.0.1:{port}/v3"}):
        channel = EspChannel(backend="anymail.backends.mailgun.EmailBackend")
        start, sent = time.perf_counter(), 0
        for call in range(0, recipients, ESP_CALL):
            envelopes = []
            for n in range(call, min(call + ESP_CALL, recipients)):
                context = bench_context(n, f"山田 太郎{n}", f"ベンチ商店{n}", sender, n)
                envelope = Envelope(outbox_id=n, mail_from="shop@tokui.example.jp", to=f"u{n}@example.jp", raw=b"")
                envelope.from_header = compiled.skeleton.from_header
                envelope.headers = {"Message-ID": f"<{n}@bench>", "List-Unsubscribe": f"<{context['unsubscribe_url']}>"}
                if merge:
                    envelope.merge = form
                    envelope.merge_fields = form.fields(context=context, message_pk=n, contact_id=n)
                else:
                    parts = render_tracked(compiled, context=context, message_pk=n, contact_id=n)
                    envelope.subject, envelope.html, envelope.text = parts.subject, parts.html, parts.text
                envelopes.append(envelope)
            sent += sum(1 for result in channel.send_many(envelopes) if result.outcome == "sent")
        seconds = time.perf_counter() - start
        channel.close()
    sink.terminate()
    assert sent == recipients
    return recipients / seconds


def smtp_only(version: MailTemplateVersion, port: int, *, chunking: bool) -> float:
    compiled = compiled_version(version=version, sender=hand_over.sender_data(version.template.sender))
    context = bench_context(1, "山田 太郎", "ベンチ商店", compiled.sender.as_context(), 1)
    parts = render_tracked(compiled, context=context, message_pk=1, contact_id=1)
    mail = assemble_mail(compiled, parts=parts, rfc_message_id="<1@bench>", to_email="u@example.jp", to_name="山田",
                         unsubscribe_url=context["unsubscribe_url"], eight_bit=True)  # fmt: skip
    count = RENDER_SAMPLE // WORKERS
    results: Any = multiprocessing.Queue()
    start = time.perf_counter()
    processes = [
        multiprocessing.Process(target=_smtp_only_worker, args=(port, mail, count, chunking, results))
        for _ in range(WORKERS)
    ]
    for process in processes:
        process.start()
    total = sum(results.get()[0] for _ in processes)
    for process in processes:
        process.join()
    return total / (time.perf_counter() - start)


def main() -> None:
    multiprocessing.set_start_method("fork")
    version, ids = setup()
    html_bytes = len(version.html.encode())
    port = free_port()
    counter: Any = multiprocessing.Value("l", 0)
    sink = multiprocessing.Process(target=run_sink, args=(port, counter), daemon=True)
    sink.start()
    time.sleep(0.5)
    try:
        print(f"mail_send_data recipients={MAILS} template_html_bytes={html_bytes} cart_items=3 liquid_variables=3 "
              f"workers={WORKERS} batch={BATCH} database={connection.vendor} smtp=CHUNKING+PIPELINING+8BITMIME "
              f"load={os.getloadavg()[0]:.1f}")  # fmt: skip
        rate, per_cpu = render_only(version)
        print(f"mail_render_only_per_process={rate:.0f} mails/s ({per_cpu:.0f} per CPU second, sample {RENDER_SAMPLE})")
        rate, per_cpu = esp_single_render(version)
        print(f"mail_esp_single_render_per_process={rate:.0f} recipients/s ({per_cpu:.0f} per CPU second, whole "
              f"mails, one a call: an ESP without merging)")  # fmt: skip
        rate, per_cpu = esp_batch_render(version)
        print(f"mail_esp_batch_render_per_process={rate:.0f} recipients/s ({per_cpu:.0f} per CPU second, "
              f"calls of {ESP_CALL}, fields merged by the ESP)")  # fmt: skip
        rate = esp_batch_render_processes(version)
        print(f"mail_esp_batch_render={rate:.0f} recipients/s ({WORKERS} processes, calls of {ESP_CALL}, fields "
              f"merged by the ESP)")  # fmt: skip
        print(f"mail_esp_send_batched={esp_send(version, merge=True, recipients=ESP_SEND_SAMPLE):.0f} recipients/s "
              f"(one process, anymail's Mailgun backend to a local stand-in of the API, calls of {ESP_CALL}, "
              f"sample {ESP_SEND_SAMPLE})")  # fmt: skip
        print(f"mail_esp_send_one_a_call={esp_send(version, merge=False, recipients=ESP_SEND_SAMPLE // 5):.0f} "
              f"recipients/s (the same, one whole mail a call, sample {ESP_SEND_SAMPLE // 5})")  # fmt: skip
        print(f"mail_smtp_only={smtp_only(version, port, chunking=True):.0f} mails/s ({WORKERS} processes, "
              f"sample {RENDER_SAMPLE}, BDAT)")  # fmt: skip
        print(f"mail_smtp_only_data={smtp_only(version, port, chunking=False):.0f} mails/s ({WORKERS} processes, "
              f"sample {RENDER_SAMPLE}, pipelined DATA: a server without CHUNKING)")  # fmt: skip
        received_before = counter.value
        seconds, sent, recorded, cpu = end_to_end(version, ids, port)
        print(f"mail_outbox_record={MAILS / recorded:.0f} rows/s ({recorded:.1f} s for {MAILS} outbox rows, queued in "
              f"committed chunks of {QUEUE_CHUNK} while the workers send)")  # fmt: skip
        print(f"mail_send_end_to_end={sent / seconds:.0f} mails/s ({sent} sent in {seconds:.1f} s from the call that "
              f"queues them, outbox rows included; {counter.value - received_before} received by the sink; workers' "
              f"own CPU {cpu / max(sent, 1) * 1e6:.0f} µs per mail, database and sink not counted)")  # fmt: skip
        statuses = dict(OutboxMessage.objects.filter(campaign_id="bench").values_list("status").annotate(n=Count("id")))
        print(f"mail_send_statuses={statuses}")
        if connection.vendor == "postgresql":
            print(f"mail_outbox_hot_updates={hot_update_share():.0%} (updates of outbox rows that wrote no index "
                  "entry, ADR 39)")  # fmt: skip
    finally:
        sink.terminate()


if __name__ == "__main__":
    sys.exit(main())
