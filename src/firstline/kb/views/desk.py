"""The agents' side of the knowledge base: writing and reviewing articles, their revisions,
top issues and the deflection report, and the panel on the desk's ticket page."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from firstline.core.decorators import agent_required
from firstline.core.errors import NotFound, ServiceError
from firstline.core.forms import add_service_error
from firstline.desk.forms import ReplyForm
from firstline.tickets import selectors as ticket_selectors
from firstline.tickets.models import Status

from .. import selectors, services
from ..forms import ArticleForm, ArticleListFilterForm, StatusForm
from .portal import PERIODS, period

PAGE_SIZE = 50


def manageable_or_404(user, pk: int):
    try:
        return selectors.get_manageable_article(user, pk)
    except NotFound:
        raise Http404 from None


def ticket_or_404(user, number: int):
    try:
        return ticket_selectors.get_ticket(user, number)
    except NotFound:
        raise Http404 from None


@agent_required
@require_GET
def article_list(request):
    form = ArticleListFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    filters = selectors.ArticleFilters(
        status=data.get("status"),
        language=data.get("language"),
        visibility=data.get("visibility"),
        q=data.get("q"),
    )
    articles = selectors.with_usage(
        selectors.filter_articles(selectors.manageable_articles(request.user), filters)
    )
    page = Paginator(articles.order_by("-updated_at", "-pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    params = request.GET.copy()
    params.pop("page", None)
    context = {"form": form, "page": page, "query": params.urlencode(), "kb_nav": "articles"}
    return render(request, "kb/desk_list.html", context)


@agent_required
def article_new(request):
    form = ArticleForm(request.POST or None, initial={"visibility": "internal"})
    if request.method == "POST" and form.is_valid():
        try:
            article = services.create_article(actor=request.user, **form.values())
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("The draft was saved."))
            return redirect("kb:manage_article", pk=article.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "kb/desk_edit.html", {"form": form, "kb_nav": "new"}, status=status)


@agent_required
@require_GET
def article_detail(request, pk: int):
    article = manageable_or_404(request.user, pk)
    context = {
        "article": article,
        "ratings": list(selectors.article_ratings(request.user, article)),
        "usage": selectors.view_counts(request.user, article),
        "revisions": list(selectors.article_revisions(article)[:5]),
        "can_review": selectors.is_reviewer(request.user),
        "kb_nav": "articles",
    }
    return render(request, "kb/desk_article.html", context)


@agent_required
def article_edit(request, pk: int):
    article = manageable_or_404(request.user, pk)
    if request.method != "POST":
        form = ArticleForm.for_article(article)
        return render(request, "kb/desk_edit.html", {"form": form, "article": article})
    form = ArticleForm(request.POST)
    if form.is_valid():
        try:
            services.update_article(
                actor=request.user,
                article=article,
                expected_version=form.cleaned_data["version"],
                **form.values(),
            )
        except ServiceError as exc:  # a stale version (409) too: the form keeps the text
            add_service_error(form, exc)
        else:
            messages.success(request, _("The article was saved."))
            return redirect("kb:manage_article", pk=article.pk)
    context = {"form": form, "article": article}
    return render(request, "kb/desk_edit.html", context, status=400)


@agent_required
@require_POST
def article_status(request, pk: int):
    article = manageable_or_404(request.user, pk)
    if not selectors.is_reviewer(request.user):
        raise PermissionDenied
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            services.set_status(
                actor=request.user, article=article, status=form.cleaned_data["status"]
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The article's status was changed."))
    return redirect("kb:manage_article", pk=article.pk)


@agent_required
@require_GET
def revisions(request, pk: int):
    article = manageable_or_404(request.user, pk)
    context = {
        "article": article,
        "revisions": list(selectors.article_revisions(article)),
        "kb_nav": "articles",
    }
    return render(request, "kb/desk_revisions.html", context)


@agent_required
def revision(request, pk: int, number: int):
    """One revision against the one before it; POST puts it back as a new revision."""
    article = manageable_or_404(request.user, pk)
    try:
        chosen = selectors.get_revision(article, number)
    except NotFound:
        raise Http404 from None
    if request.method == "POST":
        try:
            services.restore_revision(actor=request.user, article=article, revision=chosen)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Revision %(n)s was restored as a new revision.") % {"n": number}
            )
        return redirect("kb:manage_revisions", pk=article.pk)
    previous, lines = selectors.revision_diff(chosen)
    context = {
        "article": article,
        "revision": chosen,
        "previous": previous,
        "lines": lines,
        "kb_nav": "articles",
    }
    return render(request, "kb/desk_revision.html", context)


@agent_required
@require_GET
def report(request):
    days = period(request)
    context = {
        "days": days,
        "periods": PERIODS,
        "rows": selectors.deflection_report(request.user, days=days),
        "window": int(selectors.DEFLECTION_WINDOW.total_seconds() // 60),
        "kb_nav": "report",
    }
    return render(request, "kb/desk_report.html", context)


@agent_required
@require_GET
def top(request):
    days = period(request)
    context = {
        "days": days,
        "periods": PERIODS,
        "categories": selectors.top_categories(request.user, days=days),
        "articles": selectors.top_articles(request.user, days=days),
        "kb_nav": "top",
    }
    return render(request, "kb/desk_top.html", context)


# --- On the desk's ticket page --------------------------------------------------------------


def _panel_context(user, ticket) -> dict:
    return {
        "ticket": ticket,
        "suggestions": selectors.suggestions_for_ticket(user, ticket),
        "solutions": list(selectors.ticket_solutions(ticket)),
        "documented": list(selectors.documented_by(user, ticket)),
        "can_document": ticket.status in (Status.RESOLVED, Status.CLOSED),
    }


@agent_required
@require_GET
def ticket_panel(request, number: int):
    """htmx: the suggested articles for a ticket, loaded after the ticket page."""
    ticket = ticket_or_404(request.user, number)
    context = _panel_context(request.user, ticket)
    if request.headers.get("HX-Request") == "true":
        return render(request, "kb/_ticket_panel.html", context)
    return render(request, "kb/desk_ticket_panel.html", context)  # without JavaScript


def _public_url(request, path: str) -> str:
    """The address requesters reach (FIRSTLINE_BASE_URL, as in e-mail), else this site's."""
    base = settings.FIRSTLINE_BASE_URL.rstrip("/")
    return f"{base}{path}" if base else request.build_absolute_uri(path)


@agent_required
@require_GET
def insert(request, number: int, pk: int):
    """htmx: the reply box again, with the article's link or text after what was typed."""
    ticket = ticket_or_404(request.user, number)
    try:
        article = selectors.get_article(request.user, pk)
    except NotFound:
        raise Http404 from None
    if request.GET.get("mode") == "text":
        addition = article.body
    else:
        url = _public_url(request, reverse("kb:article", args=[article.pk]))
        addition = f"{article.title}: {url}"
    body = request.GET.get("body", "")
    body = f"{body.rstrip()}\n\n{addition}" if body.strip() else addition
    visibility = "internal" if request.GET.get("visibility") == "internal" else "public"
    macros = [i for i in request.GET.getlist("macros") if i.isdigit()]
    form = ReplyForm(initial={"body": body, "macros": macros, "visibility": visibility})
    context = {"ticket": ticket, "reply_form": form, "chosen_macros": form.chosen_macros()}
    return render(request, "desk/_reply_body.html", context)


@agent_required
@require_POST
def solved(request, number: int, pk: int):
    ticket = ticket_or_404(request.user, number)
    try:
        article = selectors.get_article(request.user, pk)
    except NotFound:
        raise Http404 from None
    try:
        services.mark_solved(actor=request.user, article=article, ticket=ticket)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("Noted: “%(title)s” solved this ticket.") % {"title": article.title}
        )
    return redirect("desk:ticket", number=ticket.pk)


@agent_required
@require_POST
def document(request, number: int):
    """ "Document the fix": a draft from the resolved ticket, opened for editing."""
    ticket = ticket_or_404(request.user, number)
    try:
        article = services.document_fix(actor=request.user, ticket=ticket)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("desk:ticket", number=ticket.pk)
    messages.success(
        request, _("A draft article was made from the ticket; a supervisor will review it.")
    )
    return redirect("kb:manage_edit", pk=article.pk)
