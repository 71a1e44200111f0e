"""Periodic jobs of automation (registered in firstline.core.scheduler.JOBS)."""

from django_tasks import task

from . import engine, services


@task()
def run_time_rules() -> int:
    """Time-based rules ("pending for 5 days"): the number of tickets looked at."""
    return engine.run_time_rules()


@task()
def auto_close_resolved() -> int:
    """Closes resolved tickets without a reply for AUTO_CLOSE_DAYS: how many were closed."""
    return len(services.auto_close_resolved())
