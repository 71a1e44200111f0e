from typing import Literal

from ninja import Field, Query, Router, Schema

from . import selectors

router = Router(tags=["search"])


class SearchQuery(Schema):
    q: str = Field(description="Words, Chinese text or a ticket number (`123`, `#123`).")
    type: Literal["ticket", "article"] | None = Field(None, description="Both when omitted.")
    limit: int = Field(25, ge=1, le=selectors.MAX_LIMIT)


class SearchHitOut(Schema):
    type: str = Field(alias="kind")
    id: int = Field(alias="object_id")
    title: str
    snippet: str = Field(description="HTML: the text escaped, the matches in <mark>.")
    score: float
    url: str


@router.get("/search", response=list[SearchHitOut])
def search(request, query: Query[SearchQuery]):
    """Tickets and articles the caller may see, best first, with highlighted snippets."""
    kinds = (query.type,) if query.type else ("ticket", "article")
    return selectors.search(user=request.user, q=query.q, kinds=kinds, limit=query.limit)
