from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from firstline.core.decorators import agent_required
from firstline.core.errors import NotFound, ServiceError
from firstline.tickets import selectors as ticket_selectors
from firstline.tickets import services as ticket_services
from firstline.tickets.lifecycle import ACTIVE_STATUSES
from firstline.tickets.models import Channel
from firstline.tickets.selectors import TicketFilters

from .. import selectors, services
from ..forms import BulkForm, QueueFilterForm, SaveFilterForm, sort_order
from ..widgets import lighten

PAGE_SIZE = 50
COLUMNS = [
    ("number", gettext_lazy("#")),
    ("subject", gettext_lazy("Subject")),
    ("status", gettext_lazy("Status")),
    ("priority", gettext_lazy("Priority")),
    ("requester", gettext_lazy("Requester")),
    ("assignee", gettext_lazy("Assignee")),
    ("updated", gettext_lazy("Updated")),
    ("due", gettext_lazy("SLA due")),
]


def is_htmx_partial(request, target: str) -> bool:
    return (
        request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == target
    )


def sidebar_context(user, current: str, counted=None) -> dict:
    """`counted`: the rows of selectors.ticket_counts when the page has them already."""
    groups = selectors.user_groups(user)
    return {
        "groups": groups,
        "counts": selectors.queue_counts(user, groups, counted),
        "saved_filters": list(selectors.saved_filters(user)),
        "current_queue": current,
    }


def queue_title(queue) -> str:
    titles = {
        "mine": _("My tickets"),
        "unassigned": _("Unassigned in my groups"),
        "all": _("All tickets"),
    }
    return queue.group.name if queue.group else titles[queue.key]


def _unfiltered(filters: TicketFilters) -> bool:
    return filters == TicketFilters(status=filters.status) and set(filters.status or ()) == set(
        ACTIVE_STATUSES
    )


@agent_required
def home(request):
    return redirect("desk:queue", key="mine")


@agent_required
def queue(request, key):
    user = request.user
    try:
        current = selectors.resolve_queue(user, key)
    except NotFound:
        raise Http404 from None
    form = QueueFilterForm(request.GET, user=user, auto_id="filter_%s")
    form.is_valid()  # invalid filters are shown with their errors and left out
    filters, sort = form.filters(), form.sort_key()
    tickets = selectors.queue_tickets(user, current, filters)
    order = sort_order(sort)
    paginator = Paginator(tickets.order_by(*order), PAGE_SIZE)
    sidebar = None
    if not is_htmx_partial(request, "ticket-list"):
        sidebar = sidebar_context(user, key)
        if _unfiltered(filters):  # the queue as counted in the sidebar: no second count
            paginator.count = sidebar["counts"][key]
    page = paginator.get_page(request.GET.get("page"))
    bottom = (page.number - 1) * PAGE_SIZE
    page.object_list = selectors.page_of(tickets, order, bottom, bottom + PAGE_SIZE)
    bulk_form = BulkForm()
    lighten(form, bulk_form)
    params = request.GET.copy()
    params.pop("page", None)
    unsorted = params.copy()
    unsorted.pop("sort", None)
    context = {
        "columns": COLUMNS,
        "query_without_sort": unsorted.urlencode(),
        "queue": current,
        "title": queue_title(current),
        "form": form,
        "page": page,
        "sort": sort,
        "query": params.urlencode(),
        "bulk_form": bulk_form,
    }
    if sidebar is None:
        return render(request, "desk/_ticket_table.html", context)
    return render(request, "desk/queue.html", {**context, **sidebar})


@agent_required
@require_POST
def save_filter(request):
    form = SaveFilterForm(request.POST)
    if form.is_valid():
        try:
            services.save_filter(user=request.user, **form.cleaned_data)
            messages.success(request, _("Filter saved."))
        except ServiceError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(request, _("Give the filter a name."))
    data = form.data
    return redirect(_queue_url(data.get("queue", "mine"), data.get("query", "")))


@agent_required
@require_POST
def delete_filter(request, pk):
    services.delete_filter(user=request.user, saved_filter_id=pk)
    messages.success(request, _("Filter removed."))
    return redirect("desk:home")


def _queue_url(key: str, query: str) -> str:
    try:
        url = reverse("desk:queue", kwargs={"key": key})
    except NoReverseMatch:
        url = reverse("desk:home")
    return f"{url}?{query}" if query else url


@agent_required
@require_POST
def bulk(request):
    form = BulkForm(request.POST)
    back = _queue_url(request.POST.get("queue", "mine"), request.POST.get("query", ""))
    if not form.is_valid():
        messages.error(request, " ".join(m for errs in form.errors.values() for m in errs))
        return redirect(back)
    changes = form.changes()
    if not changes:
        messages.error(request, _("Choose what to change."))
        return redirect(back)
    tickets = ticket_selectors.visible_tickets(request.user).filter(
        pk__in=form.cleaned_data["tickets"]
    )
    changed, refused = ticket_services.bulk_update(
        actor=request.user, tickets=tickets, channel=Channel.WEB, **changes
    )
    if changed:
        numbers = ", ".join(f"#{t.pk}" for t in changed)
        messages.success(
            request,
            _("Changed %(n)d tickets: %(numbers)s.") % {"n": len(changed), "numbers": numbers},
        )
    for ticket, reason in refused:
        messages.error(
            request,
            _("#%(number)d not changed: %(reason)s") % {"number": ticket.pk, "reason": reason},
        )
    return redirect(back)
