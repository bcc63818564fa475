"""ESP settings come from the environment: every TOKUI_ANYMAIL_<NAME> is anymail's <NAME>."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_tokui_anymail_variables_become_anymail_settings(tmp_path: Path) -> None:
    code = "import django; django.setup(); from django.conf import settings; print(sorted(settings.ANYMAIL.items()))"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tokui.settings",
        "TOKUI_VAR_DIR": str(tmp_path),
        "TOKUI_ANYMAIL_MAILGUN_API_KEY": "key-123",
        "TOKUI_ANYMAIL_MAILGUN_SENDER_DOMAIN": "mg.example.jp",
    }
    env.pop("TOKUI_ANYMAIL_WEBHOOK_SECRET", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(
        [("MAILGUN_API_KEY", "key-123"), ("MAILGUN_SENDER_DOMAIN", "mg.example.jp"), ("WEBHOOK_SECRET", "")]
    )
