"""Periodic jobs (mail polling, outbox retries...) enqueued exactly once per tick.

Every worker process runs the same ticker; a conditional UPDATE on the job's row decides which
one enqueues the task, so several workers on several machines never run a tick twice.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import close_old_connections
from django.utils.module_loading import import_string

from firstline.core import clock

from .models import PeriodicJob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    task: str  # dotted path of a django-tasks task taking no arguments


JOBS: list[Job] = [
    Job("send_outbox", timedelta(minutes=1), "firstline.channels.tasks.send_outbox"),
    Job("poll_mailboxes", timedelta(seconds=30), "firstline.channels.tasks.poll_due_mailboxes"),
    Job(
        "requeue_stale_inbound",
        timedelta(minutes=5),
        "firstline.channels.tasks.requeue_stale_inbound",
    ),
    Job("time_rules", timedelta(minutes=5), "firstline.automation.tasks.run_time_rules"),
    Job("auto_close", timedelta(hours=1), "firstline.automation.tasks.auto_close_resolved"),
    Job("sla_sweep", timedelta(minutes=1), "firstline.sla.tasks.sweep_sla"),
    Job(
        "database_statistics",
        timedelta(hours=6),
        "firstline.core.tasks.refresh_database_statistics",
    ),
]


def claim(job: Job, now: datetime) -> bool:
    """True for exactly one caller per due tick of `job`."""
    PeriodicJob.objects.get_or_create(name=job.name, defaults={"next_run_at": now})
    won = PeriodicJob.objects.filter(name=job.name, next_run_at__lte=now).update(
        next_run_at=now + job.every, last_run_at=now
    )
    return won == 1


def tick(jobs: list[Job] | None = None, enqueue: Callable | None = None) -> list[str]:
    """Enqueues every job that is due and returns their names."""
    now = clock.now()
    started = []
    for job in jobs if jobs is not None else JOBS:
        if claim(job, now):
            (enqueue or _enqueue)(job)
            started.append(job.name)
            tick_extra = {"job": job.name, "tick": now.isoformat()}
            log.info("Periodic job %s enqueued", job.name, extra=tick_extra)
    return started


def _enqueue(job: Job) -> None:
    import_string(job.task).enqueue()


def run_forever(stop: threading.Event, interval: float = 5.0) -> None:
    while not stop.is_set():
        try:
            tick()
        except Exception:  # a database hiccup must not kill the ticker
            log.exception("Periodic job tick failed")
        finally:
            close_old_connections()
        stop.wait(interval)
