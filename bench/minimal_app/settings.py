"""Settings of the minimal reference app: the same database URL and options as Firstline."""

import os
from pathlib import Path

import dj_database_url

SECRET_KEY = "minimal-reference-app-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["minimal_app"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "minimal_app.urls"
WSGI_APPLICATION = "minimal_app.wsgi.application"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _database() -> dict:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path('var/minimal.sqlite3').resolve()}"
    config = dj_database_url.parse(url, conn_max_age=60)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {  # as Firstline's settings do
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


DATABASES = {"default": _database()}
