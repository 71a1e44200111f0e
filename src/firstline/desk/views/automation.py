"""The desk's share of automation: macros in the reply box, and the agent's away switch."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from firstline.automation import services as automation_services
from firstline.core.decorators import agent_required
from firstline.core.errors import ServiceError

from ..forms import reply_form_with_macro
from .ticket import ticket_or_404


@agent_required
@require_GET
def macro_insert(request, number):
    """htmx: the reply box again, with the macro's text after what the agent typed."""
    ticket = ticket_or_404(request.user, number)
    form = reply_form_with_macro(request.GET, user=request.user, ticket=ticket)
    context = {"ticket": ticket, "reply_form": form, "chosen_macros": form.chosen_macros()}
    return render(request, "desk/_reply_body.html", context)


@agent_required
@require_POST
def availability(request):
    away = request.POST.get("away") == "1"
    try:
        automation_services.set_away(actor=request.user, user=request.user, away=away)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("You are away: no tickets are assigned to you automatically.")
            if away
            else _("Welcome back: tickets can be assigned to you automatically again."),
        )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("desk:home")
    return redirect(target)
