"""Writes to the search index. Every write runs in the caller's transaction (ticket receivers,
the knowledge base's services), so what commits is searchable at once and what rolls back
never was.

SQLite keeps the tokens in one FTS5 table per kind (rowid = the object's id); PostgreSQL in
the tsvector column `vector` of search_searchdocument (see migration 0002 and tokens.py).
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from firstline.core import clock, maintenance
from firstline.core.bulk import execute_later

from . import tokens
from .models import Kind, SearchDocument

DOCUMENTS = SearchDocument._meta.db_table
MAX_TEXT = 100_000  # characters of a document's text that get indexed
WEIGHTS = {"title": "A", "body": "B", "internal": "D"}  # PostgreSQL; requesters query A and B
PG_VECTOR = (
    "setweight(to_tsvector('simple', title_tokens), 'A') || "
    "setweight(to_tsvector('simple', body_tokens), 'B') || "
    "setweight(to_tsvector('simple', internal_tokens), 'D')"
)


@dataclass(frozen=True)
class Entry:
    """A document as it gets written: display fields plus its three token strings."""

    kind: str
    object_id: int
    title: str
    title_tokens: str
    body_tokens: str
    internal_tokens: str = ""
    body: str = ""
    language: str = ""
    organization_id: int | None = None


KINDS = frozenset(Kind.values)  # `Kind.values` builds its list anew each time


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"Unknown search document kind {kind!r}.")
    return kind


def fts_table(kind: str) -> str:
    return f"search_{_check_kind(kind)}_fts"


def _write(entries: list[Entry]) -> None:
    """Inserts or replaces `entries` (all of one kind) in one statement per table."""
    if not entries:
        return
    if connection.vendor == "postgresql":
        _write_postgresql(entries)
        return
    now = connection.ops.adapt_datetimefield_value(clock.now())
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {DOCUMENTS} "
            "(kind, object_id, title, body, language, organization_id, updated_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (kind, object_id) DO UPDATE SET "
            "title = EXCLUDED.title, body = EXCLUDED.body, language = EXCLUDED.language, "
            "organization_id = EXCLUDED.organization_id, updated_at = EXCLUDED.updated_at",
            [
                (e.kind, e.object_id, e.title[:255], e.body, e.language, e.organization_id, now)
                for e in entries
            ],
        )
        cursor.executemany(
            f"INSERT OR REPLACE INTO {fts_table(entries[0].kind)} "
            "(rowid, title, body, internal) VALUES (%s, %s, %s, %s)",
            [(e.object_id, e.title_tokens, e.body_tokens, e.internal_tokens) for e in entries],
        )


_UPSERT = (
    "ON CONFLICT (kind, object_id) DO UPDATE SET title = EXCLUDED.title, "
    "body = EXCLUDED.body, language = EXCLUDED.language, "
    "organization_id = EXCLUDED.organization_id, updated_at = EXCLUDED.updated_at, "
    "vector = EXCLUDED.vector"
)
_ONE_VECTOR = PG_VECTOR.replace("title_tokens", "%s").replace("body_tokens", "%s")
_ONE_VECTOR = _ONE_VECTOR.replace("internal_tokens", "%s")


def _write_postgresql(entries: list[Entry]) -> None:
    """One INSERT ... SELECT FROM unnest(arrays): three times faster than a statement per
    row when the bulk reindex writes thousands. A single document (every new ticket) goes
    as plain VALUES: sending arrays costs more than the row."""
    if len(entries) == 1:
        _write_one_postgresql(entries[0])
        return
    columns = {
        "object_id": "bigint",
        "title": "text",
        "body": "text",
        "language": "text",
        "organization_id": "bigint",
        "title_tokens": "text",
        "body_tokens": "text",
        "internal_tokens": "text",
    }
    arrays = [[getattr(e, name) for e in entries] for name in columns]
    arrays[1] = [title[:255] for title in arrays[1]]
    unnest = ", ".join(f"%s::{kind}[]" for kind in columns.values())
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {DOCUMENTS} "
            "(kind, object_id, title, body, language, organization_id, updated_at, vector) "
            f"SELECT %s, object_id, title, body, language, organization_id, %s, {PG_VECTOR} "
            f"FROM unnest({unnest}) AS u({', '.join(columns)}) {_UPSERT}",
            [entries[0].kind, clock.now(), *arrays],
        )


def _write_one_postgresql(e: Entry) -> None:
    values = [e.kind, e.object_id, e.title[:255], e.body, e.language, e.organization_id]
    values += [clock.now(), e.title_tokens, e.body_tokens, e.internal_tokens]
    # Nothing is read back: inside bulk.writes_together (a new ticket's), it travels with
    # the other writes that need no answer.
    execute_later(_ONE_DOCUMENT, values)


_ONE_DOCUMENT = (
    f"INSERT INTO {DOCUMENTS} "
    "(kind, object_id, title, body, language, organization_id, updated_at, vector) "
    f"VALUES (%s, %s, %s, %s, %s, %s, %s, {_ONE_VECTOR}) {_UPSERT}"
)


def _append(*, kind: str, object_id: int, text: str, internal: bool) -> bool:
    """Adds `text` to a document's body (or internal notes); False if there is no document."""
    token_string = tokens.token_string(text[:MAX_TEXT])
    column = "internal" if internal else "body"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {DOCUMENTS} SET vector = coalesce(vector, ''::tsvector) || "
                f"setweight(to_tsvector('simple', %s), '{WEIGHTS[column]}'), updated_at = %s "
                "WHERE kind = %s AND object_id = %s",
                [token_string, clock.now(), kind, object_id],
            )
        else:
            cursor.execute(
                f"UPDATE {fts_table(kind)} SET {column} = {column} || ' ' || %s WHERE rowid = %s",
                [token_string, object_id],
            )
        return cursor.rowcount > 0


@transaction.atomic
def index_document(
    *,
    kind: str,
    object_id: int,
    title: str,
    body: str,
    language: str = "",
    organization_id: int | None = None,
) -> None:
    """Makes (or remakes) the document `kind`/`object_id` searchable by its title and body."""
    body = (body or "")[:MAX_TEXT]
    entry = Entry(
        kind=_check_kind(kind),
        object_id=object_id,
        title=title or "",
        title_tokens=tokens.token_string(title or ""),
        body_tokens=tokens.token_string(body),
        body=body if kind != Kind.TICKET else "",
        language=language or "",
        organization_id=organization_id,
    )
    _write([entry])


@transaction.atomic
def remove_document(*, kind: str, object_id: int) -> None:
    SearchDocument.objects.filter(kind=_check_kind(kind), object_id=object_id).delete()
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {fts_table(kind)} WHERE rowid = %s", [object_id])


# --- Tickets ------------------------------------------------------------------------------


def _ticket_entries(ticket_ids: Iterable[int]) -> list[Entry]:
    """Entries for the tickets `ticket_ids` with their whole conversation, in two queries."""
    from firstline.tickets.models import Comment, Ticket

    if isinstance(ticket_ids, range):  # a batch of the bulk reindex: a range scan, no IN list
        match = {"pk__gte": ticket_ids.start, "pk__lt": ticket_ids.stop}
    else:
        match = {"pk__in": list(ticket_ids)}
    conversation: dict[int, tuple[list[str], list[str]]] = {}
    comments = Comment.objects.filter(**{f"ticket__{k}": v for k, v in match.items()})
    rows = comments.order_by("ticket_id", "created_at", "pk").values_list(
        "ticket_id", "body", "is_public"
    )
    for ticket_id, body, public in rows:
        conversation.setdefault(ticket_id, ([], []))[0 if public else 1].append(body)
    tickets = Ticket.objects.filter(**match).order_by("pk")
    entries = []
    fields = ("pk", "subject", "description", "organization_id")
    for pk, subject, description, organization_id in tickets.values_list(*fields):
        public, internal = conversation.get(pk, ((), ()))
        body = "\n".join([description, *public])[:MAX_TEXT]
        entries.append(
            Entry(
                kind=Kind.TICKET,
                object_id=pk,
                title=subject,
                title_tokens=tokens.token_string(subject),
                body_tokens=tokens.token_string(body),
                internal_tokens=tokens.token_string("\n".join(internal)[:MAX_TEXT]),
                organization_id=organization_id,
            )
        )
    return entries


def index_new_ticket(*, ticket) -> None:
    """A ticket just created: no conversation yet, so no query besides the writes."""
    _write(
        [
            Entry(
                kind=Kind.TICKET,
                object_id=ticket.pk,
                title=ticket.subject,
                title_tokens=tokens.token_string(ticket.subject),
                body_tokens=tokens.token_string((ticket.description or "")[:MAX_TEXT]),
                organization_id=ticket.organization_id,
            )
        ]
    )


def index_tickets(*, ticket_ids: Iterable[int]) -> None:
    """Rebuilds the documents of these tickets from their current subject, text and comments."""
    _write(_ticket_entries(ticket_ids))


def index_comment(*, ticket, comment) -> None:
    """Adds a reply or internal note to its ticket's document (rebuilding a missing one)."""
    added = _append(
        kind=Kind.TICKET, object_id=ticket.pk, text=comment.body, internal=not comment.is_public
    )
    if not added:
        index_tickets(ticket_ids=[ticket.pk])


# --- Bulk ---------------------------------------------------------------------------------


def reindex(*, kinds: Iterable[str] = (Kind.TICKET,), batch_size: int = 2000, log=None) -> int:
    """Rebuilds the index of `kinds` from the source rows; returns how many documents it wrote.

    Tickets are read in primary-key ranges of `batch_size`, one transaction per batch, so a
    million tickets never sit in memory at once. Articles are the knowledge base's: they are
    indexed by its services and by `firstline.kb.services.reindex_articles` if it exists.
    """
    written = 0
    for kind in kinds:
        _check_kind(kind)
        if kind == Kind.TICKET:
            written += _reindex_tickets(batch_size, log)
        else:
            written += _reindex_articles(log)
    # SQLite: FTS5's own statements (it drops merged segments with `DELETE ... WHERE id >= ?
    # AND id <= ?`) read the whole index instead of a range when the statistics were taken
    # while it was nearly empty (a migration's ANALYZE): at 1M tickets, every 16th write of
    # the index then took a second instead of a millisecond.
    maintenance.refresh_sqlite_statistics()
    return written


def _clear(kind: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DOCUMENTS} WHERE kind = %s", [kind])
        if connection.vendor != "postgresql":
            cursor.execute(f"DELETE FROM {fts_table(kind)}")


def _reindex_tickets(batch_size: int, log) -> int:
    from firstline.tickets.models import Ticket

    with transaction.atomic():
        _clear(Kind.TICKET)
    bounds = Ticket.objects.order_by("pk").values_list("pk", flat=True)
    first, last = bounds.first(), bounds.last()
    if first is None:
        return 0
    written, began = 0, time.perf_counter()
    for start in range(first, last + 1, batch_size):
        ids = range(start, min(start + batch_size, last + 1))
        with transaction.atomic():
            entries = _ticket_entries(ids)
            _write(entries)
        written += len(entries)
        if log and (start - first) // batch_size % 50 == 49:
            log(f"{written} tickets indexed in {time.perf_counter() - began:.0f} s")
    _optimize(Kind.TICKET)
    return written


def _optimize(kind: str) -> None:
    """SQLite: merges the FTS5 segments a bulk load leaves, which makes every query faster."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            table = fts_table(kind)
            cursor.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")


def _reindex_articles(log) -> int:
    try:
        from firstline.kb.services import reindex_articles
    except ImportError:
        if log:
            log("No knowledge base: no articles to index.")
        return 0
    return reindex_articles()
