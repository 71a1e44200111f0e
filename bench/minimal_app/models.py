from django.db import models


class Row(models.Model):
    """One INSERT per request: a payload and the time it was stored."""

    payload = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.payload
