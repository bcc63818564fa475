"""Tokui settings: read once, here, from ``TOKUI_*`` environment variables.

With nothing set, Tokui runs in *embedded mode*: a SQLite file under ``var/``, the in-process task worker and
mail delivered to the built-in mail catcher. Production sets ``TOKUI_DATABASE_URL`` (PostgreSQL),
``TOKUI_SECRET_KEY`` and ``TOKUI_EMAIL_URL``. Code reads ``django.conf.settings``, never ``os.environ``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import environ
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

env = environ.Env()

PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env.str("TOKUI_VAR_DIR", default=str(Path.cwd() / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _embedded_secret_key() -> str:
    """Keep one random key per installation so sessions survive restarts without configuration."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = env.str("TOKUI_SECRET_KEY", default="") or _embedded_secret_key()
DEBUG = env.bool("TOKUI_DEBUG", default=False)
ALLOWED_HOSTS = env.list("TOKUI_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("TOKUI_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks_db",
    "tokui.core",
    "tokui.accounts",
    "tokui.customers",
    "tokui.catalog",
    "tokui.commerce",
    "tokui.tracking",
    "tokui.messaging",
    "tokui.integrations",
    "tokui.analytics",
    "tokui.segments",
    "tokui.demo",
    "tokui.web",
    "tokui.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "tokui.urls"
WSGI_APPLICATION = "tokui.wsgi.application"
ASGI_APPLICATION = "tokui.asgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tokui.web.context_processors.navigation",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------------------------
DATABASES = {"default": env.db_url("TOKUI_DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tokui.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and the mail catcher share the file; IMMEDIATE avoids lock upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    # Persistent connections only when asked: under ASGI each request thread would keep its own connection open.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("TOKUI_DB_CONN_MAX_AGE", default=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background work ------------------------------------------------------------------------------------------
TASK_BACKEND = env.str("TOKUI_TASK_BACKEND", default="database")
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
    "dummy": "django.tasks.backends.dummy.DummyBackend",
}
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASK_BACKEND]}}
# Embedded mode runs the task worker inside the web process; a scaled-out install runs `tokui worker` instead.
EMBEDDED_WORKER = env.bool("TOKUI_EMBEDDED_WORKER", default=True)

# --- Mail -----------------------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("TOKUI_EMAIL_URL", default="smtp://127.0.0.1:1025")
_EMAIL_HOST = EMAIL_CONFIG.get("EMAIL_HOST") or "127.0.0.1"
_EMAIL_PORT = int(EMAIL_CONFIG.get("EMAIL_PORT") or 1025)
_SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
MAILERS = {
    "default": {
        "BACKEND": EMAIL_CONFIG["EMAIL_BACKEND"],
        "OPTIONS": {
            "host": _EMAIL_HOST,
            "port": _EMAIL_PORT,
            "username": EMAIL_CONFIG.get("EMAIL_HOST_USER") or None,
            "password": EMAIL_CONFIG.get("EMAIL_HOST_PASSWORD") or None,
            "use_tls": bool(EMAIL_CONFIG.get("EMAIL_USE_TLS", False)),
            "use_ssl": bool(EMAIL_CONFIG.get("EMAIL_USE_SSL", False)),
            "timeout": 30,
        }
        if EMAIL_CONFIG["EMAIL_BACKEND"] == _SMTP_BACKEND
        else {},
    }
}
DEFAULT_FROM_EMAIL = env.str("TOKUI_DEFAULT_FROM_EMAIL", default="Tokui <noreply@tokui.localhost>")
# The mail catcher is a real SMTP server on the host/port of TOKUI_EMAIL_URL that stores every message it receives.
MAILCATCHER_ENABLED = env.bool("TOKUI_MAILCATCHER", default=True)
MAILCATCHER_HOST = _EMAIL_HOST
MAILCATCHER_PORT = _EMAIL_PORT

# --- Mail channel (tokui.messaging) ------------------------------------------------------------------------------
# "smtp" sends through MAILERS["default"] with one connection per batch; "esp" hands mails to django-anymail's
# backend named by TOKUI_MAIL_ESP_BACKEND (e.g. anymail.backends.amazon_ses.EmailBackend, settings in ANYMAIL).
MAIL_CHANNEL = env.str("TOKUI_MAIL_CHANNEL", default="smtp")
MAIL_ESP_BACKEND = env.str("TOKUI_MAIL_ESP_BACKEND", default="")
# Every TOKUI_ANYMAIL_<NAME> variable is anymail's setting <NAME> (TOKUI_ANYMAIL_MAILGUN_API_KEY,
# TOKUI_ANYMAIL_SENDGRID_API_KEY, TOKUI_ANYMAIL_WEBHOOK_SECRET, ...): text values only.
_ANYMAIL_PREFIX = "TOKUI_ANYMAIL_"
ANYMAIL = {
    name.removeprefix(_ANYMAIL_PREFIX): value for name, value in os.environ.items() if name.startswith(_ANYMAIL_PREFIX)
}
ANYMAIL.setdefault("WEBHOOK_SECRET", "")
# DKIM signing of SMTP mail: a PEM private key file, the selector and the signing domain (d=).
MAIL_DKIM_KEY_FILE = env.str("TOKUI_MAIL_DKIM_KEY_FILE", default="")
MAIL_DKIM_SELECTOR = env.str("TOKUI_MAIL_DKIM_SELECTOR", default="tokui")
MAIL_DKIM_DOMAIN = env.str("TOKUI_MAIL_DKIM_DOMAIN", default="")
# The domain in Message-IDs (defaults to the DKIM domain, else the host of the default sender).
MAIL_MESSAGE_ID_DOMAIN = env.str("TOKUI_MAIL_MESSAGE_ID_DOMAIN", default="")
MAIL_BATCH_SIZE = env.int("TOKUI_MAIL_BATCH_SIZE", default=500)
MAIL_MAX_ATTEMPTS = env.int("TOKUI_MAIL_MAX_ATTEMPTS", default=6)
# Marketing mail per contact: at most this many in this many days (0 = no cap).
MAIL_FREQUENCY_CAP = env.int("TOKUI_MAIL_FREQUENCY_CAP", default=0)
MAIL_FREQUENCY_CAP_DAYS = env.int("TOKUI_MAIL_FREQUENCY_CAP_DAYS", default=7)
# Marketing mail is held back between these site-zone hours ("21-8"; empty = never).
_QUIET = env.str("TOKUI_MAIL_QUIET_HOURS", default="").replace(" ", "")
MAIL_QUIET_HOURS: tuple[int, int] | None = (
    (int(_QUIET.split("-")[0]) % 24, int(_QUIET.split("-")[1]) % 24)
    if _QUIET.count("-") == 1 and _QUIET.replace("-", "").isdigit()
    else None
)
# Mails per minute per recipient domain ("docomo.ne.jp=300,ezweb.ne.jp=300"); other domains are not limited.
MAIL_DOMAIN_RATE_LIMITS = {
    domain.strip().lower(): int(rate)
    for domain, _sep, rate in (
        item.partition("=") for item in env.str("TOKUI_MAIL_DOMAIN_RATE_LIMITS", default="").split(",") if "=" in item
    )
}
# The shop's reorder page for an order, for the previous-order block ("https://shop.example.jp/reorder/{order}";
# {order} is the order number). Empty: the block links to the first product's page.
MAIL_REORDER_URL = env.str("TOKUI_MAIL_REORDER_URL", default="")
# Staff addresses offered for test sends.
MAIL_TEST_ADDRESSES = env.list("TOKUI_MAIL_TEST_ADDRESSES", default=[])

REDIS_URL = env.str("TOKUI_REDIS_URL", default="")

# --- Cache ----------------------------------------------------------------------------------------------------
# Rate-limit counters of the tracking endpoint live here: shared by every process through Redis when it is
# configured, else counted per process in local memory.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tokui"}}

# --- Tracking tag ---------------------------------------------------------------------------------------------
TAG_MAX_BODY_BYTES = env.int("TOKUI_TAG_MAX_BODY_BYTES", default=512 * 1024)
TAG_MAX_BATCH_EVENTS = env.int("TOKUI_TAG_MAX_BATCH_EVENTS", default=500)
# Requests per minute; 0 turns a limit off. A browser sends one batch every few seconds at most.
TAG_RATE_LIMIT_PER_KEY = env.int("TOKUI_TAG_RATE_LIMIT_PER_KEY", default=60_000)
TAG_RATE_LIMIT_PER_IP = env.int("TOKUI_TAG_RATE_LIMIT_PER_IP", default=600)
# Behind a proxy, the request header (as in request.META, e.g. HTTP_X_FORWARDED_FOR) holding the visitor's address.
TAG_CLIENT_IP_HEADER = env.str("TOKUI_TAG_CLIENT_IP_HEADER", default="")

# --- API ------------------------------------------------------------------------------------------------------
# Days an API request stays in the request log; a daily job deletes older rows. 0 keeps the log forever.
API_LOG_RETENTION_DAYS = env.int("TOKUI_API_LOG_RETENTION_DAYS", default=90)

# --- Serving --------------------------------------------------------------------------------------------------
HTTP_HOST = env.str("TOKUI_HTTP_HOST", default="127.0.0.1")
HTTP_PORT = env.int("TOKUI_HTTP_PORT", default=8000)
SITE_URL = env.str("TOKUI_SITE_URL", default=f"http://{HTTP_HOST}:{HTTP_PORT}")

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("TOKUI_MEDIA_ROOT", default=str(VAR_DIR / "media")))
SERVE_MEDIA = env.bool("TOKUI_SERVE_MEDIA", default=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Security -------------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env.bool("TOKUI_SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("TOKUI_SECURE_COOKIES", default=False)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language and time ----------------------------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env.str("TOKUI_TIME_ZONE", default="Asia/Tokyo")
DEFAULT_CURRENCY = env.str("TOKUI_CURRENCY", default="JPY")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("TOKUI_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django_tasks_db": {"level": "WARNING"},
        "django.tasks": {"level": "WARNING"},
        "mail.log": {"level": "WARNING"},
    },
}

# --- Demo -----------------------------------------------------------------------------------------------------
DEMO_PASSWORD = env.str("TOKUI_DEMO_PASSWORD", default="tokui-demo")
