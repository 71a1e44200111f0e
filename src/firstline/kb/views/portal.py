"""The knowledge base in the self-service portal: browse, read, search, rate, top issues, and
the suggestions shown while a requester types the subject of a new request."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from firstline.core.errors import InvalidInput, NotFound, ServiceError

from .. import selectors, services
from ..forms import RatingForm

PAGE_SIZE = 20
PERIODS = (30, 90)


def article_or_404(user, pk: int):
    try:
        return selectors.get_article(user, pk)
    except NotFound:
        raise Http404 from None


def period(request) -> int:
    value = request.GET.get("days", "")
    return int(value) if value.isdigit() and int(value) in PERIODS else PERIODS[0]


@require_GET
def home(request):
    user = request.user
    context = {
        "categories": selectors.browse_categories(user),
        "recent": selectors.recent_articles(user),
        "nav": "kb",
    }
    return render(request, "kb/portal_home.html", context)


@require_GET
def category(request, pk: int):
    try:
        chosen = selectors.get_category(pk)
    except NotFound:
        raise Http404 from None
    articles = selectors.category_articles(request.user, chosen)
    page = Paginator(articles, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "kb/portal_category.html", {"category": chosen, "page": page, "nav": "kb"}
    )


def _render_article(request, article, form, status: int = 200):
    user = request.user
    context = {
        "article": article,
        "form": form,
        "my_rating": selectors.user_rating(user, article),
        "ratings": list(selectors.article_ratings(user, article)),
        "usage": selectors.view_counts(user, article),
        "nav": "kb",
    }
    return render(request, "kb/portal_article.html", context, status=status)


@require_GET
def article(request, pk: int):
    """Reading an article records a view; one opened from the new-request suggestions keeps
    the session, for the deflection count (see services.record_view)."""
    found = article_or_404(request.user, pk)
    from_suggestion = request.GET.get("from") == "suggestion"
    if from_suggestion and not request.session.session_key:
        request.session.save()
    services.record_view(
        article=found,
        user=request.user,
        session_key=request.session.session_key or "",
        from_suggestion=from_suggestion,
    )
    return _render_article(request, found, RatingForm())


@login_required
@require_POST
def rate(request, pk: int):
    found = article_or_404(request.user, pk)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            services.rate_article(
                actor=request.user,
                article=found,
                helpful=form.cleaned_data["helpful"],
                comment=form.cleaned_data["comment"],
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Thank you for your feedback."))
            return redirect("kb:article", pk=found.pk)
    return _render_article(request, found, form, status=400)


@require_GET
def search(request):
    q = request.GET.get("q", "").strip()
    hits, error = [], None
    if q:
        try:
            hits = selectors.search_articles(request.user, q)
        except InvalidInput as exc:
            error = exc.message
    context = {"q": q, "hits": hits, "error": error, "nav": "kb"}
    return render(request, "kb/portal_search.html", context, status=400 if error else 200)


@require_GET
def suggest(request):
    """htmx: public articles matching the subject being typed in the new-request form."""
    subject = request.GET.get("subject", "")[:255]
    hits = selectors.suggestions_for_subject(request.user, subject)
    if not hits:
        return HttpResponse("")  # empty: the box hides itself (CSS :empty)
    return render(request, "kb/_suggestions.html", {"hits": hits, "subject": subject})


@require_GET
def top(request):
    days = period(request)
    context = {
        "days": days,
        "periods": PERIODS,
        "categories": selectors.top_categories(request.user, days=days),
        "articles": selectors.top_articles(request.user, days=days),
        "nav": "kb-top",
    }
    return render(request, "kb/portal_top.html", context)
