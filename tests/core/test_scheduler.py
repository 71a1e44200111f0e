import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from firstline.core import scheduler

from .. import markers

pytestmark = pytest.mark.django_db(transaction=True)

JOB = scheduler.Job("test_job", timedelta(minutes=1), "unused")
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def test_a_due_job_is_claimed_once_per_tick():
    with time_machine.travel(T0, tick=False):
        assert scheduler.claim(JOB, T0) is True
        assert scheduler.claim(JOB, T0) is False
    later = T0 + timedelta(seconds=61)
    assert scheduler.claim(JOB, later) is True
    assert scheduler.claim(JOB, later + timedelta(seconds=30)) is False


def test_tick_enqueues_only_what_is_due():
    started = []
    with time_machine.travel(T0, tick=False):
        assert scheduler.tick([JOB], enqueue=started.append) == ["test_job"]
        assert scheduler.tick([JOB], enqueue=started.append) == []
    assert started == [JOB]


@markers.needs_concurrent_writers("the claims one after the other above cover SQLite")
def test_racing_workers_start_a_tick_once():
    scheduler.claim(JOB, T0)  # the row exists; the next tick is due at T0 + 1 min
    tick_time = T0 + timedelta(minutes=2)
    wins = []
    barrier = threading.Barrier(4)

    def worker():
        from django.db import connection

        barrier.wait()
        wins.append(scheduler.claim(JOB, tick_time))
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False, False, False, True]
