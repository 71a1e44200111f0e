from django.db import models


class PeriodicJob(models.Model):
    """When a periodic job runs next; the row every worker races for, so one of them wins."""

    name = models.CharField(max_length=100, primary_key=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name
