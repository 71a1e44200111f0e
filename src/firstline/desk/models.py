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


class Notification(models.Model):
    """An in-app notice for an agent (SLA warnings and breaches). One notice covers either one
    ticket or, when many arrive at once, a digest of `count` tickets listed in `data`."""

    class Kind(models.TextChoices):
        SLA_WARNING = "sla_warning"
        SLA_BREACH = "sla_breach"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    count = models.PositiveIntegerField(default=1)
    # Language-neutral facts, rendered in the reader's language: target, due, tickets...
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=clock.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="desk_notice_recent_idx"),
            models.Index(
                fields=["recipient"],
                condition=models.Q(read_at__isnull=True),
                name="desk_notice_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"
