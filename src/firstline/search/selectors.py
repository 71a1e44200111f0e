"""Search: one entry point for the knowledge base, the portal's suggestions, the desk and the API.

Permissions are the owning apps' own rules, applied inside the search query: tickets come
from `tickets.selectors.visible_tickets(user)` joined to the token index, articles from
`kb.selectors.visible_articles(user)`. Requesters match tickets on the subject, description
and public replies only; agents also on internal notes.

Ranking: bm25 (SQLite) or ts_rank (PostgreSQL), with titles weighing most, among the newest
visible matches: `TICKET_CANDIDATES` x limit tickets, `ARTICLE_CANDIDATES` articles. A common
word matches a hundred thousand tickets, and scoring them all costs seconds, while walking
the matches newest first stops after a few hundred rows; a help desk's searcher nearly always
wants the recent ticket anyway. How the newest matches are found differs per database and per
searcher (agents see many tickets, requesters few): see `_newest_tickets`. A ticket number
(`123`, `#123`) comes first of all.
"""

import functools
import html
from dataclasses import dataclass

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from firstline.core.errors import InvalidInput

from . import tokens
from .models import Kind, SearchDocument
from .services import DOCUMENTS, fts_table

MAX_QUERY_LENGTH = 200
MAX_TERMS = 12
MAX_LIMIT = 100
TICKET_CANDIDATES = 4  # times the hits asked for: the newest visible matches that get ranked
SNIPPET_CONTEXT = 70  # characters shown before and after the first match
FIRST_SLICE = 10_000  # PostgreSQL: the newest ticket numbers searched first for agents
NUMBER_BLOCK = 1024  # PostgreSQL: the GIN index holds object_id / 1024 (migration 0003)
SPARSE = 0.005  # PostgreSQL: a word in fewer of those is looked up among all tickets at once
ARTICLE_CANDIDATES = 500  # the newest visible matches that get ranked
BM25_WEIGHTS = "5.0, 1.0, 1.0"  # title, body, internal notes
FEW_TICKETS = 1000  # SQLite: up to this many visible tickets are matched in Python
NUMBER_SCORE = 1e6  # a ticket number typed in the search box beats any text match
TICKET_FILTERS = {"status": "status__in", "organization": "organization_id", "group": "group_id"}
ARTICLE_FILTERS = {"language": "language__in"}


@dataclass(frozen=True)
class SearchHit:
    kind: str
    object_id: int
    title: str
    snippet: SafeString  # escaped text with the matches in <mark>
    score: float
    url: str


def parse(q: str, *, prefix: bool = False) -> tokens.ParsedQuery:
    """The query's terms, or InvalidInput (422) for one that is empty, too long or has no
    searchable word (only punctuation or very common words)."""
    q = (q or "").strip()
    if not q:
        raise InvalidInput.for_field("q", _("Enter something to search for."))
    if len(q) > MAX_QUERY_LENGTH:
        message = _("Search for at most %(n)s characters.") % {"n": MAX_QUERY_LENGTH}
        raise InvalidInput.for_field("q", message)
    query = tokens.parse_query(q, prefix=prefix)
    if not query and query.number is None:
        raise InvalidInput.for_field("q", _("Enter at least one word or a ticket number."))
    if len(query.terms) > MAX_TERMS:
        message = _("Search for at most %(n)s words.") % {"n": MAX_TERMS}
        raise InvalidInput.for_field("q", message)
    return query


def search(
    *,
    user,
    q: str,
    kinds: tuple[str, ...] = (Kind.TICKET, Kind.ARTICLE),
    limit: int = 25,
    filters: dict | None = None,
    prefix: bool = False,
    any_word: bool = False,
) -> list["SearchHit"]:
    """The best `limit` hits for `q` among what `user` may see, best first.

    `filters`: status (list), organization and group (ids) for tickets; language (list) for
    articles. `prefix`: the last word may be unfinished (search as you type). `any_word`: a
    document matching any of the words qualifies, more matches rank higher (suggestions from
    a whole sentence).
    """
    query = parse(q, prefix=prefix)
    unknown = set(kinds) - set(Kind.values)
    if unknown or not kinds:
        raise InvalidInput.for_field("type", _("Search tickets or articles."))
    if not 1 <= limit <= MAX_LIMIT:
        message = _("Ask for 1 to %(n)s results.") % {"n": MAX_LIMIT}
        raise InvalidInput.for_field("limit", message)
    filters = dict(filters or {})
    allowed = (TICKET_FILTERS if Kind.TICKET in kinds else {}) | (
        ARTICLE_FILTERS if Kind.ARTICLE in kinds else {}
    )
    unknown_filters = sorted(set(filters) - set(allowed))
    if unknown_filters:
        raise InvalidInput.for_field(unknown_filters[0], _("Unknown filter."))
    hits: list[SearchHit] = []
    if Kind.TICKET in kinds:
        hits += _ticket_hits(user, query, limit, filters, any_word)
    if Kind.ARTICLE in kinds:
        hits += _article_hits(user, query, limit, filters, any_word)
    hits.sort(key=lambda h: (-h.score, h.kind, -h.object_id))
    return hits[:limit]


# --- Match expressions ----------------------------------------------------------------------


def _fts_term(term: tokens.Term) -> str:
    phrase = '"' + " ".join(t.replace('"', '""') for t in term.tokens) + '"'
    return phrase + " *" if term.prefix else phrase


def _terms(query: tokens.ParsedQuery, any_word: bool) -> list[tokens.Term]:
    """With `any_word`, each bigram of a Chinese phrase counts on its own: a sentence typed as
    a subject then finds the articles sharing the most words with it."""
    if not any_word:
        return list(query.terms)
    single = [t if len(t.tokens) == 1 else None for t in query.terms]
    split = [tokens.Term((token,)) for t in query.terms if len(t.tokens) > 1 for token in t.tokens]
    return list(dict.fromkeys([t for t in single if t] + split))


def fts_expression(query: tokens.ParsedQuery, *, public_only: bool, any_word: bool) -> str:
    """An FTS5 MATCH expression; requesters' tickets match on title and body only."""
    joiner = " OR " if any_word else " AND "
    expression = joiner.join(_fts_term(t) for t in _terms(query, any_word))
    return f"{{title body}} : ({expression})" if public_only else expression


def _ts_term(term: tokens.Term, weights: str) -> str:
    suffix = (":*" if term.prefix else ":") + weights if (term.prefix or weights) else ""
    return " <-> ".join(f"'{t}'{suffix}" for t in term.tokens)


def tsquery_text(query: tokens.ParsedQuery, *, public_only: bool, any_word: bool) -> str:
    """Text for to_tsquery('simple', ...); weights A and B are the title and public body."""
    weights = "AB" if public_only else ""
    joiner = " | " if any_word else " & "
    return joiner.join(f"({_ts_term(t, weights)})" for t in _terms(query, any_word))


def matching(
    queryset: QuerySet, kind: str, query: tokens.ParsedQuery, *, public_only: bool, any_word: bool
) -> QuerySet:
    """`queryset` (articles; agents' tickets on SQLite) joined to its matches in the index,
    with a `score` (higher is better), newest first.

    On SQLite the walk goes through the matches newest first, looking each row up in
    `queryset`'s table (the unary + keeps SQLite from doing the reverse, a full-text query per
    row, which costs milliseconds each). For articles PostgreSQL's planner chooses the way.
    """
    table = queryset.model._meta.db_table
    options = {"public_only": public_only, "any_word": any_word}
    if connection.vendor == "postgresql":
        text = tsquery_text(query, **options)
        return queryset.extra(
            tables=[DOCUMENTS],
            where=[
                f"{DOCUMENTS}.kind = %s",
                f"{DOCUMENTS}.object_id = {table}.id",
                f"{DOCUMENTS}.vector @@ to_tsquery('simple', %s)",
            ],
            params=[kind, text],
            select={"score": f"ts_rank({DOCUMENTS}.vector, to_tsquery('simple', %s))"},
            select_params=[text],
            order_by=[f"-{table}.id"],
        )
    fts = fts_table(kind)
    return queryset.extra(
        tables=[fts],
        where=[f"{table}.id = +{fts}.rowid", f"{fts} MATCH %s"],
        params=[fts_expression(query, **options)],
        select={"score": f"-bm25({fts}, {BM25_WEIGHTS})"},
        order_by=[f"-{fts}.rowid"],
    )


def ticket_match_ids(user, q: str) -> RawSQL:
    """A subquery of the ticket numbers whose text matches `q` (the ticket list's text filter;
    the list applies `visible_tickets` itself). A query with nothing searchable matches none."""
    try:
        query = parse(q)
    except InvalidInput:
        query = None
    if not query:
        return RawSQL("SELECT 0 WHERE 1 = 0", [])
    public_only = not getattr(user, "is_agent", False)
    if connection.vendor == "postgresql":
        text = tsquery_text(query, public_only=public_only, any_word=False)
        return RawSQL(
            f"SELECT object_id FROM {DOCUMENTS} "
            "WHERE kind = 'ticket' AND vector @@ to_tsquery('simple', %s)",
            [text],
        )
    fts = fts_table(Kind.TICKET)
    expression = fts_expression(query, public_only=public_only, any_word=False)
    return RawSQL(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [expression])


# --- Tickets ---------------------------------------------------------------------------------


def _candidates_for(limit: int) -> int:
    return max(TICKET_CANDIDATES * limit, 50)


def _ticket_hits(user, query, limit, filters, any_word) -> list[SearchHit]:
    from firstline.tickets.selectors import visible_tickets

    if not user.is_authenticated:  # the portal's anonymous readers find articles only
        return []
    tickets = visible_tickets(user)
    for key, value in filters.items():
        if key in TICKET_FILTERS:
            tickets = tickets.filter(**{TICKET_FILTERS[key]: value})
    scores: dict[int, float] = {}
    if query:
        scores = dict(_newest_tickets(user, tickets, query, _candidates_for(limit), any_word))
    if query.number is not None and tickets.filter(pk=query.number).exists():
        scores[query.number] = NUMBER_SCORE
    best = sorted(scores, key=lambda pk: (-scores[pk], -pk))[:limit]
    return _ticket_snippets(user, query, best, scores)


def _newest_tickets(user, tickets: QuerySet, query, count: int, any_word: bool) -> list:
    """(number, score) of the newest `count` tickets among `tickets` that match.

    Which side drives is decided here, not by the planners: both misjudge it. Agents see
    many tickets, so the matches are walked newest first and each is checked against what
    they see; requesters see few, so their tickets are walked and each is checked in the
    index. (PostgreSQL estimates a phrase such as 笔记本电脑 to match 30 documents when it
    matches 57,000, and a number such as 892884 to match thousands when it matches none.)
    """
    public_only = not user.is_agent
    if connection.vendor != "postgresql":
        if public_only:
            return _sqlite_newest_of_few(tickets, query, count, any_word)
        found = matching(tickets, Kind.TICKET, query, public_only=False, any_word=any_word)
        return list(found.values_list("pk", "score")[:count])
    text = tsquery_text(query, public_only=public_only, any_word=any_word)
    if public_only:
        return _postgres_newest_of_few(tickets, text, count)
    return _postgres_newest_matches(tickets, text, count)


def _postgres_newest_of_few(tickets: QuerySet, text: str, count: int) -> list:
    """A requester's tickets newest first, each looked up in the index (LATERAL ... LIMIT 1
    keeps the planner from turning this into a scan of every match)."""
    visible_sql, visible_params = tickets.order_by("-pk").values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT v.id, r.score FROM ({visible_sql}) AS v(id) CROSS JOIN LATERAL ("
            f"SELECT ts_rank(d.vector, to_tsquery('simple', %s)) AS score FROM {DOCUMENTS} d "
            "WHERE d.kind = 'ticket' AND d.object_id = v.id "
            "AND d.vector @@ to_tsquery('simple', %s) LIMIT 1) AS r "
            "ORDER BY v.id DESC LIMIT %s",
            [*visible_params, text, text, count],
        )
        return cursor.fetchall()


def _postgres_newest_matches(tickets: QuerySet, text: str, count: int) -> list:
    """An agent's newest matching tickets: the matches among the newest FIRST_SLICE numbers,
    then among four times as many, and so on; a rare word (fewer than SPARSE of the first
    slice) goes straight to all tickets. The GIN index holds the numbers too (migration
    0003), so a slice costs what it matches, not what the word matches overall, and
    MATERIALIZED keeps the planner from walking all documents instead. Each match is checked
    against what the agent sees; ranks are computed for the chosen ones only."""
    newest = tickets.model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    correlated = tickets.filter(pk=RawSQL("m.object_id", [])).values("pk")
    visible_sql, visible_params = correlated.query.sql_with_params()
    span = FIRST_SLICE
    with connection.cursor() as cursor:
        while True:
            lower = (newest - span) // NUMBER_BLOCK if span < newest else None
            in_slice = "" if lower is None else "AND (object_id / 1024) >= %s::bigint "
            cursor.execute(
                "WITH matches AS MATERIALIZED ("
                f"SELECT object_id FROM {DOCUMENTS} WHERE kind = 'ticket' {in_slice}"
                "AND vector @@ to_tsquery('simple', %s)), "
                "newest AS (SELECT m.object_id FROM matches m "
                f"WHERE EXISTS ({visible_sql}) ORDER BY m.object_id DESC LIMIT %s), "
                "ranked AS (SELECT d.object_id, ts_rank(d.vector, to_tsquery('simple', %s)) "
                f"AS score FROM newest n JOIN {DOCUMENTS} d ON d.kind = 'ticket' "
                "AND d.object_id = n.object_id) "
                "SELECT c.total, r.object_id, r.score "
                "FROM (SELECT count(*) AS total FROM matches) c LEFT JOIN ranked r ON TRUE",
                [*([] if lower is None else [lower]), text, *visible_params, count, text],
            )
            rows = cursor.fetchall()
            found = [(number, score) for _total, number, score in rows if number is not None]
            if len(found) >= count or lower is None:
                return found
            span = newest if rows[0][0] < SPARSE * span else span * 4


def _sqlite_newest_of_few(tickets: QuerySet, query, count: int, any_word: bool) -> list:
    """A requester's newest matching tickets on SQLite, title and public text only.

    FTS5 cannot look one document up by rowid cheaply (each lookup runs the whole full-text
    query), and walking all matches of a common word to find a requester's few costs tens of
    milliseconds at a million tickets. A requester sees few tickets, though: up to
    `FEW_TICKETS` of them, their token strings are read by rowid and matched here (a term is
    its tokens, consecutive); beyond that, the matches are walked with the visible numbers
    as an in-memory filter.
    """
    fts = fts_table(Kind.TICKET)
    visible_sql, visible_params = tickets.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        if tickets[: FEW_TICKETS + 1].count() <= FEW_TICKETS:
            cursor.execute(
                f"SELECT rowid, title, body FROM {fts} WHERE rowid IN ({visible_sql}) "
                "ORDER BY rowid DESC",
                visible_params,
            )
            terms = _terms(query, any_word)
            scored = (
                (pk, _token_score(title, body, terms, any_word)) for pk, title, body in cursor
            )
            return [(pk, score) for pk, score in scored if score][:count]
        cursor.execute(
            f"SELECT rowid, -bm25({fts}, {BM25_WEIGHTS}) FROM {fts} WHERE {fts} MATCH %s "
            f"AND +rowid IN ({visible_sql}) ORDER BY rowid DESC LIMIT %s",
            [fts_expression(query, public_only=True, any_word=any_word), *visible_params, count],
        )
        return cursor.fetchall()


def _token_score(title: str, body: str, terms: list[tokens.Term], any_word: bool) -> float:
    """What FTS5 would match, scored like bm25 roughly: title hits weigh 5, long texts less."""
    title, body = f" {title} ", f" {body} "
    score, matched = 0.0, 0
    for term in terms:
        needle = " " + " ".join(term.tokens) + ("" if term.prefix else " ")
        hits = 5 * title.count(needle) + body.count(needle)
        if hits:
            matched += 1
            score += hits
        elif not any_word:
            return 0.0
    return score / (1 + len(body) / 2000) if matched else 0.0


def _ticket_snippets(user, query, numbers: list[int], scores: dict) -> list[SearchHit]:
    """Snippets from the description, else from the conversation (fetched only for the
    tickets whose description does not match, and for requesters without internal notes)."""
    from firstline.tickets.models import Comment, Ticket

    if not numbers:
        return []
    rows = Ticket.objects.filter(pk__in=numbers).values_list("pk", "subject", "description")
    tickets = {pk: (subject, description) for pk, subject, description in rows}
    snippets = {pk: snippet([d], query, fallback=False) for pk, (_s, d) in tickets.items()}
    missing = [pk for pk, text in snippets.items() if not text]
    if missing:
        conversation: dict[int, list[str]] = {}
        comments = Comment.objects.filter(ticket_id__in=missing).order_by("created_at", "pk")
        if not user.is_agent:
            comments = comments.filter(is_public=True)
        for ticket_id, body in comments.values_list("ticket_id", "body"):
            conversation.setdefault(ticket_id, []).append(body)
        for pk in missing:
            snippets[pk] = snippet([tickets[pk][1], *conversation.get(pk, [])], query)
    url = _url_pattern("desk:ticket" if user.is_agent else "portal:request")
    return [
        SearchHit(
            kind=Kind.TICKET,
            object_id=pk,
            title=tickets[pk][0],
            snippet=snippets[pk],
            score=float(scores[pk]),
            url=url.format(pk),
        )
        for pk in numbers
        if pk in tickets
    ]


@functools.lru_cache
def _url_pattern(view: str) -> str:
    """`reverse()` once per view rather than once per hit; '{}' stands for the number."""
    try:
        return reverse(view, args=[123456789]).replace("123456789", "{}")
    except NoReverseMatch:  # no such page installed (e.g. the knowledge base)
        return ""


# --- Articles --------------------------------------------------------------------------------


def _visible_articles(user) -> QuerySet | None:
    try:
        from firstline.kb.selectors import visible_articles
    except ImportError:  # no knowledge base installed: nothing to find
        return None
    return visible_articles(user)


def _article_hits(user, query, limit, filters, any_word) -> list[SearchHit]:
    articles = _visible_articles(user)
    if articles is None or not query:
        return []
    for key, value in filters.items():
        if key in ARTICLE_FILTERS:
            values = [value] if isinstance(value, str) else value
            articles = articles.filter(**{ARTICLE_FILTERS[key]: values})
    found = matching(articles, Kind.ARTICLE, query, public_only=False, any_word=any_word)
    newest = found.values_list("pk", "score")[:ARTICLE_CANDIDATES]
    best = sorted(newest, key=lambda row: (-row[1], -row[0]))[:limit]
    if not best:
        return []
    documents = SearchDocument.objects.filter(
        kind=Kind.ARTICLE, object_id__in=[pk for pk, _score in best]
    ).values_list("object_id", "title", "body")
    texts = {pk: (title, body) for pk, title, body in documents}
    return [
        SearchHit(
            kind=Kind.ARTICLE,
            object_id=pk,
            title=texts[pk][0],
            snippet=snippet([texts[pk][1]], query),
            score=float(score),
            url=_url_pattern("kb:article").format(pk),
        )
        for pk, score in best
        if pk in texts
    ]


# --- Snippets --------------------------------------------------------------------------------


def snippet(
    texts: list[str],
    query: tokens.ParsedQuery,
    width: int = SNIPPET_CONTEXT,
    *,
    fallback: bool = True,
) -> SafeString:
    """Around the first match in the first of `texts` that has one (else, with `fallback`,
    the start of the first text): the text escaped, then the matches wrapped in <mark>."""
    for text in texts:
        found = tokens.spans(text or "", query, within=width)
        if found:
            return _highlight(text, found, width)
    if not fallback:
        return mark_safe("")
    first = " ".join((texts[0] if texts else "").split())
    cut = first[: 2 * width]
    return mark_safe(html.escape(cut) + ("…" if len(first) > len(cut) else ""))


def _highlight(text: str, found: list[tuple[int, int]], width: int) -> SafeString:
    start = max(0, found[0][0] - width)
    end = min(len(text), found[0][1] + width)
    pieces = ["…"] if start > 0 else []
    position = start
    for begin, stop in found:
        if begin < start or stop > end:
            continue
        pieces += [html.escape(text[position:begin]), "<mark>", html.escape(text[begin:stop])]
        pieces.append("</mark>")
        position = stop
    pieces.append(html.escape(text[position:end]))
    if end < len(text):
        pieces.append("…")
    return mark_safe(" ".join("".join(pieces).split()))
