"""The agent's in-app notifications (SLA warnings and breaches) and the unread badge."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from firstline.core.decorators import agent_required

from .. import selectors, services
from .queue import sidebar_context


@agent_required
def notifications(request):
    context = {
        "notifications": selectors.notifications(request.user),
        **sidebar_context(request.user, current="notifications"),
    }
    return render(request, "desk/notifications.html", context)


@agent_required
def badge(request):
    """Loaded by htmx into the top bar, so pages pay nothing for the count."""
    count = selectors.unread_notification_count(request.user)
    return render(request, "desk/_notification_badge.html", {"unread": count})


@agent_required
@require_POST
def mark_read(request):
    raw = request.POST.get("notification", "")
    services.mark_notifications_read(
        user=request.user, notification_id=int(raw) if raw.isdigit() else None
    )
    return redirect("desk:notifications")
