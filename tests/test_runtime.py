"""The embedded run: one process serves the app, runs the task worker and the scheduler, and catches mail."""

from __future__ import annotations

import os
import smtplib
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from email.message import EmailMessage
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(predicate: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_serve_answers_healthz_runs_tasks_and_catches_mail(tmp_path: Path) -> None:
    http_port, smtp_port = _free_port(), _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TOKUI_") and k != "DJANGO_SETTINGS_MODULE"},
        "TOKUI_VAR_DIR": str(tmp_path),
        "TOKUI_EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "TOKUI_HTTP_PORT": str(http_port),
    }
    subprocess.run([sys.executable, "-m", "tokui", "migrate", "-v", "0"], env=env, check=True)
    server = subprocess.Popen([sys.executable, "-m", "tokui", "serve"], env=env)
    try:
        assert _wait_for(lambda: _healthy(f"http://127.0.0.1:{http_port}/healthz")), "healthz never answered 200"

        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = (
            "shop@tokui.localhost",
            "buyer@shop.example.jp",
            "テスト送信",
        )
        message.set_content("本文です。")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as smtp:
            smtp.send_message(message)

        database = tmp_path / "tokui.sqlite3"

        def query(sql: str) -> list[tuple[object, ...]]:
            with sqlite3.connect(database) as connection:
                return connection.execute(sql).fetchall()

        assert _wait_for(lambda: query("SELECT subject FROM demo_caughtmail") == [("テスト送信",)])
        # The scheduler enqueues the periodic jobs at start; the in-process worker runs them.
        assert _wait_for(
            lambda: (
                query("SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'SUCCESSFUL'")[0][0] >= 3
            )
        ), query("SELECT task_path, status FROM django_tasks_database_dbtaskresult")
    finally:
        server.terminate()
        server.wait(timeout=20)
