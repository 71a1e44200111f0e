"""Every write to the knowledge base: one transaction each.

Published articles are (re)indexed by the search service in the same transaction as the
change, and removed from it when they stop being published, so search never lags behind.
"""

import re
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from firstline.accounts.models import Organization, User
from firstline.core import clock
from firstline.core.errors import Conflict, InvalidInput, NotAllowed
from firstline.tickets.models import Category, Status, Tag, Ticket

from . import selectors
from .models import (
    Article,
    ArticleStatus,
    ArticleView,
    Language,
    Rating,
    Revision,
    SolvedBy,
    Visibility,
)
from .rendering import render_markdown

TITLE_MAX = 255
BODY_MAX = 200_000
COMMENT_MAX = 2_000
CJK = re.compile(r"[\u3400-\u9fff]")


def _require_agent(actor: User) -> None:
    if actor is None or not actor.is_agent:
        raise NotAllowed(_("Only agents can write articles."))


def _require_reviewer(actor: User) -> None:
    if not selectors.is_reviewer(actor):
        raise NotAllowed(
            _("Only supervisors can publish or archive articles."),
            {"status": [_("Not allowed.")]},
        )


def _text(field: str, value: str, max_length: int, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput.for_field(field, message)
    if len(value) > max_length:
        raise InvalidInput.for_field(
            field, _("At most %(max)s characters, please.") % {"max": max_length}
        )
    return value


def _choice(field: str, value: str, choices) -> str:
    if value not in choices.values:
        raise InvalidInput.for_field(field, _("Unknown value '%(value)s'.") % {"value": value})
    return value


def _tags(names: Iterable[str]) -> list[Tag]:
    cleaned = sorted({n.strip().lower() for n in names if n and n.strip()})
    if any(len(name) > 50 for name in cleaned):
        raise InvalidInput.for_field("tags", _("A tag has at most 50 characters."))
    existing = {t.name: t for t in Tag.objects.filter(name__in=cleaned)}
    return [existing.get(name) or Tag.objects.get_or_create(name=name)[0] for name in cleaned]


def _check_category(category: Category | None) -> None:
    if category is not None and not category.is_active:
        raise InvalidInput.for_field(
            "category", _("The category '%(name)s' is inactive.") % {"name": category}
        )


def _check_audience(visibility: str, organizations: list[Organization]) -> None:
    if visibility == Visibility.ORGANIZATIONS and not organizations:
        raise InvalidInput.for_field(
            "organizations", _("Choose the organizations that may read this article.")
        )


def _sync_search_index(article: Article) -> None:
    # Imported here: the search app reads `kb.selectors`, and neither app should need the
    # other loaded first.
    from firstline.search import services as search_services

    if article.status == ArticleStatus.PUBLISHED:
        search_services.index_document(
            kind="article",
            object_id=article.pk,
            title=article.title,
            body=article.body,
            language=article.language,
            organization_id=None,  # who reads it is `selectors.visible_articles`' decision
        )
    else:
        search_services.remove_document(kind="article", object_id=article.pk)


def _add_revision(article: Article, actor: User | None, note: str = "") -> Revision:
    last = article.revisions.order_by("-number").values_list("number", flat=True).first() or 0
    return Revision.objects.create(
        article=article,
        number=last + 1,
        title=article.title,
        body=article.body,
        author=actor,
        note=note,
        created_at=clock.now(),
    )


@transaction.atomic
def create_article(
    *,
    actor: User,
    title: str,
    body: str,
    language: str = Language.ENGLISH,
    visibility: str = Visibility.INTERNAL,
    category: Category | None = None,
    tags: Iterable[str] = (),
    organizations: Iterable[Organization] = (),
    status: str = ArticleStatus.DRAFT,
    source_ticket: Ticket | None = None,
    note: str = "",
) -> Article:
    """A new article and its first revision. Agents write drafts; supervisors may publish."""
    _require_agent(actor)
    organizations = list(organizations)
    _choice("language", language, Language)
    _choice("visibility", visibility, Visibility)
    _choice("status", status, ArticleStatus)
    if status != ArticleStatus.DRAFT:
        _require_reviewer(actor)
    _check_category(category)
    _check_audience(visibility, organizations)
    now = clock.now()
    article = Article.objects.create(
        title=_text("title", title, TITLE_MAX, _("The title cannot be empty.")),
        body=_text("body", body, BODY_MAX, _("The article cannot be empty.")),
        language=language,
        visibility=visibility,
        category=category,
        status=status,
        author=actor,
        source_ticket=source_ticket,
        created_at=now,
        updated_at=now,
        published_at=now if status == ArticleStatus.PUBLISHED else None,
    )
    article.body_html = render_markdown(article.body)
    article.save(update_fields=["body_html"])
    article.tags.set(_tags(tags))
    article.organizations.set(organizations)
    _add_revision(article, actor, note)
    _sync_search_index(article)
    return article


EDITABLE = frozenset(
    {"title", "body", "language", "visibility", "category", "tags", "organizations", "status"}
)


def _lock(article: Article, expected_version: int | None) -> Article:
    locked = Article.objects.select_for_update().get(pk=article.pk)
    if expected_version is not None and expected_version != locked.version:
        raise Conflict(
            _("This article changed since you opened it; reload it and apply your change again."),
            {"version": [_("The current version is %(v)s.") % {"v": locked.version}]},
            current_version=locked.version,
        )
    return locked


def _apply_fields(article: Article, changes: dict) -> set[str]:
    """Checks and sets the plain columns in `changes`; returns those that changed."""
    checks = {
        "title": lambda v: _text("title", v, TITLE_MAX, _("The title cannot be empty.")),
        "body": lambda v: _text("body", v, BODY_MAX, _("The article cannot be empty.")),
        "language": lambda v: _choice("language", v, Language),
        "visibility": lambda v: _choice("visibility", v, Visibility),
        "status": lambda v: _choice("status", v, ArticleStatus),
    }
    changed = set()
    for field, check in checks.items():
        if field not in changes:
            continue
        value = check(changes[field])
        if value != getattr(article, field):
            setattr(article, field, value)
            changed.add(field)
    if "category" in changes and changes["category"] != article.category:
        _check_category(changes["category"])
        article.category = changes["category"]
        changed.add("category")
    return changed


@transaction.atomic
def update_article(
    *,
    actor: User,
    article: Article,
    expected_version: int | None = None,
    note: str = "",
    **changes,
) -> Article:
    """Changes an article; a new title or body makes a new revision. Changing the status is
    for supervisors (review and publish); agents edit content."""
    _require_agent(actor)
    unknown = sorted(set(changes) - EDITABLE)
    if unknown:
        raise InvalidInput(_("Unknown fields."), {f: [_("Unknown field.")] for f in unknown})
    article = _lock(article, expected_version)
    previous_status = article.status
    changed = _apply_fields(article, changes)
    if "status" in changed:
        _require_reviewer(actor)
    organizations = (
        list(changes["organizations"])
        if "organizations" in changes
        else list(article.organizations.all())
    )
    _check_audience(article.visibility, organizations)
    if "organizations" in changes:
        article.organizations.set(organizations)
    if "tags" in changes:
        article.tags.set(_tags(changes["tags"]))
    if "body" in changed:
        article.body_html = render_markdown(article.body)
        changed.add("body_html")
    if article.status == ArticleStatus.PUBLISHED and previous_status != ArticleStatus.PUBLISHED:
        article.published_at = clock.now()
        changed.add("published_at")
    article.version += 1
    article.updated_at = clock.now()
    article.save(update_fields=[*changed, "version", "updated_at"])
    if changed & {"title", "body"}:
        _add_revision(article, actor, note)
    _sync_search_index(article)
    return article


def set_status(*, actor: User, article: Article, status: str) -> Article:
    """Publish, archive or take back to draft: a supervisor's review decision."""
    _require_reviewer(actor)
    return update_article(actor=actor, article=article, status=status)


def restore_revision(*, actor: User, article: Article, revision: Revision) -> Article:
    """Puts an earlier title and body back, as a new revision (history is never rewritten)."""
    if revision.article_id != article.pk:
        raise InvalidInput.for_field("revision", _("This revision is of another article."))
    return update_article(
        actor=actor,
        article=article,
        title=revision.title,
        body=revision.body,
        note=_("Restored revision %(n)s") % {"n": revision.number},
    )


@transaction.atomic
def rate_article(*, actor: User, article: Article, helpful: bool, comment: str = "") -> Rating:
    """A reader's "did this help?"; rating the same article again replaces the earlier one."""
    if actor is None or not actor.is_authenticated:
        raise NotAllowed(_("Log in to rate articles."))
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise InvalidInput.for_field(
            "comment", _("At most %(max)s characters, please.") % {"max": COMMENT_MAX}
        )
    rating, _created = Rating.objects.update_or_create(
        article=article,
        user=actor,
        defaults={"helpful": bool(helpful), "comment": comment, "created_at": clock.now()},
    )
    return rating


@transaction.atomic
def mark_solved(*, actor: User, article: Article, ticket: Ticket) -> SolvedBy:
    """Notes that `article` solved `ticket` (once per ticket and article)."""
    _require_agent(actor)
    if article.status != ArticleStatus.PUBLISHED:
        raise InvalidInput.for_field("article", _("Only published articles solve tickets."))
    try:
        with transaction.atomic():
            return SolvedBy.objects.create(
                article=article, ticket=ticket, agent=actor, created_at=clock.now()
            )
    except IntegrityError:
        return SolvedBy.objects.get(article=article, ticket=ticket)


def language_of(text: str) -> str:
    """The language an article written from `text` is most likely in."""
    return Language.CHINESE if CJK.search(text) else Language.ENGLISH


def fix_draft_body(ticket: Ticket, resolution: str) -> str:
    """The article's first text: the problem as the requester put it, then what fixed it."""
    problem = (ticket.description or "").strip() or ticket.subject
    solution = resolution.strip() or _("(Describe the solution.)")
    return (
        f"## {_('Problem')}\n\n{problem}\n\n## {_('Solution')}\n\n{solution}\n\n"
        f"{_('Documented from ticket #%(number)s.') % {'number': ticket.pk}}\n"
    )


@transaction.atomic
def document_fix(*, actor: User, ticket: Ticket) -> Article:
    """A draft article from a resolved ticket, prefilled with its problem and its resolution
    (the last public agent reply), linked to the ticket; a supervisor reviews and publishes it.
    Internal until then: the reviewer decides who may read it."""
    _require_agent(actor)
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise InvalidInput.for_field(
            "ticket", _("Only resolved or closed tickets can be documented.")
        )
    body = fix_draft_body(ticket, selectors.resolution_of(ticket))
    return create_article(
        actor=actor,
        title=ticket.subject,
        body=body,
        language=language_of(f"{ticket.subject} {ticket.description}"),
        visibility=Visibility.INTERNAL,
        category=ticket.category if ticket.category and ticket.category.is_active else None,
        source_ticket=ticket,
        note=_("Documented from ticket #%(number)s") % {"number": ticket.pk},
    )


@transaction.atomic
def record_view(
    *, article: Article, user: User | None, session_key: str = "", from_suggestion: bool = False
) -> ArticleView:
    """Records one reading of an article in the portal.

    How deflections are counted: a reading opened from the suggestions of the new-request form
    keeps the reader's session key. When that session then submits a request within
    `selectors.DEFLECTION_WINDOW` (30 minutes), `note_request_submitted` marks the readings as
    followed by it. A suggested reading with no request after it counts as a deflection once
    the window has passed. So the count needs no background job and is never premature (the
    requester may still be typing), and someone who reads an article and then files the
    request anyway is not counted as helped. Counting happens in queries
    (`selectors.deflection_report`), always current."""
    return ArticleView.objects.create(
        article=article,
        user=user if user is not None and user.is_authenticated else None,
        session_key=session_key if from_suggestion else "",
        from_suggestion=from_suggestion and bool(session_key),
        created_at=clock.now(),
    )


@transaction.atomic
def note_request_submitted(*, session_key: str | None, ticket: Ticket) -> int:
    """The session sent a request: its recent suggested readings did not deflect it."""
    if not session_key:
        return 0
    since = clock.now() - selectors.DEFLECTION_WINDOW
    return ArticleView.objects.filter(
        session_key=session_key,
        from_suggestion=True,
        followed_by__isnull=True,
        created_at__gte=since,
    ).update(followed_by=ticket)


@transaction.atomic
def reindex_articles() -> int:
    """Indexes every published article again and drops the others from the index (the search
    app's `search_reindex` calls this after rebuilding). Returns how many are searchable."""
    indexed = 0
    fields = ("pk", "title", "body", "language", "status")
    for article in Article.objects.only(*fields).order_by("pk").iterator(chunk_size=500):
        _sync_search_index(article)
        indexed += article.status == ArticleStatus.PUBLISHED
    return indexed
