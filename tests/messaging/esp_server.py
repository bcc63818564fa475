"""A local stand-in for Mailgun's and SendGrid's send APIs: checks the documented request shapes, records each
call, and can answer with an error or drop the connection. The real anymail backends talk to it over HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from tests.http_stub import serving


@dataclass
class EspCall:
    path: str
    headers: dict[str, str]
    # Mailgun: form fields (a name may repeat: every "to"); SendGrid: the JSON body.
    form: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.form if key == name]

    def value(self, name: str) -> str:
        [value] = self.values(name)
        return value


@dataclass
class EspServer:
    port: int = 0
    calls: list[EspCall] = field(default_factory=list)
    # What the next calls get: "ok", an HTTP status code, or "drop" (connection closed without an answer).
    answer: str | int = "ok"
    problems: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _form(content_type: str, body: bytes) -> list[tuple[str, str]]:
    message = BytesParser(policy=policy.default).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    )
    fields = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        fields.append((str(name), part.get_content()))
    return fields


def _check_mailgun(call: EspCall, problems: list[str]) -> None:
    if not call.path.startswith("/v3/") or not call.path.endswith("/messages"):
        problems.append(f"mailgun: unexpected path {call.path}")
    auth = call.headers.get("Authorization", "")
    if base64.b64decode(auth.removeprefix("Basic ")).decode() != "api:key-test":
        problems.append("mailgun: not basic auth api:key-test")
    for name in ("from", "subject", "html", "text"):
        if len(call.values(name)) != 1:
            problems.append(f"mailgun: {name} missing or repeated")
    to = call.values("to")
    if len(to) > 1000:
        problems.append("mailgun: more than 1,000 recipients in one call")
    if call.values("recipient-variables"):
        variables = json.loads(call.value("recipient-variables"))
        if set(variables) != set(to):
            problems.append("mailgun: recipient-variables not keyed by exactly the recipients")


def _check_sendgrid(call: EspCall, problems: list[str]) -> None:
    if call.path != "/v3/mail/send":
        problems.append(f"sendgrid: unexpected path {call.path}")
    if call.headers.get("Authorization") != "Bearer key-test":
        problems.append("sendgrid: not bearer key-test")
    body = call.body
    personalizations = body.get("personalizations", [])
    if not 1 <= len(personalizations) <= 1000:
        problems.append("sendgrid: 1 to 1,000 personalizations")
    for personalization in personalizations:
        size = sum(len(k) + len(v.encode()) for k, v in personalization.get("substitutions", {}).items())
        if size > 10_000:
            problems.append("sendgrid: substitutions over 10,000 bytes")
    if not body.get("from", {}).get("email") or not body.get("content"):
        problems.append("sendgrid: from or content missing")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        call = EspCall(path=self.path, headers=dict(self.headers.items()))
        content_type = self.headers.get("Content-Type", "")
        if self.path.endswith("/messages"):  # Mailgun: a form, URL-encoded (multipart only with attachments)
            if content_type.startswith("multipart/form-data"):
                call.form = _form(content_type, raw)
            else:
                call.form = parse_qsl(raw.decode(), keep_blank_values=True, strict_parsing=True)
            _check_mailgun(call, state.problems)
        else:
            call.body = json.loads(raw)
            _check_sendgrid(call, state.problems)
        state.calls.append(call)
        if state.answer == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if isinstance(state.answer, int):
            self._reply(state.answer, {"message": "simulated failure"})
        elif call.form:
            self._reply(200, {"id": f"<call{len(state.calls)}@mg.example>", "message": "Queued. Thank you."})
        else:
            self._reply(202, None, message_id=f"sg{len(state.calls)}")

    def _reply(self, status: int, payload: Any, *, message_id: str = "") -> None:
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        if message_id:
            self.send_header("X-Message-Id", message_id)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    state: EspServer


@contextmanager
def running_esp_server() -> Iterator[EspServer]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    state = EspServer(port=server.server_address[1])
    server.state = state
    with serving(server):
        yield state
