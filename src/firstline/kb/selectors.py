"""Reads of the knowledge base, always scoped to the reader.

`visible_articles` is the one rule of who reads which article; the portal, the desk's
suggestions, the API and the search service (which filters article hits through it) all ask it.
"""

import difflib
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from firstline.accounts.models import User
from firstline.core import clock
from firstline.core.errors import InvalidInput, NotFound
from firstline.tickets.models import Category, Comment, Ticket
from firstline.tickets.selectors import visible_tickets

from .models import Article, ArticleStatus, ArticleView, Rating, Revision, SolvedBy, Visibility

# A reading from the suggestions counts as a deflection once this long passed without a
# request from the same session (see services.record_view).
DEFLECTION_WINDOW = timedelta(minutes=30)
SUGGESTION_LIMIT = 5


def is_agent(user) -> bool:
    """Staff who work tickets; anonymous readers are not (and have no role)."""
    return user.is_authenticated and user.is_active and user.is_agent


def visible_articles(user) -> QuerySet[Article]:
    """Published articles the user may read. Requesters and anonymous readers: public ones and
    those limited to their organization; agents: every published article, internal ones too.
    Drafts and archived articles are for the agents' pages only (`manageable_articles`)."""
    published = Article.objects.filter(status=ArticleStatus.PUBLISHED)
    if not user.is_authenticated or not user.is_active:
        return published.filter(visibility=Visibility.PUBLIC)
    if user.is_agent:
        return published
    readable = Q(visibility=Visibility.PUBLIC)
    if user.organization_id is not None:
        limited_to_theirs = Article.organizations.through.objects.filter(
            organization_id=user.organization_id
        ).values("article_id")
        readable |= Q(visibility=Visibility.ORGANIZATIONS, pk__in=limited_to_theirs)
    return published.filter(readable)


def manageable_articles(user) -> QuerySet[Article]:
    """Every article, in any status, for agents; nothing for anyone else."""
    if not is_agent(user):
        return Article.objects.none()
    return Article.objects.all()


def _article_missing(pk) -> NotFound:
    return NotFound(_("Article %(id)s not found.") % {"id": pk})


def get_article(user, pk: int) -> Article:
    """A published article the user may read; any other does not exist for them."""
    article = (
        visible_articles(user)
        .select_related("category", "author")
        .prefetch_related("tags", "organizations")
        .filter(pk=pk)
        .first()
    )
    if article is None:
        raise _article_missing(pk)
    return article


def get_manageable_article(user, pk: int) -> Article:
    article = (
        manageable_articles(user)
        .select_related("category", "author", "source_ticket")
        .prefetch_related("tags", "organizations")
        .filter(pk=pk)
        .first()
    )
    if article is None:
        raise _article_missing(pk)
    return article


def readable_article(user, pk: int) -> Article:
    """What the API's GET answers: agents read drafts too, everyone else published ones."""
    return get_manageable_article(user, pk) if is_agent(user) else get_article(user, pk)


@dataclass(frozen=True)
class ArticleFilters:
    status: str | None = None
    language: str | None = None
    visibility: str | None = None
    category_id: int | None = None
    q: str | None = None


def filter_articles(articles: QuerySet[Article], f: ArticleFilters) -> QuerySet[Article]:
    conditions = {
        "status": f.status,
        "language": f.language,
        "visibility": f.visibility,
        "category_id": f.category_id,
    }
    articles = articles.filter(**{k: v for k, v in conditions.items() if v})
    if f.q and f.q.strip():
        q = f.q.strip()
        articles = articles.filter(Q(title__icontains=q) | Q(body__icontains=q))
    return articles.select_related("category", "author").prefetch_related("tags")


def _count_of(model, **match) -> Coalesce:
    """A correlated COUNT, so that several counts on one list do not multiply each other."""
    counted = (
        model.objects.filter(article=OuterRef("pk"), **match)
        .order_by()
        .values("article")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_usage(articles: QuerySet[Article]) -> QuerySet[Article]:
    """Adds the counts agents see beside each article: ratings, readings, tickets solved."""
    return articles.annotate(
        helpful_count=_count_of(Rating, helpful=True),
        unhelpful_count=_count_of(Rating, helpful=False),
        view_count=_count_of(ArticleView),
        solved_count=_count_of(SolvedBy),
    )


def article_ratings(user, article: Article) -> QuerySet[Rating]:
    """Ratings with their comments are for agents."""
    if not is_agent(user):
        return Rating.objects.none()
    return article.ratings.select_related("user")


def user_rating(user, article: Article) -> Rating | None:
    if not user.is_authenticated:
        return None
    return article.ratings.filter(user=user).first()


def category_articles(user, category: Category) -> QuerySet[Article]:
    """Articles of a category and its subcategories."""
    return (
        visible_articles(user)
        .filter(
            Q(category=category) | Q(category__full_name__startswith=f"{category.full_name} > ")
        )
        .select_related("category")
        .order_by("title")
    )


def browse_categories(user) -> list[tuple[Category, int]]:
    """The categories that have articles the user may read, with how many."""
    counts = (
        visible_articles(user)
        .filter(category__isnull=False)
        .values("category")
        .annotate(n=Count("pk"))
        .order_by()
    )
    by_id = {row["category"]: row["n"] for row in counts}
    categories = Category.objects.filter(pk__in=by_id).order_by("full_name")
    return [(c, by_id[c.pk]) for c in categories]


def get_category(pk: int) -> Category:
    category = Category.objects.filter(pk=pk, is_active=True).first()
    if category is None:
        raise NotFound(_("No category %(id)s.") % {"id": pk})
    return category


def recent_articles(user, limit: int = 10) -> QuerySet[Article]:
    return (
        visible_articles(user).select_related("category").order_by("-published_at", "-pk")[:limit]
    )


# --- Search and suggestions -----------------------------------------------------------------


def search_articles(user, q: str, *, limit: int = 20, **options) -> list:
    """Relevance-ranked article hits (with highlighted snippets) from the search service,
    which keeps only what `visible_articles(user)` allows. A query it cannot search (only
    punctuation, too long) raises InvalidInput."""
    from firstline.search import selectors as search_selectors

    return search_selectors.search(user=user, q=q, kinds=("article",), limit=limit, **options)


def ranked_by_search(user, articles: QuerySet[Article], q: str) -> QuerySet[Article]:
    """`articles` that the search service finds for `q` (its best 100), best first."""
    ids = [int(hit.object_id) for hit in search_articles(user, q, limit=100)]
    rank = Case(*[When(pk=pk, then=Value(i)) for i, pk in enumerate(ids)], default=Value(0))
    return articles.filter(pk__in=ids).order_by(rank, "-pk")


def _suggested_hits(user, text: str, limit: int) -> list:
    """Hits for text someone is typing or wrote: any of its words, the last one maybe
    unfinished; text with nothing searchable in it suggests nothing."""
    if len((text or "").strip()) < 2:
        return []
    try:
        return search_articles(user, text[:200], limit=limit, prefix=True, any_word=True)
    except InvalidInput:
        return []


def suggestions_for_subject(user, subject: str) -> list:
    """What the portal offers while a requester types the subject of a new request."""
    return _suggested_hits(user, subject, SUGGESTION_LIMIT)


def suggestions_for_ticket(user, ticket: Ticket) -> list[Article]:
    """Articles for the agent working `ticket`: search hits for its subject, then for the start
    of its description, then published articles of its category, without repeats."""
    ids: list[int] = []
    for text in (ticket.subject, (ticket.description or "")[:120]):
        for hit in _suggested_hits(user, text, SUGGESTION_LIMIT):
            if hit.object_id not in ids:
                ids.append(int(hit.object_id))
    if ticket.category_id is not None and len(ids) < SUGGESTION_LIMIT:
        same_category = visible_articles(user).filter(category_id=ticket.category_id)
        for pk in same_category.order_by("-published_at").values_list("pk", flat=True)[:5]:
            if pk not in ids:
                ids.append(pk)
    ids = ids[:SUGGESTION_LIMIT]
    found = {a.pk: a for a in with_usage(visible_articles(user).filter(pk__in=ids))}
    return [found[pk] for pk in ids if pk in found]


def ticket_solutions(ticket: Ticket) -> QuerySet[SolvedBy]:
    return ticket.solved_by.select_related("article")


def documented_by(user, ticket: Ticket) -> QuerySet[Article]:
    return manageable_articles(user).filter(source_ticket=ticket)


def resolution_of(ticket: Ticket) -> str:
    """The last public reply an agent wrote on the ticket: what fixed it."""
    reply = (
        Comment.objects.filter(ticket=ticket, is_public=True)
        .exclude(author=ticket.requester)
        .filter(author__role__in=["agent", "supervisor", "admin"])
        .order_by("-created_at", "-pk")
        .first()
    )
    return reply.body if reply else ""


# --- Revisions ------------------------------------------------------------------------------


def article_revisions(article: Article) -> QuerySet[Revision]:
    return article.revisions.select_related("author")


def get_revision(article: Article, number: int) -> Revision:
    revision = article.revisions.select_related("author").filter(number=number).first()
    if revision is None:
        raise NotFound(_("Revision %(n)s not found.") % {"n": number})
    return revision


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "added", "removed", "same" or "gap" (unchanged lines left out)
    text: str


def revision_diff(revision: Revision) -> tuple[Revision | None, list[DiffLine]]:
    """The revision against the one before it, line by line, with 3 lines of context."""
    previous = (
        revision.article.revisions.filter(number__lt=revision.number).order_by("-number").first()
    )
    old = [previous.title, "", *previous.body.splitlines()] if previous else []
    new = [revision.title, "", *revision.body.splitlines()]
    lines: list[DiffLine] = []
    for group in difflib.SequenceMatcher(None, old, new, autojunk=False).get_grouped_opcodes(3):
        if lines:
            lines.append(DiffLine("gap", "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [DiffLine("same", text) for text in old[i1:i2]]
                continue
            lines += [DiffLine("removed", text) for text in old[i1:i2]]
            lines += [DiffLine("added", text) for text in new[j1:j2]]
    return previous, lines


# --- Top issues and the deflection report ---------------------------------------------------


@dataclass
class TopCategory:
    category: Category
    tickets: int
    articles: list[Article]


def top_categories(user, *, days: int, limit: int = 10) -> list[TopCategory]:
    """The categories most requests of the last `days` days were about, each with its articles.

    Agents count the tickets they may see. For requesters the ranking is over the whole desk
    (which problems are common right now), and views show them the order only, never the
    counts: no ticket of anyone else is read or shown."""
    since = clock.now() - timedelta(days=days)
    tickets = visible_tickets(user) if is_agent(user) else Ticket.objects.all()
    rows = (
        tickets.filter(created_at__gte=since, category__isnull=False)
        .values("category")
        .annotate(n=Count("pk"))
        .order_by("-n", "category")[:limit]
    )
    counts = {row["category"]: row["n"] for row in rows}
    categories = Category.objects.in_bulk(list(counts))
    articles: dict[int, list[Article]] = {pk: [] for pk in counts}
    for article in visible_articles(user).filter(category__in=counts).order_by("title"):
        if len(articles[article.category_id]) < 3:
            articles[article.category_id].append(article)
    return [TopCategory(categories[pk], n, articles[pk]) for pk, n in counts.items()]


def _usage_in(since) -> dict:
    def recent(model, **match):
        counted = (
            model.objects.filter(article=OuterRef("pk"), created_at__gte=since, **match)
            .order_by()
            .values("article")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))

    return {
        "recent_views": recent(ArticleView),
        "recent_solved": recent(SolvedBy),
        "recent_deflections": recent(
            ArticleView,
            from_suggestion=True,
            followed_by__isnull=True,
            created_at__lt=clock.now() - DEFLECTION_WINDOW,
        ),
        "recent_suggested_views": recent(ArticleView, from_suggestion=True),
    }


def top_articles(user, *, days: int, limit: int = 10) -> list[Article]:
    """The articles most used in the last `days` days: tickets they solved, then readings."""
    usage = _usage_in(clock.now() - timedelta(days=days))
    return list(
        visible_articles(user)
        .select_related("category")
        .annotate(recent_solved=usage["recent_solved"], recent_views=usage["recent_views"])
        .filter(Q(recent_solved__gt=0) | Q(recent_views__gt=0))
        .order_by("-recent_solved", "-recent_views", "title")[:limit]
    )


def deflection_report(user, *, days: int) -> list[Article]:
    """Per article of the period: readings, readings from the new-request suggestions, the
    deflections among those, and tickets solved by it. Agents only."""
    usage = _usage_in(clock.now() - timedelta(days=days))
    return list(
        manageable_articles(user)
        .select_related("category")
        .annotate(**usage)
        .filter(Q(recent_views__gt=0) | Q(recent_solved__gt=0))
        .order_by("-recent_deflections", "-recent_solved", "-recent_views", "title")
    )


def view_counts(user, article: Article) -> dict:
    """The all-time figures shown on an article's page for agents."""
    if not is_agent(user):
        return {}
    window_start = clock.now() - DEFLECTION_WINDOW
    views = article.views.all()
    return {
        "views": views.count(),
        "deflections": views.filter(
            from_suggestion=True, followed_by__isnull=True, created_at__lt=window_start
        ).count(),
        "solved": article.solved.count(),
    }


def is_reviewer(user: User) -> bool:
    """Supervisors and admins publish, archive and restore articles."""
    return is_agent(user) and user.sees_all_tickets
