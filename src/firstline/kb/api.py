"""The knowledge base in the REST API: /kb/articles. Requesters read what the portal shows them;
agents read every article and write them; supervisors publish and archive."""

from datetime import datetime
from typing import Literal

from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status as Reply

from firstline.accounts import selectors as account_selectors
from firstline.accounts.api import StrictSchema
from firstline.core.errors import as_field_error
from firstline.tickets import selectors as ticket_selectors
from firstline.tickets.api import CategoryOut, UserRef

from . import selectors, services

router = Router(tags=["knowledge base"])

LanguageName = Literal["en", "zh-hans"]
VisibilityName = Literal["public", "internal", "organizations"]
StatusName = Literal["draft", "published", "archived"]


def _is_staff(context) -> bool:
    return bool(context and context["request"].user.is_agent)


class ArticleOut(Schema):
    id: int
    title: str
    body: str = Field(description="Markdown.")
    body_html: str = Field(description="The body rendered and sanitised.")
    category: CategoryOut | None
    tags: list[str]
    language: LanguageName
    visibility: VisibilityName
    organizations: list[str] = Field(description="Slugs; shown to agents only.")
    status: StatusName
    author: UserRef | None = Field(description="Shown to agents only.")
    source_ticket: int | None = Field(description="Shown to agents only.")
    version: int
    url: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    @staticmethod
    def resolve_tags(article) -> list[str]:
        return [t.name for t in article.tags.all()]

    @staticmethod
    def resolve_organizations(article, context) -> list[str]:
        return [o.slug for o in article.organizations.all()] if _is_staff(context) else []

    @staticmethod
    def resolve_author(article, context):
        return article.author if _is_staff(context) else None

    @staticmethod
    def resolve_source_ticket(article, context) -> int | None:
        return article.source_ticket_id if _is_staff(context) else None

    @staticmethod
    def resolve_url(article) -> str:
        return reverse("kb:article", args=[article.pk])


class ArticleIn(StrictSchema):
    title: str = Field(max_length=255)
    body: str = Field(max_length=200_000, description="Markdown.")
    language: LanguageName = "en"
    visibility: VisibilityName = "internal"
    category: int | None = None
    tags: list[str] = []
    organizations: list[str] = Field([], description="Slugs, for `organizations` visibility.")
    status: StatusName = Field("draft", description="Supervisors may publish.")


class ArticlePatch(StrictSchema):
    version: int | None = Field(None, description="The version you read; refused if stale.")
    title: str | None = Field(None, max_length=255)
    body: str | None = Field(None, max_length=200_000)
    language: LanguageName | None = None
    visibility: VisibilityName | None = None
    category: int | None = None
    tags: list[str] | None = None
    organizations: list[str] | None = None
    status: StatusName | None = None


class ArticleQuery(Schema):
    status: StatusName | None = Field(None, description="Agents only; others see published.")
    language: LanguageName | None = None
    visibility: VisibilityName | None = None
    category: int | None = None
    q: str | None = Field(
        None,
        max_length=200,
        description="Search: published articles best first, in English or Chinese.",
    )


def _category(category_id: int | None):
    if category_id is None:
        return None
    with as_field_error("category"):
        return ticket_selectors.get_category(category_id)


def _organizations(user, slugs: list[str]) -> list:
    with as_field_error("organizations"):
        return [account_selectors.get_organization(user, slug) for slug in slugs]


@router.get("/kb/articles", response=list[ArticleOut])
@paginate(LimitOffsetPagination)
def list_articles(request, query: Query[ArticleQuery]):
    user = request.user
    if user.is_agent:
        articles = selectors.manageable_articles(user)
    else:
        articles = selectors.visible_articles(user)
    filters = selectors.ArticleFilters(
        status=query.status,
        language=query.language,
        visibility=query.visibility,
        category_id=query.category,
    )
    articles = selectors.filter_articles(articles, filters).prefetch_related("organizations")
    if query.q is not None:
        return selectors.ranked_by_search(user, articles, query.q)
    return articles.order_by("-pk")


@router.post("/kb/articles", response={201: ArticleOut})
def create_article(request, payload: ArticleIn):
    user = request.user
    article = services.create_article(
        actor=user,
        **payload.dict(exclude={"category", "organizations"}),
        category=_category(payload.category),
        organizations=_organizations(user, payload.organizations),
    )
    return Reply(201, selectors.readable_article(user, article.pk))


@router.get("/kb/articles/{article_id}", response=ArticleOut)
def get_article(request, article_id: int):
    return selectors.readable_article(request.user, article_id)


@router.patch("/kb/articles/{article_id}", response=ArticleOut)
def update_article(request, article_id: int, payload: ArticlePatch):
    user = request.user
    article = selectors.readable_article(user, article_id)
    changes = payload.dict(exclude_unset=True)
    version = changes.pop("version", None)
    if "category" in changes:
        changes["category"] = _category(changes["category"])
    if "organizations" in changes:
        changes["organizations"] = _organizations(user, changes["organizations"] or [])
    for name in ("title", "body", "language", "visibility", "tags", "status"):
        if name in changes and changes[name] is None:
            changes.pop(name)
    article = services.update_article(
        actor=user, article=article, expected_version=version, **changes
    )
    return selectors.readable_article(user, article.pk)
