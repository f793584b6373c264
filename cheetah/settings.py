"""Cheetah settings, read from the environment (django-environ).

Every knob has a default that is safe for ``make demo`` on one machine (SQLite under ``var/``, an
embedded file-system Celery broker, local files, console e-mail) and takes its production value
from the environment (see README.md, "Configuration"). Nothing secret lives in the repository.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The checkout's own settings, written once by `make env` (which `make demo` runs): DEBUG, a
# generated SECRET_KEY and the demo's folder, so every manage.py command works in a checkout
# with nothing exported. Never in the repository or the image (.gitignore, .dockerignore).
# Variables set in the environment win over the file (read_env only fills in what is unset).
env.read_env(BASE_DIR / ".env")

VAR_DIR = Path(env.str("CHEETAH_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)

# A default key only when DEBUG is on (make test sets it), so a production deployment cannot
# start with a key that is published here. manage.py prints this message as one line.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set SECRET_KEY in the environment (or DEBUG=1 for development; in a checkout, "
            "`make env` writes both to .env)."
        )
    SECRET_KEY = "insecure-development-key-used-only-with-DEBUG"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

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
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "accounts",
    "competitions",
    "surveys",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "surveys.middleware.ConsentMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cheetah.urls"

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
                "csp.context_processors.nonce",
            ],
        },
    },
]

WSGI_APPLICATION = "cheetah.wsgi.application"

# --- Database -------------------------------------------------------------------------------
# Default: one SQLite file that the web server, the worker and beat share. WAL lets readers go on
# while one process writes; IMMEDIATE transactions take the write lock at BEGIN, so two writers
# queue on the busy timeout instead of failing with "database is locked" half-way through.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'cheetah.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A file, not ":memory:", so a worker process in the end-to-end tests sees the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-cheetah.sqlite3")}
elif env.bool("DATABASE_POOL", default=False):
    # psycopg's connection pool, one per process (each gunicorn worker, each Celery prefork
    # child opens its own after the fork): connections stay open between requests and tasks and
    # a process never holds more than DATABASE_POOL_MAX_SIZE. Keep the sizes small: the server's
    # max_connections must cover every process's maximum. Django requires CONN_MAX_AGE=0 with it
    # (the pool, not Django, decides when a connection closes).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Django then has the pool check each connection it hands out (one round trip), so one the
    # server dropped (a restart, an idle timeout) is replaced rather than failing the request.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=4),
        # Waiting longer than this for a free connection is an error, not a hang.
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out user before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "competitions:challenge-list"
LOGOUT_REDIRECT_URL = "competitions:challenge-list"

# --- Cache ----------------------------------------------------------------------------------
# Redis when REDIS_URL is set; errors are ignored so pages keep serving while Redis is down.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Internationalisation ------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Files ----------------------------------------------------------------------------------
STATIC_URL = "static/"
# The image collects them at build time outside the data volume (Dockerfile), so a new image
# serves its own files, with the manifest the production storage needs.
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "media/"
# Ground truth and submissions live here; no URL maps onto this folder, views stream the files
# after a permission check.
PRIVATE_ROOT = VAR_DIR / "private"

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    # S3-compatible object storage, so workers on other machines read the same files.
    _s3_options = {
        "bucket_name": AWS_STORAGE_BUCKET_NAME,
        "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
        "default_acl": "private",
        "querystring_auth": True,
        "file_overwrite": False,
    }
    _default_storage = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": _s3_options}
    _private_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {**_s3_options, "location": "private"},
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    _private_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(PRIVATE_ROOT), "base_url": None},
    }
STORAGES = {
    "default": _default_storage,
    "private": _private_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Uploads: a predictions file may be large; Django spools big uploads to disk, never to memory.
SUBMISSION_MAX_BYTES = env.int("SUBMISSION_MAX_BYTES", default=200 * 1024 * 1024)
# Challenge bundles (docs/bundles.md): what an imported ZIP may hold once uncompressed.
BUNDLE_MAX_BYTES = env.int("BUNDLE_MAX_BYTES", default=500 * 1024 * 1024)
BUNDLE_MAX_ENTRIES = env.int("BUNDLE_MAX_ENTRIES", default=1000)
BUNDLE_MAX_MANIFEST_BYTES = env.int("BUNDLE_MAX_MANIFEST_BYTES", default=1024 * 1024)
# Failed uploads a person may make per phase and UTC day, as a multiple of the phase's daily
# quota: a failed file frees its slot, so without a cap the worker and disk could be tied up.
FAILED_UPLOADS_PER_DAY_FACTOR = env.int("FAILED_UPLOADS_PER_DAY_FACTOR", default=3)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="cheetah@localhost")
# Links in e-mail point here (the site as its users reach it).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Celery ---------------------------------------------------------------------------------
# Default: kombu's file-system transport under var/, which needs no server. It does not
# redeliver a message whose worker died; the database row is the source of truth and the sweeper
# (beat) re-enqueues what is stuck, so nothing depends on redelivery. The URL names the host the
# transport assumes: with none, kombu logs "No hostname was supplied" at every connection, i.e.
# for every task sent or received.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    BROKER_DIR.mkdir(parents=True, exist_ok=True)  # the transport does not create it
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Above the longest task (time limit below), so Redis never hands a running task to a
    # second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 3600}
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="cheetah")
# Scoring on the default queue, the field's analyses on "<default>.field" (cheetah/celery.py
# routes them). A worker started without -Q reads both; make demo and docker-compose give each
# its own workers.
CELERY_TASK_QUEUES = (
    Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(f"{CELERY_TASK_DEFAULT_QUEUE}.field"),
)
CELERY_TASK_IGNORE_RESULT = True  # results live in the database rows, not a result backend
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
SCORING_SOFT_TIME_LIMIT = env.int("SCORING_SOFT_TIME_LIMIT", default=600)
SCORING_TIME_LIMIT = SCORING_SOFT_TIME_LIMIT + 60
# A submission still queued or scoring after this long is re-enqueued by the sweeper; one whose
# scoring started this many times without finishing is failed with a message.
STUCK_AFTER = timedelta(seconds=env.int("STUCK_AFTER_SECONDS", default=SCORING_TIME_LIMIT + 120))
SCORING_MAX_DELIVERIES = env.int("SCORING_MAX_DELIVERIES", default=3)
# The challenge report (field queue): its time limits; a report still building this long after
# its request or its last start is sent again by the sweeper, and failed with a message once it
# was started REPORT_MAX_ATTEMPTS times without finishing.
REPORT_SOFT_TIME_LIMIT = env.int("REPORT_SOFT_TIME_LIMIT", default=900)
REPORT_TIME_LIMIT = REPORT_SOFT_TIME_LIMIT + 60
REPORT_STUCK_AFTER = timedelta(
    seconds=env.int("REPORT_STUCK_AFTER_SECONDS", default=REPORT_TIME_LIMIT + 120))
REPORT_MAX_ATTEMPTS = env.int("REPORT_MAX_ATTEMPTS", default=3)
CELERY_BEAT_SCHEDULE = {
    "requeue-stuck-submissions": {
        "task": "competitions.tasks.sweep_stuck_submissions",
        "schedule": env.float("SWEEP_INTERVAL_SECONDS", default=60.0),
    },
    "announce-post-surveys": {
        "task": "surveys.tasks.announce_post_surveys",
        "schedule": env.float("SURVEY_ANNOUNCE_INTERVAL_SECONDS", default=300.0),
    },
    "send-notice-emails": {
        "task": "notifications.tasks.send_notice_emails",
        "schedule": env.float("NOTICE_EMAIL_INTERVAL_SECONDS", default=60.0),
    },
    "announce-phase-changes": {
        "task": "competitions.tasks.announce_phase_changes",
        "schedule": env.float("PHASE_ANNOUNCE_INTERVAL_SECONDS", default=300.0),
    },
    "purge-stale-bundles": {
        "task": "competitions.tasks.purge_stale_bundles",
        "schedule": 3600.0,
    },
    "purge-answers-past-retention": {
        "task": "surveys.tasks.purge_answers_past_retention",
        "schedule": 3600.0,
    },
}

# --- REST framework -------------------------------------------------------------------------
# Reverse proxies in front of gunicorn that each append to X-Forwarded-For. The API's throttles
# and the login lockout (accounts.backends.client_address) count the address that many hops from
# the right; 0 means REMOTE_ADDR, and with a proxy but 0, everyone shares the proxy's address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Per token (or user) and per address for anonymous readers; counted in the cache.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_RATE_ANON", default="600/hour"),
        "user": env.str("API_RATE_USER", default="3000/hour"),
        # Guesses of a private challenge's invitation code, per user and per address.
        "invitation": env.str("INVITATION_RATE", default="10/hour"),
    },
    # 0, not DRF's default None, which would count a client by whatever X-Forwarded-For it sends.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}

# How often an open leaderboard page asks whether the worker has ranked a newer field.
LEADERBOARD_POLL_SECONDS = env.int("LEADERBOARD_POLL_SECONDS", default=15)
# Rows per leaderboard page (the downloads and the API keep every row).
LEADERBOARD_PAGE_ROWS = env.int("LEADERBOARD_PAGE_ROWS", default=200)
# How long a rendered leaderboard page stays in the cache. Its key changes with the snapshot,
# the settings and the teams (competitions/board_cache.py); this bounds anything else.
LEADERBOARD_CACHE_SECONDS = env.int("LEADERBOARD_CACHE_SECONDS", default=300)

SPECTACULAR_SETTINGS = {
    "TITLE": "Cheetah API",
    "DESCRIPTION": "Challenges, leaderboards and your submissions. Authenticate with "
    "`Authorization: Token <key>` (POST username and password to /api/token/ for the key).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page's JavaScript and CSS come from the drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # What Django's URL converters accept, so a client (and schemathesis) knows that anything
    # else is not a URL of the API at all.
    "PATH_CONVERTER_OVERRIDES": {
        "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
        "int": {"type": "integer", "minimum": 0},
    },
}

# --- Security (README.md, "Security") ------------------------------------------------------
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Asking browsers to preload the host is a commitment for every subdomain: off unless asked.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4): scripts and styles from our own origin only; the one
# inline block we cannot avoid (the Swagger UI page's start-up script and style) carries the
# per-request nonce (templates/drf_spectacular/swagger_ui.html). Swagger UI draws icons as data:
# images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins for one user name from
# one address, that pair is refused (HTTP 429, registration/locked_out.html) until the cool-off
# ends; a successful login clears the count. Locking the pair, not the bare user name, keeps a
# stranger from locking a participant out during the last hours of a challenge.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_DISABLE_ACCESS_LOG = True  # failures are what we count; successful logins need no log
# No "AXES: BEGIN version …" line at every start of every process (each manage.py command, each
# worker); lockouts are still logged, naming the locked (user name, address) pair only.
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "accounts.backends.client_address"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
