from django.conf import settings
from django.db import models

from firstline.core import clock


class SavedFilter(models.Model):
    """A queue view with filters an agent keeps in their sidebar."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters"
    )
    name = models.CharField(max_length=80)
    queue = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="desk_savedfilter_unique_name")
        ]

    def __str__(self) -> str:
        return self.name
