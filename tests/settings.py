"""Test settings: the real settings with test-only speed-ups. The database comes from TOKUI_DATABASE_URL."""

import os
import tempfile

os.environ.setdefault("TOKUI_VAR_DIR", tempfile.mkdtemp(prefix="tokui-test-var-"))
os.environ.setdefault("TOKUI_SECRET_KEY", "tokui-tests-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("TOKUI_TASK_BACKEND", "immediate")

from tokui.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMBEDDED_WORKER = False
MAILCATCHER_ENABLED = False
