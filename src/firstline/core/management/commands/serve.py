"""`firstline serve`: the production web server (gunicorn, WhiteNoise).

Each process takes one request at a time (gunicorn's sync worker) unless told to run threads.
A process takes a new connection only when it is free, so requests queue once, in arrival
order, for the first free process. Threaded processes (gthread) take every connection they
can, so one of them may hold most of a burst while the others idle, and its threads share
one interpreter lock: a longer tail at the same rate (the figures are in the README,
"Running in production"). One request at a time per process needs a buffering proxy in
front (nginx's default), which reads slow clients' requests and answers for them.
"""

import gc
import os
import shutil
import tempfile
from pathlib import Path

from django import db
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from gunicorn.app.base import BaseApplication
from prometheus_client import values


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


class Command(BaseCommand):
    help = (
        "Serve Firstline with gunicorn: several worker processes of several threads each, "
        "static files from WhiteNoise. Run `firstline migrate` first."
    )

    def add_arguments(self, parser):
        cpus = os.cpu_count() or 1
        parser.add_argument(
            "--bind",
            default=os.environ.get("BIND", "127.0.0.1"),
            help="address to listen on (BIND; 127.0.0.1: behind a reverse proxy)",
        )
        parser.add_argument(
            "--port", type=int, default=_env_int("PORT", 8000), help="port (PORT; 8000)"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=_env_int("WEB_WORKERS", 2 * cpus),
            help=f"worker processes (WEB_WORKERS; twice the CPUs: {2 * cpus})",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=_env_int("WEB_THREADS", 1),
            help="threads per worker process (WEB_THREADS; 1: gunicorn's sync worker)",
        )
        parser.add_argument(
            "--timeout",
            type=int,
            default=_env_int("WEB_TIMEOUT", 60),
            help="seconds before a stuck worker is restarted (WEB_TIMEOUT; 60)",
        )
        parser.add_argument(
            "--access-log", action="store_true", help="log every request to standard error"
        )
        parser.add_argument(
            "--no-collectstatic",
            action="store_true",
            help="do not collect static files first (they were collected at deployment)",
        )

    def handle(self, *args, **options):
        if not options["no_collectstatic"] and not settings.DEBUG:
            call_command("collectstatic", interactive=False, verbosity=0)
        metrics_dir, owned = _metrics_directory()
        db.connections.close_all()  # the worker processes fork from this one: no shared socket
        try:
            FirstlineServer(_gunicorn_options(options, metrics_dir)).run()
        finally:
            if owned:
                shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_directory() -> tuple[Path, bool]:
    """Where the worker processes pool their request metrics (see core/metrics.py): the
    operator's PROMETHEUS_MULTIPROC_DIR, emptied, or a private one for this server's life
    (then True: remove it at exit)."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):  # figures of a previous server's processes
            stale.unlink()
    else:
        path = Path(tempfile.mkdtemp(prefix="firstline-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    # prometheus_client picks where values live when it is first imported, which may have
    # happened already (django-rq imports it): pick again, now that the directory is known.
    values.ValueClass = values.get_value_class()
    return path, not given


def worker_class(threads: int) -> str:
    """gunicorn's worker for processes of `threads` threads (the benchmarks serve their
    references with it too)."""
    return "sync" if threads == 1 else "gthread"


def _gunicorn_options(options: dict, metrics_dir: Path) -> dict:
    threads = max(1, options["threads"])
    config = {
        "bind": f"{options['bind']}:{options['port']}",
        "workers": max(1, options["workers"]),
        "threads": threads,
        "worker_class": worker_class(threads),
        "timeout": options["timeout"],
        "graceful_timeout": 30,
        "keepalive": 5,  # threaded processes only: a sync one closes after each answer
        # Django is imported once, then the workers fork from it: quicker starts, shared pages.
        "preload_app": True,
        "accesslog": "-" if options["access_log"] else None,
        "errorlog": "-",
        "loglevel": os.environ.get("LOG_LEVEL", "info").lower(),
        "proc_name": "firstline-web",
        # No gunicornc socket: it would live in $HOME, shared by every server of the user.
        "control_socket_disable": True,
        "child_exit": _forget_worker(metrics_dir),
        # Behind a reverse proxy on this machine: trust its X-Forwarded-* headers.
        "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"),
    }
    if settings.LOG_FORMAT == "json":
        config["logconfig_dict"] = _json_logging(options["access_log"])
    return config


def _forget_worker(path: Path):
    def child_exit(server, worker):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, str(path))

    return child_exit


def _json_logging(access_log: bool) -> dict:
    """gunicorn replaces the logging configuration when given one: this one keeps Django's
    JSON lines (with request ids) and writes gunicorn's own (start, stop, worker restarts,
    the access log when asked for) as JSON too."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "filters": ["request"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "firstline.core.logs.JsonFormatter"}},
        "filters": {"request": {"()": "firstline.core.logs.RequestContextFilter"}},
        "handlers": {"json": handler},
        "root": {"handlers": ["json"], "level": os.environ.get("LOG_LEVEL", "INFO")},
        "loggers": {
            "gunicorn.error": {"handlers": ["json"], "propagate": False},
            "gunicorn.access": {
                "handlers": ["json"],
                "propagate": False,
                "level": "INFO" if access_log else "WARNING",
            },
        },
    }


class FirstlineServer(BaseApplication):
    """gunicorn run from Python, with our options instead of its command line."""

    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self):
        from firstline.wsgi import application

        # The workers fork from here with the application loaded: what it holds now lasts
        # as long as they do, so the garbage collector leaves it out of its full passes
        # (about 20 ms each otherwise).
        gc.freeze()
        return application
