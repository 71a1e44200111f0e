from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from firstline.tickets import selectors
from firstline.tickets.lifecycle import ACTIVE_STATUSES
from firstline.tickets.models import Status

PAGE_SIZE = 20
STATES = {
    "all": None,
    "open": sorted(ACTIVE_STATUSES),
    "solved": [Status.RESOLVED, Status.CLOSED],
}


def _scope(request) -> str:
    wanted = request.GET.get("scope")
    user = request.user
    if wanted == "organization" and user.is_org_manager and user.organization_id is not None:
        return "organization"
    return "mine"


@login_required
def home(request):
    """The requester's own requests, or, for an organization manager, the organization's."""
    user = request.user
    scope = _scope(request)
    state = request.GET.get("state") if request.GET.get("state") in STATES else "all"
    if scope == "organization":
        filters = selectors.TicketFilters(
            status=STATES[state], organization_id=user.organization_id
        )
    else:
        filters = selectors.TicketFilters(status=STATES[state], requester_id=user.pk)
    tickets = selectors.list_tickets(user, filters)
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "scope": scope, "state": state, "nav": scope}
    return render(request, "portal/home.html", context)
