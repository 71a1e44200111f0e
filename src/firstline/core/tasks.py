from django_tasks import task

from . import maintenance


@task()
def refresh_database_statistics() -> list[str]:
    """Periodic: SQLite's planner statistics follow the desk's growth (see maintenance.py)."""
    return maintenance.refresh_sqlite_statistics()
