"""Every user-facing string has a Japanese translation (Japanese is the default language)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib

SOURCE = Path(__file__).resolve().parents[1] / "src" / "tokui"


def test_every_message_in_the_code_has_a_japanese_translation(tmp_path: Path) -> None:
    copy = tmp_path / "tokui"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("static", "__pycache__", "*.mo"))
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "ja", "--ignore=migrations/*", "--no-obsolete"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    catalog = polib.pofile(str(copy / "locale" / "ja" / "LC_MESSAGES" / "django.po"))
    untranslated = [entry.msgid for entry in catalog if not entry.translated() or "fuzzy" in entry.flags]
    assert untranslated == [], f"Add Japanese for these messages to locale/ja/LC_MESSAGES/django.po: {untranslated}"
