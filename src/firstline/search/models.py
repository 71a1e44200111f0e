from django.db import models

from firstline.core import clock


class Kind(models.TextChoices):
    TICKET = "ticket", "ticket"
    ARTICLE = "article", "article"


class SearchDocument(models.Model):
    """One searchable thing (a ticket with its conversation, an article).

    The tokens themselves live beside this row, per database (see migration 0001): on SQLite
    in the FTS5 table `search_<kind>_fts` whose rowid is `object_id`; on PostgreSQL in the
    `vector` tsvector column of this table, with a GIN index per kind. `body` keeps an
    article's text for snippets; tickets keep theirs in the ticket tables, so it stays empty.
    """

    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.BigIntegerField()
    title = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    language = models.CharField(max_length=16, blank=True)
    organization_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="search_document_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"
