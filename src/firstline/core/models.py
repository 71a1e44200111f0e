from django.db import models


class PeriodicJob(models.Model):
    """When a periodic job runs next; the row every worker races for, so one of them wins."""

    name = models.CharField(max_length=100, primary_key=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class Revision(models.Model):
    """A token that every change of one part of the configuration replaces: each process
    keeps what it derived from that configuration while the token it read is still current
    (see core/revisions.py)."""

    name = models.CharField(max_length=50, primary_key=True)
    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"{self.name}: {self.token}"
