"""SQLite's planner statistics follow the desk as it grows (core/maintenance.py)."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from firstline.core import maintenance, scheduler, tasks
from firstline.core.models import PeriodicJob

pytestmark = pytest.mark.django_db

on_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="PostgreSQL's autovacuum analyses by itself"
)
TABLE = PeriodicJob._meta.db_table
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def _add_jobs(n: int, start: int = 0) -> None:
    PeriodicJob.objects.bulk_create(
        PeriodicJob(name=f"job-{i}", next_run_at=T0) for i in range(start, start + n)
    )


def _analysed_rows() -> int | None:
    with connection.cursor() as cursor:
        return maintenance._analysed_rows(cursor).get(TABLE)


@pytest.fixture
def few_rows_count(monkeypatch):
    monkeypatch.setattr(maintenance, "MIN_ROWS", 10)


@on_sqlite
def test_a_table_never_analysed_is_analysed_once_it_has_rows(few_rows_count):
    _add_jobs(5)
    assert TABLE not in maintenance.stale_tables()  # too small to matter
    _add_jobs(20, start=5)
    assert maintenance.stale_tables()[TABLE] == (None, 25)
    assert TABLE in maintenance.refresh_sqlite_statistics()
    assert _analysed_rows() == 25
    assert TABLE not in maintenance.refresh_sqlite_statistics()  # nothing new since


@on_sqlite
def test_a_table_is_analysed_again_when_it_grows_by_a_quarter(few_rows_count):
    _add_jobs(40)
    maintenance.refresh_sqlite_statistics()
    _add_jobs(10, start=40)  # 50 rows: exactly 25% more is not yet stale
    assert TABLE not in maintenance.stale_tables()
    _add_jobs(1, start=50)
    assert maintenance.stale_tables()[TABLE] == (40, 51)
    tasks.refresh_database_statistics.call()
    assert _analysed_rows() == 51


@on_sqlite
def test_deleted_rows_do_not_make_a_table_look_bigger(few_rows_count):
    _add_jobs(40)
    maintenance.refresh_sqlite_statistics()
    PeriodicJob.objects.filter(name__in=[f"job-{i}" for i in range(30)]).delete()
    _add_jobs(15, start=40)  # the largest rowid is now 55, but only 25 rows are left
    assert TABLE not in maintenance.stale_tables()


@pytest.mark.skipif(connection.vendor == "sqlite", reason="the SQLite tests above")
def test_postgresql_is_left_to_autovacuum():
    _add_jobs(2000)
    assert maintenance.stale_tables() == {}
    assert tasks.refresh_database_statistics.call() == []


def test_the_worker_runs_it_periodically():
    jobs = {job.task: job for job in scheduler.JOBS}
    assert "firstline.core.tasks.refresh_database_statistics" in jobs
