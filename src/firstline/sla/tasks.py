from django_tasks import task

from . import services


@task()
def sweep_sla() -> dict:
    """The periodic sweep: acts on the warnings and breaches that are due."""
    report = services.sweep()
    return {"checked": report.checked, "warnings": report.warnings, "breaches": report.breaches}


@task()
def retarget_open_tickets() -> int:
    """After an SLA configuration change."""
    return services.retarget_open_tickets()
