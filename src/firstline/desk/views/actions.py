"""The ticket page's other actions: escalate, merge, link, take, and opening a ticket."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.core.decorators import agent_required
from firstline.core.errors import ServiceError, as_field_error
from firstline.core.forms import add_service_error
from firstline.tickets import selectors as ticket_selectors
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel

from ..forms import EscalationForm, LinkForm, MergeForm, NewTicketForm
from .ticket import render_ticket, ticket_or_404


@agent_required
@require_POST
def escalate(request, number, direction):
    if direction not in ("up", "down"):
        raise Http404
    ticket = ticket_or_404(request.user, number)
    upwards = direction == "up"
    form = EscalationForm(request.POST, ticket=ticket, upwards=upwards)
    if form.is_valid():
        try:
            ticket = ticket_services.escalate_ticket(
                actor=request.user,
                ticket=ticket,
                channel=Channel.WEB,
                upwards=upwards,
                **form.cleaned_data,
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("Ticket #%(n)d moved to %(group)s.")
                % {"n": ticket.pk, "group": ticket.group.name},
            )
            return _after_change(request, ticket.pk)
    key = "up_form" if upwards else "down_form"
    return render_ticket(request, ticket, status=400, **{key: form})


def _after_change(request, number):
    """Back to the ticket, or to the queue when the agent can no longer see it."""
    try:
        ticket_or_404(request.user, number)
    except Http404:
        return redirect("desk:home")
    return redirect("desk:ticket", number=number)


@agent_required
@require_POST
def merge(request, number):
    ticket = ticket_or_404(request.user, number)
    form = MergeForm(request.POST)
    if form.is_valid():
        try:
            with as_field_error("into"):
                target = ticket_selectors.get_ticket(request.user, form.cleaned_data["into"])
            ticket_services.merge_tickets(
                actor=request.user, source=ticket, target=target, channel=Channel.WEB
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("Ticket #%(a)d was merged into #%(b)d.") % {"a": ticket.pk, "b": target.pk},
            )
            return redirect("desk:ticket", number=target.pk)
    return render_ticket(request, ticket, status=400, merge_form=form)


@agent_required
@require_POST
def link(request, number):
    ticket = ticket_or_404(request.user, number)
    form = LinkForm(request.POST)
    if form.is_valid():
        try:
            with as_field_error("number"):
                other = ticket_selectors.get_ticket(request.user, form.cleaned_data["number"])
            ticket_services.link_tickets(
                actor=request.user, ticket=ticket, other=other, channel=Channel.WEB
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Linked to #%(n)d.") % {"n": other.pk})
            return redirect("desk:ticket", number=number)
    return render_ticket(request, ticket, status=400, link_form=form)


@agent_required
@require_POST
def unlink(request, number, other):
    ticket = ticket_or_404(request.user, number)
    related = ticket_or_404(request.user, other)
    ticket_services.link_tickets(
        actor=request.user, ticket=ticket, other=related, channel=Channel.WEB, linked=False
    )
    messages.success(request, _("Link to #%(n)d removed.") % {"n": other})
    return redirect("desk:ticket", number=number)


@agent_required
@require_POST
def take(request, number):
    ticket = ticket_or_404(request.user, number)
    try:
        ticket_services.update_ticket(
            actor=request.user, ticket=ticket, channel=Channel.WEB, assignee=request.user
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("You took ticket #%(n)d.") % {"n": ticket.pk})
    return redirect("desk:ticket", number=number)


@agent_required
def new_ticket(request):
    form = NewTicketForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        files = data.pop("files")
        try:
            ticket = ticket_services.open_ticket_with_files(
                actor=request.user, uploads=[(f, f.name, f.content_type) for f in files], **data
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Ticket #%(n)d created.") % {"n": ticket.pk})
            return redirect("desk:ticket", number=ticket.pk)
    return render(
        request, "desk/new_ticket.html", {"form": form}, status=400 if form.errors else 200
    )
