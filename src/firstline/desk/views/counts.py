"""Unresolved work per group, by status and by age: what a supervisor checks first."""

from django.shortcuts import render

from firstline.core import clock
from firstline.core.decorators import agent_required

from .. import selectors
from .queue import sidebar_context


@agent_required
def counts(request):
    rows = selectors.ticket_counts(request.user, clock.now())
    context = {
        "rows": rows,
        "total": selectors.counts_total(rows),
        "statuses": selectors.COUNTED_STATUSES,
        "age_buckets": selectors.AGE_BUCKETS,
    }
    sidebar = sidebar_context(request.user, "counts", counted=rows)
    return render(request, "desk/counts.html", {**context, **sidebar})
