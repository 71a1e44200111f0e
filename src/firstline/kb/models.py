"""The knowledge base: articles with their revisions, what readers said of them, and how they
were used (read from the portal's suggestions, or named by an agent as the fix of a ticket)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from firstline.accounts.models import Organization
from firstline.core import clock
from firstline.tickets.models import Category, Tag, Ticket


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    CHINESE = "zh-hans", _("Simplified Chinese")


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Public: everyone in the portal")
    INTERNAL = "internal", _("Internal: agents only")
    ORGANIZATIONS = "organizations", _("Limited to some organizations")


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class Article(models.Model):
    """A help article. `body` is Markdown; `body_html` is it rendered and sanitised when saved,
    so reading an article costs no rendering. `version` counts changes (optimistic locking)."""

    title = models.CharField(max_length=255)
    body = models.TextField()
    body_html = models.TextField(editable=False, default="")
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="articles"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="articles")
    language = models.CharField(max_length=10, choices=Language.choices, default=Language.ENGLISH)
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    # Who may read an article limited to some organizations (besides agents).
    organizations = models.ManyToManyField(Organization, blank=True, related_name="articles")
    status = models.CharField(
        max_length=16, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="articles"
    )
    # The resolved ticket this article documents ("document the fix").
    source_ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="documented_by"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=clock.now)
    updated_at = models.DateTimeField(default=clock.now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["status", "visibility"], name="kb_article_status_idx"),
            models.Index(fields=["category", "status"], name="kb_article_category_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class Revision(models.Model):
    """The title and body as they were after one change; restoring one makes a new one."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=255)
    body = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="kb_revision_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.article_id} r{self.number}"


class Rating(models.Model):
    """A reader's "did this help?", once per reader and article (rating again replaces it)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="ratings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    helpful = models.BooleanField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["article", "user"], name="kb_rating_one_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.article_id} {'+' if self.helpful else '-'}"


class SolvedBy(models.Model):
    """An agent's "solved by this article" on a ticket: counted per article."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="solved")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="solved_by")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["article", "ticket"], name="kb_solved_once_per_ticket")
        ]
        indexes = [models.Index(fields=["created_at"], name="kb_solved_created_idx")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} by {self.article_id}"


class ArticleView(models.Model):
    """One reading of an article in the portal. Readings opened from the suggestions of the
    new-request form carry the session, so that a request sent afterwards can be noted on them
    (see `services.record_view` for how deflections are counted)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="views")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    session_key = models.CharField(max_length=64, blank=True)
    from_suggestion = models.BooleanField(default=False)
    # The request sent in the same session soon after: this reading did not deflect it.
    followed_by = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [
            models.Index(fields=["article", "created_at"], name="kb_view_article_idx"),
            models.Index(fields=["session_key", "created_at"], name="kb_view_session_idx"),
        ]

    def __str__(self) -> str:
        return f"view of {self.article_id}"
