import os
import subprocess
import sys


def settings_check(tmp_path, **env):
    environ = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    environ |= {"FIRSTLINE_DATA_DIR": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-m", "firstline", "check"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_secret_key_is_required_in_production(tmp_path):
    result = settings_check(tmp_path, DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_demo_generates_and_keeps_a_secret_key(tmp_path):
    assert settings_check(tmp_path, DEBUG="true").returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert settings_check(tmp_path, DEBUG="true").returncode == 0
    assert (tmp_path / "secret_key").read_text() == key
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


# Scale-out settings: read in a fresh process, as a deployment would start.
_PRINT_SETTINGS = """
import json
import django
django.setup()
from django.conf import settings
print(json.dumps({
    "STORAGES": settings.STORAGES,
    "CACHES": settings.CACHES,
    "SESSION_ENGINE": settings.SESSION_ENGINE,
    "TASKS": settings.TASKS,
    "RQ_QUEUES": getattr(settings, "RQ_QUEUES", None),
    "INSTALLED_APPS": settings.INSTALLED_APPS,
    "LOGGING": settings.LOGGING,
}, default=str))
"""
_SCALE_OUT_VARIABLES = (
    "S3_BUCKET", "S3_ENDPOINT_URL", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY",
    "S3_PREFIX", "CACHE_URL", "TASKS_BACKEND", "TASKS_BACKEND_CLASS", "REDIS_URL", "LOG_FORMAT",
)  # fmt: skip


def settings_with(tmp_path, **env):
    environ = {k: v for k, v in os.environ.items() if k not in _SCALE_OUT_VARIABLES}
    environ |= {"FIRSTLINE_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "firstline.settings"}
    result = subprocess.run(
        [sys.executable, "-c", _PRINT_SETTINGS],
        env=environ | env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    import json

    return json.loads(result.stdout.splitlines()[-1])


def test_by_default_everything_stays_on_this_machine(tmp_path):
    found = settings_with(tmp_path)

    assert found["STORAGES"]["default"] == {
        "BACKEND": "django.core.files.storage.FileSystemStorage"
    }
    assert found["CACHES"]["default"] == {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(tmp_path / "cache"),
    }
    assert found["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"
    assert found["TASKS"]["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"
    assert "django_rq" not in found["INSTALLED_APPS"]
    assert "formatter" not in found["LOGGING"]["handlers"]["console"]


def test_attachments_go_to_an_s3_bucket_when_one_is_configured(tmp_path):
    found = settings_with(
        tmp_path,
        S3_BUCKET="firstline-files",
        S3_ENDPOINT_URL="https://minio.internal:9000",
        S3_REGION="eu-west-1",
        S3_ACCESS_KEY_ID="AKIAEXAMPLE",
        S3_SECRET_ACCESS_KEY="secret-example",
        S3_PREFIX="attachments",
    )

    assert found["STORAGES"]["default"] == {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": "firstline-files",
            "location": "attachments",
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
            "endpoint_url": "https://minio.internal:9000",
            "region_name": "eu-west-1",
            "access_key": "AKIAEXAMPLE",
            "secret_key": "secret-example",
        },
    }
    assert found["STORAGES"]["staticfiles"]["BACKEND"].startswith("whitenoise.")


def test_cache_and_sessions_go_to_redis_with_a_cache_url(tmp_path):
    found = settings_with(tmp_path, CACHE_URL="redis://cache.internal:6379/1")

    assert found["CACHES"]["default"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6379/1",
    }
    assert found["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"


def test_tasks_go_through_redis_with_the_rq_backend(tmp_path):
    found = settings_with(tmp_path, TASKS_BACKEND="rq", REDIS_URL="redis://queue.internal:6379/2")

    assert found["TASKS"]["default"]["BACKEND"] == "firstline.core.taskqueue.RQBackend"
    assert found["RQ_QUEUES"]["default"]["URL"] == "redis://queue.internal:6379/2"
    assert {"django_rq", "django_tasks_rq"} <= set(found["INSTALLED_APPS"])


def test_json_logs_are_chosen_with_log_format(tmp_path):
    found = settings_with(tmp_path, LOG_FORMAT="json")

    assert found["LOGGING"]["handlers"]["console"]["formatter"] == "json"


def test_unknown_backends_are_refused_at_start(tmp_path):
    for variable, value in [("TASKS_BACKEND", "celery"), ("CACHE_URL", "memcached://x:11211")]:
        result = settings_check(tmp_path, SECRET_KEY="x" * 50, **{variable: value})
        assert result.returncode != 0
        assert f"ImproperlyConfigured: {variable} must" in result.stderr
