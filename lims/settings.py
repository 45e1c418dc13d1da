"""Settings for the electrolyte LIMS, read once from the environment (12-factor).

Nothing set: SQLite under var/, Celery tasks executed in-process, DEBUG on, a development secret key.
Set DATABASE_URL (PostgreSQL through psycopg 3) and CELERY_BROKER_URL or REDIS_URL (Redis) for a real deployment.
LIMS_PROFILE=production switches on every security setting that ``manage.py check --deploy`` asks for.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


PROFILE = env("LIMS_PROFILE", "development")  # development | test | production
PRODUCTION = PROFILE == "production"

DEBUG = env_bool("DEBUG", default=not PRODUCTION)
SECRET_KEY = env("SECRET_KEY") or ("" if PRODUCTION else "dev-only-insecure-key-do-not-use-in-production")
if PRODUCTION and len(SECRET_KEY) < 50:
    raise RuntimeError("LIMS_PROFILE=production needs SECRET_KEY of at least 50 random characters")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

VAR_DIR = Path(env("LIMS_VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "lims",
    "formulations",
    "cells",
    "measurements",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "lims.authentication.AuthenticationMiddleware",  # Django's; the session's user read with it
    "lims.middleware.MessageMiddleware",  # Django's, its storage made on first use
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "lims.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "lims.urls"
FORM_RENDERER = "lims.forms_renderer.FastSelectRenderer"  # Django's markup; selects drawn in Python
WSGI_APPLICATION = "lims.wsgi.application"
AUTH_USER_MODEL = "lims.User"
# Django's model backend and database sessions, with the per-request look-ups compiled once (lims/authentication.py)
AUTHENTICATION_BACKENDS = ["lims.authentication.ModelBackend"]
SESSION_ENGINE = "lims.authentication"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    {
        # the pages rendered most (lims/jinja.py): compiled once, not interpreted per request; the shared
        # includes of templates/ (plain HTML such as _nav.html) are found after templates/jinja2/
        "BACKEND": "lims.jinja.Jinja2",
        "NAME": "jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2", BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "lims.jinja.environment",
            "keep_trailing_newline": True,
            "context_processors": [
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(env("DB_CONN_MAX_AGE", "60")))
    }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "lims.sqlite3"),
            "OPTIONS": {"timeout": 20},
        }
    }
# Prepared statements (psycopg 3 server-side binding): a list page joining eight tables spends ~15 ms planning and
# 2 ms executing; a prepared statement is planned once per connection and reused (needs persistent connections,
# DB_CONN_MAX_AGE, and no transaction-pooling PgBouncer in between). Off by default.
if DATABASE_URL and env_bool("DB_PREPARED_STATEMENTS"):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": int(env("DB_PREPARE_THRESHOLD", "2"))}
    )
# Generic plans for the reads that opt in (lims/plans.py): with prepared statements on PostgreSQL, on unless
# DB_GENERIC_PLANS=0
GENERIC_QUERY_PLANS = bool(
    DATABASE_URL and env_bool("DB_PREPARED_STATEMENTS") and env_bool("DB_GENERIC_PLANS", True)
)
# Loaded rows become model instances without Django's general constructor (lims/loading.py): on by default
FAST_MODEL_LOADING = env_bool("LIMS_FAST_MODEL_LOADING", True)
# A streaming read replica of the primary for the API's safe requests (lims/db_router.py); the primary stays the
# single source of truth: writes, sessions, tokens and memberships always use it.
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=int(env("DB_CONN_MAX_AGE", "60"))
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}  # tests: the replica is the test database itself
    DATABASE_ROUTERS = ["lims.db_router.ReadReplicaRouter"]
    MIDDLEWARE.append("lims.db_router.ReadReplicaMiddleware")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Raw instrument files and Parquet data live OUTSIDE the web root and are only served through views that check access.
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"  # never routed: downloads go through permission-checked views
if env("AWS_STORAGE_BUCKET_NAME"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env("AWS_S3_REGION_NAME") or None,
            # "path" for MinIO, Ceph or a local test server (bucket in the path, not in the host name)
            "addressing_style": env("AWS_S3_ADDRESSING_STYLE") or None,
            # keys come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the instance role), read by boto3
        },
    }

# Uploads: stream to disk above 2.5 MB; the LIMS' own limit is checked in the upload view.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
LIMS_UPLOAD_MAX_BYTES = int(env("LIMS_UPLOAD_MAX_BYTES", str(512 * 1024 * 1024)))
LIMS_EXPIRY_WARNING_DAYS = int(env("LIMS_EXPIRY_WARNING_DAYS", "30"))

# --- Celery -------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or env("REDIS_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://localhost/"  # with a host: kombu warns on every connection without one
CELERY_TASK_EAGER_PROPAGATES = True
# Results are kept only for the tasks someone waits for (lims.ping, the health check); with a Redis broker they go
# to the same Redis unless CELERY_RESULT_BACKEND says otherwise, and expire after an hour.
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else None
)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = int(env("CELERY_TASK_TIME_LIMIT", "3600"))
CELERY_TASK_SOFT_TIME_LIMIT = int(env("CELERY_TASK_SOFT_TIME_LIMIT", "3300"))
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message a worker took (acks_late) and never acknowledged, because the worker died, is handed out again after
# the visibility timeout; the tests shorten it (and scan for such messages on every poll) to see the redelivery.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(env("LIMS_BROKER_VISIBILITY_TIMEOUT", str(4 * 3600))),
    "unacked_restore_throttle": int(env("LIMS_BROKER_RESTORE_THROTTLE", "10")),
}
CELERY_TASK_ROUTES = {
    "measurements.tasks.parse_upload": {"queue": "ingest"},
    "measurements.tasks.*": {"queue": "ingest"},
}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_BEAT_SCHEDULE = {
    "mark-expired-lots": {"task": "formulations.tasks.mark_expired_lots", "schedule": 24 * 3600.0},
    "sweep-stalled-uploads": {"task": "measurements.tasks.sweep_uploads", "schedule": 300.0},
}

# --- REST API ------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "lims.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "lims.api.parsers.JSONParser",  # DRF's, with too-deep JSON answered 400
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "lims.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "lims.api.filters.DjangoFilterBackend",  # django-filter's, DRF's: on lists only (lims/api/filters.py)
        "lims.api.filters.SearchFilter",
        "lims.api.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "lims.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": "10/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Electrolyte LIMS API",
    "DESCRIPTION": "Inventory, synthesis, cells, instrument uploads and derived properties.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    # in-process tasks (no broker) would print a "Task ... succeeded" line per upload into the server's console
    "loggers": {
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else env("LOG_LEVEL", "INFO")}
    },
}

# --- Security ------------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Audit trail ---------------------------------------------------------------------------------------------
SIMPLE_HISTORY_REVERT_DISABLED = True  # history is read-only in the admin
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# --- Cache (login throttling, short-lived counters): Redis when configured, else per-process memory ----------
_CACHE_URL = env("CACHE_URL") or env("REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _CACHE_URL}
        if _CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
LIMS_LOGIN_MAX_FAILURES = int(env("LIMS_LOGIN_MAX_FAILURES", "5"))
LIMS_LOGIN_LOCKOUT_SECONDS = int(env("LIMS_LOGIN_LOCKOUT_SECONDS", "900"))
