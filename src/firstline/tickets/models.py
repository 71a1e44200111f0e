import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import Group, Organization
from firstline.core import clock


class Status(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending")
    ON_HOLD = "on_hold", _("On hold")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class Priority(models.IntegerChoices):
    """Stored as numbers so that queues sort by urgency with an index."""

    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")

    @property
    def key(self) -> str:
        return self.name.lower()

    @classmethod
    def from_key(cls, key: str) -> "Priority":
        return cls[key.upper()]


class Channel(models.TextChoices):
    WEB = "web", _("Web portal")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    WALK_IN = "walk_in", _("Walk-in")
    API = "api", _("API")


class Category(models.Model):
    """A node in the category tree, e.g. `Hardware > Printer`; `full_name` is the whole path."""

    name = models.CharField(max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    full_name = models.CharField(max_length=500, editable=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["full_name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="tickets_category_unique_name")
        ]

    def __str__(self) -> str:
        return self.full_name


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    """A request to the help desk. Its primary key is its number (`#1042`): never reused."""

    subject = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.WEB)
    # The foreign keys below are indexed by the composite indexes in Meta (which start with
    # them); a second index of their own would only slow every write.
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="requested_tickets",
        db_index=False,
    )
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,
    )
    group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_tickets",
        db_index=False,
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    links = models.ManyToManyField("self", blank=True, symmetrical=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_tickets"
    )
    # Optimistic locking: every change increments it; a change based on an older one is refused.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The SLA's earliest unmet due time (sla.TicketSla.next_due_at), copied here by the SLA
    # services so that a queue sorted by it reads the work index alone: joining the SLA row
    # of each of a queue's thousands of open tickets cost most of the page.
    sla_due_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["status", "-id"], name="ticket_status_idx"),
            models.Index(fields=["group", "status", "-id"], name="ticket_group_status_idx"),
            # An agent's own queue sorted by due time reads this index alone.
            models.Index(
                fields=["assignee", "status", "-id", "sla_due_at"],
                name="ticket_assignee_status_idx",
            ),
            models.Index(fields=["organization", "-id"], name="ticket_org_idx"),
            models.Index(fields=["requester", "-id"], name="ticket_requester_idx"),
            models.Index(fields=["created_at"], name="ticket_created_idx"),
            # Queues and counts of unresolved work read this index alone (no table rows):
            # status and group narrow it, the rest is what they count and sort by.
            models.Index(
                fields=[
                    "status",
                    "group",
                    "assignee",
                    "priority",
                    "created_at",
                    "id",
                    "sla_due_at",
                ],
                name="ticket_work_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def number(self) -> int:
        return self.pk

    @property
    def priority_key(self) -> str:
        return Priority(self.priority).key


class TicketParticipant(models.Model):
    """Someone copied on a ticket (e-mail CC): receives public replies and may answer."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="participants")
    email = models.EmailField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "email"], name="participant_unique_email")
        ]

    def __str__(self) -> str:
        return self.email


class Comment(models.Model):
    """A conversation entry: a public reply, or an internal note requesters never see."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="comments", db_index=False
    )  # comment_ticket_idx
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="comments"
    )
    body = models.TextField()
    is_public = models.BooleanField(default=True)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.WEB)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="comment_ticket_idx")]

    def __str__(self) -> str:
        return f"{'Reply' if self.is_public else 'Note'} on #{self.ticket_id}"


def attachment_path(instance: "Attachment", filename: str) -> str:
    """A generated name: the sender's filename never reaches the file system."""
    return f"attachments/{clock.now():%Y/%m}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=255)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField()
    is_public = models.BooleanField(default=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.filename


class EventKind(models.TextChoices):
    CREATED = "created", _("Created")
    CHANGED = "changed", _("Changed")
    COMMENTED = "commented", _("Public reply")
    NOTE_ADDED = "note_added", _("Internal note")
    ATTACHED = "attached", _("Attachment added")
    ESCALATED = "escalated", _("Escalated")
    DEESCALATED = "deescalated", _("De-escalated")
    MERGED_INTO = "merged_into", _("Merged into another ticket")
    MERGED_FROM = "merged_from", _("Another ticket merged in")
    PARTICIPANT_ADDED = "cc_added", _("Copied in")
    LINKED = "linked", _("Linked")
    UNLINKED = "unlinked", _("Unlinked")
    SLA_WARNING = "sla_warning", _("SLA warning")
    SLA_BREACH = "sla_breach", _("SLA breached")


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The ticket history is append-only.")

    def delete(self):
        raise TypeError("The ticket history is append-only.")


class TicketEvent(models.Model):
    """One entry of a ticket's audit trail: who changed what, from what to what, when and how."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", db_index=False
    )  # event_ticket_idx
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    field = models.CharField(max_length=50, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    note = models.TextField(blank=True)
    # False for entries requesters must not see: internal notes, routing, escalation reasons.
    is_public = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=clock.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["ticket", "created_at"], name="event_ticket_idx")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.kind} {self.field}".strip()

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("The ticket history is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The ticket history is append-only.")
