"""Settings for every deployment, read from environment variables (see README)."""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("FIRSTLINE_DATA_DIR", "var")).resolve()

DEBUG = env_bool("DEBUG")


def _secret_key() -> str:
    """A demo generates its key once and keeps it; production must set one."""
    key = os.environ.get("SECRET_KEY", "")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "firstline.core",
    "firstline.accounts",
    "firstline.tickets",
    "firstline.channels",
    "firstline.automation",
    "firstline.sla",
    "firstline.search",
    "firstline.kb",
    "firstline.desk",
    "firstline.portal",
    "firstline.manage",
]

# "Pages...": Django's own (or ours), skipped for /api/ requests, which authenticate by token
# and keep no session (core/middleware.py).
MIDDLEWARE = [
    "firstline.core.logs.RequestIdMiddleware",
    "firstline.core.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "firstline.core.middleware.PagesSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "firstline.core.middleware.PagesCsrfViewMiddleware",
    "firstline.core.middleware.PagesAuthenticationMiddleware",
    "firstline.core.middleware.PagesUserPreferencesMiddleware",
    "firstline.core.middleware.PagesMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "firstline.urls"
WSGI_APPLICATION = "firstline.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["firstline.accounts.backends.UsernameOrEmailBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
            ],
        },
    },
]


def _prepared_statements() -> bool:
    """Off (DB_PREPARED_STATEMENTS=false) behind a pooler in transaction mode (PgBouncer's
    default), where a prepared statement does not outlive the transaction."""
    return env_bool("DB_PREPARED_STATEMENTS", True)


def _database() -> dict:
    default_sqlite = f"sqlite:///{DATA_DIR / 'firstline.sqlite3'}"
    url = os.environ.get("DATABASE_URL") or default_sqlite
    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # Django's backend, with the writers of all processes queued (core/sqlite/base.py).
        config["ENGINE"] = "firstline.core.sqlite"
        # IMMEDIATE makes concurrent writers queue instead of failing on lock upgrade;
        # WAL lets readers carry on while a write is in progress.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    elif config["ENGINE"] == "django.db.backends.postgresql":
        options = config.setdefault("OPTIONS", {})
        if _prepared_statements():
            # Parameters bound by the server, and each statement a connection runs often
            # (from its 5th run) prepared: PostgreSQL then no longer parses and plans it
            # every time, a third of its work for a new ticket.
            options.update(server_side_binding=True, prepare_threshold=5)
        if not env_bool("DB_PARALLEL_QUERY", False):
            # Helper processes for one query start in milliseconds and take the CPUs other
            # requests are waiting for: a desk queue took 15-25 ms more with them on 2 CPUs.
            options["options"] = "-c max_parallel_workers_per_gather=0"
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# `firstline serve` runs collectstatic into it; WhiteNoise serves it when DEBUG is off.
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", DATA_DIR / "static"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", DATA_DIR / "media"))


def _file_storage() -> dict:
    """Attachments on local disk, or in an S3-compatible bucket when S3_BUCKET is set
    (`pip install 'firstline[s3]'` for boto3)."""
    bucket = os.environ.get("S3_BUCKET", "")
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    options = {
        "bucket_name": bucket,
        "location": os.environ.get("S3_PREFIX", ""),
        "default_acl": "private",
        "querystring_auth": True,
        "file_overwrite": False,
    }
    for option, variable in (
        ("endpoint_url", "S3_ENDPOINT_URL"),
        ("region_name", "S3_REGION"),
        ("access_key", "S3_ACCESS_KEY_ID"),
        ("secret_key", "S3_SECRET_ACCESS_KEY"),
    ):
        if os.environ.get(variable):
            options[option] = os.environ[variable]
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


STORAGES = {
    "default": _file_storage(),
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOCALE_PATHS = [PACKAGE_DIR / "locale"]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG and env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# In DEBUG (the demo), mail is written to files under var/mail/ instead of being sent.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.filebased.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "helpdesk@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Background tasks: in the database (default, nothing else to run) or in Redis through RQ
# (`TASKS_BACKEND=rq`, `REDIS_URL`). TASKS_BACKEND_CLASS names any backend class outright.
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "database").strip().lower()
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "firstline.core.taskqueue.RQBackend",
}
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured("TASKS_BACKEND must be 'database' or 'rq'.")
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND_CLASS") or _TASK_BACKENDS[TASKS_BACKEND],
    }
}
if TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    # A task running longer is stopped (the database queue has no limit): re-targeting every
    # open ticket after an SLA change is the longest, minutes at a million tickets.
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600}}


def _cache(url: str) -> dict:
    """CACHE_URL: empty (files under the data directory, which every process of this machine
    reads, so that one process forgetting an entry forgets it for all: `firstline serve` runs
    several), locmem:// (this process's memory), or redis[s]://host:port/db."""
    if not url:
        return {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    if url.startswith("locmem://"):
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if url.startswith(("redis://", "rediss://", "unix://")):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    raise ImproperlyConfigured(
        "CACHE_URL must start with redis://, rediss://, unix:// or locmem://."
    )


CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {"default": _cache(CACHE_URL)}
if CACHES["default"]["BACKEND"].endswith("RedisCache"):
    # Sessions read from the shared cache, written through to the database: a web process
    # can restart, or a request can land on another machine, without logging anyone out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Product settings.
# Self-service sign-up for anyone; people whose e-mail domain belongs to an organization may
# always sign up (OrganizationDomain).
ALLOW_SIGNUP = env_bool("ALLOW_SIGNUP")
MAX_ATTACHMENT_SIZE = int(os.environ.get("MAX_ATTACHMENT_SIZE", str(25 * 1024 * 1024)))
API_PAGE_SIZE_MAX = 200
# Inbound e-mail: the largest raw message taken (also the largest request body Django reads).
INBOUND_MAX_MESSAGE_SIZE = int(os.environ.get("INBOUND_MAX_MESSAGE_SIZE", str(40 * 1024 * 1024)))
# Headroom over the inbound limit, so that the endpoint itself answers 413 (a permanent
# failure for the sending MTA) instead of Django's generic 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = INBOUND_MAX_MESSAGE_SIZE + 1024 * 1024
EMAIL_MESSAGE_ID_DOMAIN = os.environ.get("EMAIL_MESSAGE_ID_DOMAIN", "")
FIRSTLINE_BASE_URL = os.environ.get("FIRSTLINE_BASE_URL", "")
# Resolved tickets close by themselves after this many days without a reply; 0: never.
AUTO_CLOSE_DAYS = int(os.environ.get("AUTO_CLOSE_DAYS", "7"))

# `LOG_FORMAT=json`: one JSON object per line (time, level, logger, message, request id and
# path), for log collectors; otherwise plain messages.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "firstline.core.logs.JsonFormatter"}},
    "filters": {"request": {"()": "firstline.core.logs.RequestContextFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request"],
            **({"formatter": "json"} if LOG_FORMAT == "json" else {}),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# GET /metrics (Prometheus) answers only `Authorization: Bearer <METRICS_TOKEN>`; 404 unset.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
