from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import Group, Organization
from firstline.core import clock
from firstline.tickets.models import Category, Comment, Ticket


class Mailbox(models.Model):
    """An address the help desk receives mail at, by IMAP polling or by HTTP push."""

    class Security(models.TextChoices):
        SSL = "ssl", _("TLS (IMAPS)")
        STARTTLS = "starttls", _("STARTTLS")
        PLAIN = "plain", _("Plain (no encryption)")

    class AfterImport(models.TextChoices):
        MOVE = "move", _("Move to the processed folder")
        FLAG = "flag", _("Mark as read and flag")
        DELETE = "delete", _("Delete")

    address = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    # Where new tickets from this mailbox go.
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.PROTECT)
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.PROTECT)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT)
    # Empty: anyone may write; else only these sender domains (comma-separated).
    allowed_sender_domains = models.TextField(blank=True)
    # IMAP polling (optional).
    imap_enabled = models.BooleanField(default=False)
    imap_host = models.CharField(max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(max_length=10, choices=Security.choices, default=Security.SSL)
    imap_username = models.CharField(max_length=255, blank=True)
    imap_password = models.CharField(max_length=255, blank=True)
    imap_folder = models.CharField(max_length=255, default="INBOX")
    processed_folder = models.CharField(max_length=255, default="Processed")
    after_import = models.CharField(
        max_length=10, choices=AfterImport.choices, default=AfterImport.MOVE
    )
    poll_interval = models.PositiveIntegerField(default=60, help_text=_("Seconds."))
    last_polled_at = models.DateTimeField(null=True, blank=True)
    # Set while a poller works on the mailbox: another one keeps away until it is done.
    polling_until = models.DateTimeField(null=True, blank=True)
    last_poll_error = models.TextField(blank=True)
    # The per-mailbox token of the HTTP inbound endpoint: only its SHA-256 digest is kept.
    inbound_token_digest = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["address"]
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return self.address

    @property
    def allowed_domains(self) -> list[str]:
        return [d.strip().lower() for d in self.allowed_sender_domains.split(",") if d.strip()]


class InboundMessage(models.Model):
    """A received message, stored as raw bytes before anything else happens to it."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        QUARANTINED = "quarantined", _("Quarantined")

    class Source(models.TextChoices):
        IMAP = "imap", "IMAP"
        HTTP = "http", "HTTP"

    # No index of its own: inbound_hash_idx leads with the mailbox. A second index on it
    # gave PostgreSQL, before it had statistics, a plan that read the mailbox's every
    # message to find one hash (see migration 0005).
    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.PROTECT, related_name="messages", db_index=False
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    raw = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_uid = models.BigIntegerField(null=True, blank=True)
    message_id = models.CharField(max_length=998, blank=True)
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    result = models.CharField(max_length=20, blank=True)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment = models.ForeignKey(
        Comment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(default=clock.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    # A worker's lease on a waiting message (others leave it alone until then), or, for a
    # reply whose original is still being processed, when to look at it again.
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "imap_uidvalidity", "imap_uid"],
                name="inbound_unique_imap_uid",
                condition=models.Q(imap_uid__isnull=False),
            ),
            # One Message-ID is imported once per mailbox: the second copy (a relay's retry,
            # two workers at once) fails here and is recorded as a duplicate.
            models.UniqueConstraint(
                fields=["mailbox", "message_id"],
                name="inbound_unique_processed_msgid",
                condition=models.Q(status="processed") & ~models.Q(message_id=""),
            ),
        ]
        indexes = [
            # The waiting messages in arrival order, for the workers' claims (inbound._WAITING).
            # The status leads so that SQLite, which sees it as an equality, walks this index
            # rather than sorting what inbound_status_idx finds.
            models.Index(
                fields=["status", "id"],
                name="inbound_waiting_idx",
                condition=models.Q(status="received"),
            ),
            models.Index(fields=["mailbox", "sha256"], name="inbound_hash_idx"),
            models.Index(fields=["message_id"], name="inbound_message_id_idx"),
            models.Index(fields=["status", "received_at"], name="inbound_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject}"


class MessageReference(models.Model):
    """A Message-ID seen in a ticket's conversation, in or out: how replies find their ticket."""

    message_id = models.CharField(max_length=998)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    outgoing = models.BooleanField()
    # Who sent it (incoming): a reference to someone else's mail is no proof of anything.
    sender = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["message_id"], name="msgref_message_id_idx")]

    def __str__(self) -> str:
        return self.message_id


class OutboundMessage(models.Model):
    """The outbox: written in the transaction of the change that causes it, sent by a task."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed permanently")

    kind = models.CharField(max_length=20)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipients = models.JSONField(default=list)
    # The first recipient, indexed: "did we answer this sender lately?" must stay cheap.
    primary_recipient = models.CharField(max_length=254, blank=True)
    cc = models.JSONField(default=list)
    subject = models.CharField(max_length=998)
    body = models.TextField()
    message_id = models.CharField(max_length=998, unique=True)
    headers = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=clock.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=clock.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
            models.Index(
                fields=["kind", "primary_recipient", "created_at"], name="outbox_recipient_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {', '.join(self.recipients)}"


class EmailTemplate(models.Model):
    """An admin's version of a notification e-mail in one language; the default is a file."""

    kind = models.CharField(max_length=20)
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "language"], name="emailtemplate_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.language})"
