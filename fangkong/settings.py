"""Django settings for Fangkong, read from the environment.

Every value that differs between a laptop and a deployment comes from an environment variable; the defaults
are those of the embedded demo (SQLite, debug off unless asked) and `fangkong check --deploy` is clean once
FANGKONG_SECRET_KEY, FANGKONG_ALLOWED_HOSTS and FANGKONG_HTTPS=1 are set. See docs/deployment.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("FANGKONG_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("FANGKONG_DEBUG", False)
_INSECURE_DEV_KEY = "django-insecure-fangkong-development-only-never-deploy-this-key-0123456789"
SECRET_KEY = os.environ.get("FANGKONG_SECRET_KEY") or os.environ.get("SECRET_KEY") or _INSECURE_DEV_KEY
ALLOWED_HOSTS = env_list("FANGKONG_ALLOWED_HOSTS", os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost"))
CSRF_TRUSTED_ORIGINS = env_list("FANGKONG_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "fangkong.core",
    "fangkong.notify",
    "fangkong.people",
    "fangkong.screening",
    "fangkong.venues",
    "fangkong.tracing",
    "fangkong.testing",
    "fangkong.quarantine",
    "fangkong.command",
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
    "django_htmx.middleware.HtmxMiddleware",
    "fangkong.core.middleware.RequestOriginMiddleware",
    "fangkong.core.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "fangkong.urls"
WSGI_APPLICATION = "fangkong.wsgi.application"
ASGI_APPLICATION = "fangkong.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "fangkong" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fangkong.core.navigation.navigation",
            ],
        },
    },
]

if not os.environ.get("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded SQLite database lives here
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'fangkong.sqlite3'}",
        conn_max_age=int(os.environ.get("FANGKONG_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side parameter binding: psycopg prepares a statement the fifth time a connection runs it, so the
    # API's hot queries skip PostgreSQL's planner (most of a point lookup's cost).
    # Merged into the options the URL carries (sslmode=…), not in place of them.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"server_side_binding": True, "prepare_threshold": 5})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("FANGKONG_LANGUAGE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "fangkong" / "locale"]
TIME_ZONE = os.environ.get("FANGKONG_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("FANGKONG_STATIC_ROOT", BASE_DIR / "staticfiles"))
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "fangkong" / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/echarts", NODE_MODULES / "echarts" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("FANGKONG_MANIFEST_STATIC", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = env_bool("FANGKONG_WHITENOISE_FINDERS", True)
MEDIA_ROOT = VAR_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Security: safe by default; HTTPS-only cookies and HSTS when served over TLS (FANGKONG_HTTPS=1).
HTTPS = env_bool("FANGKONG_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("FANGKONG_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("FANGKONG_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = int(os.environ.get("FANGKONG_SESSION_SECONDS", str(8 * 3600)))
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

_REDIS_URL = os.environ.get("REDIS_URL")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _REDIS_URL}
    if _REDIS_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fangkong"},
    # Jobs' progress as their handlers publish it (core.jobs.live_progress): read by the web processes, written
    # by the worker's, so shared — Redis, or files on this machine for the embedded setup.
    "progress": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _REDIS_URL}
    if _REDIS_URL
    else {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(VAR_DIR / "progress")},
}

# Background jobs: django-tasks with its database backend (no extra service); see docs/jobs.md.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("FANGKONG_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "imports", "analytics", "messages"],
    }
}
PINGS_DIR = Path(os.environ.get("FANGKONG_PINGS_DIR", VAR_DIR / "pings"))  # carrier location pings (Parquet)
# Each round's snapshot of its coverage inputs, kept up to date by change (testing/coverage/incremental.py).
COVERAGE_SNAPSHOT_DIR = Path(os.environ.get("FANGKONG_COVERAGE_SNAPSHOT_DIR", VAR_DIR / "coverage"))
JOB_STALE_SECONDS = int(os.environ.get("FANGKONG_JOB_STALE_SECONDS", "120"))

# Test certificates (Ed25519): see fangkong/testing/certificates/keys.py and docs/certificates.md. Keys are never
# committed; without one, the first certificate generates it unless the site is served over HTTPS.
CERTIFICATE_KEYS_DIR = Path(os.environ.get("FANGKONG_CERTIFICATE_KEYS_DIR", VAR_DIR / "certificate-keys"))
CERTIFICATE_PRIVATE_KEY = os.environ.get("FANGKONG_CERTIFICATE_PRIVATE_KEY", "")  # PEM text, instead of the dir
CERTIFICATE_ISSUER = os.environ.get("FANGKONG_CERTIFICATE_ISSUER", "Fangkong")
CERTIFICATE_AUTOGENERATE_KEY = env_bool("FANGKONG_CERTIFICATE_AUTOGENERATE", not HTTPS)

# Outbound messages: see fangkong/notify/backends.py.
SMS_BACKEND = os.environ.get("FANGKONG_SMS_BACKEND", "fangkong.notify.backends.ConsoleSmsBackend")
SMS_FILE_PATH = Path(os.environ.get("FANGKONG_SMS_FILE", VAR_DIR / "messages" / "sms.jsonl"))
SMS_GATEWAY_URL = os.environ.get("FANGKONG_SMS_GATEWAY_URL", "")
SMS_GATEWAY_BODY = os.environ.get("FANGKONG_SMS_GATEWAY_BODY", '{"mobile": "$phone", "content": "$text"}')
SMS_GATEWAY_TOKEN = os.environ.get("FANGKONG_SMS_GATEWAY_TOKEN", "")
SMS_SIGNATURE = os.environ.get("FANGKONG_SMS_SIGNATURE", "【防控】")
# The site's public address, for links texted to residents (quarantine self-report links) from background jobs.
FANGKONG_PUBLIC_URL = os.environ.get("FANGKONG_PUBLIC_URL", "http://localhost:8000")
EMAIL_BACKEND = os.environ.get("FANGKONG_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("FANGKONG_FROM_EMAIL", "fangkong@localhost")

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("FANGKONG_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
