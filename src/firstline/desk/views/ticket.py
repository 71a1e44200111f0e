from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.automation import selectors as automation_selectors
from firstline.automation import services as automation_services
from firstline.core.decorators import agent_required
from firstline.core.errors import NotFound, ServiceError
from firstline.core.forms import add_service_error
from firstline.tickets import selectors as ticket_selectors
from firstline.tickets import services as ticket_services
from firstline.tickets.downloads import attachment_response
from firstline.tickets.models import Channel
from firstline.tickets.services import StaleVersion

from .. import selectors
from ..forms import (
    EscalationForm,
    LinkForm,
    MergeForm,
    ReplyForm,
    TicketPropertiesForm,
    reply_form_with_macro,
)


def ticket_or_404(user, number: int):
    try:
        return ticket_selectors.get_ticket(user, number)
    except NotFound:
        raise Http404 from None


def render_ticket(request, ticket, status: int = 200, **forms):
    user = request.user
    events = list(ticket_selectors.ticket_history(user, ticket))
    last_event = events[-1].pk if events else None
    forms.setdefault("reply_form", ReplyForm())
    forms.setdefault("props_form", TicketPropertiesForm(ticket=ticket, seen_event=last_event))
    forms.setdefault("up_form", EscalationForm(ticket=ticket, upwards=True))
    forms.setdefault("down_form", EscalationForm(ticket=ticket, upwards=False))
    forms.setdefault("merge_form", MergeForm())
    forms.setdefault("link_form", LinkForm())
    context = {
        "ticket": ticket,
        "tab": "history" if request.GET.get("tab") == "history" else "conversation",
        "comments": list(ticket_selectors.ticket_comments(user, ticket)),
        "loose_attachments": [
            a for a in ticket_selectors.ticket_attachments(user, ticket) if a.comment_id is None
        ],
        "events": events,
        "recent": selectors.requester_recent_tickets(user, ticket),
        "macros": list(automation_selectors.macros_for(user)),
        "chosen_macros": forms["reply_form"].chosen_macros(),
        **forms,
    }
    return render(request, "desk/ticket.html", context, status=status)


@agent_required
def detail(request, number):
    ticket = ticket_or_404(request.user, number)
    if "macro_pick" in request.GET:  # the macro picker without JavaScript
        form = reply_form_with_macro(request.GET, user=request.user, ticket=ticket)
        return render_ticket(request, ticket, reply_form=form)
    return render_ticket(request, ticket)


@agent_required
def download(request, number, attachment_id):
    ticket = ticket_or_404(request.user, number)
    try:
        attachment = ticket_selectors.get_attachment(request.user, ticket, attachment_id)
    except NotFound:
        raise Http404 from None
    return attachment_response(attachment)


@agent_required
@require_POST
def reply(request, number):
    ticket = ticket_or_404(request.user, number)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            reply = dict(
                actor=request.user,
                ticket=ticket,
                body=form.cleaned_data["body"],
                channel=Channel.WEB,
                public=form.cleaned_data["visibility"] == "public",
                uploads=[(f, f.name, f.content_type) for f in form.cleaned_data["files"]],
            )
            if form.cleaned_data["macros"]:  # their field changes go with the reply
                macros = form.chosen_macros()
                comment = automation_services.reply_with_macros(macros=macros, **reply)
            else:
                comment = ticket_services.post_reply(**reply)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                _("Your reply was added.")
                if comment.is_public
                else _("Your internal note was added."),
            )
            return redirect(reverse("desk:ticket", args=[number]) + f"#comment-{comment.pk}")
    return render_ticket(request, ticket, status=400, reply_form=form)


@agent_required
@require_POST
def update(request, number):
    ticket = ticket_or_404(request.user, number)
    form = TicketPropertiesForm(request.POST, ticket=ticket)
    if form.is_valid():
        try:
            ticket_services.update_ticket(
                actor=request.user,
                ticket=ticket,
                channel=Channel.WEB,
                expected_version=form.cleaned_data["version"],
                **form.changes(),
            )
        except StaleVersion:
            return _conflict(request, ticket, form)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, _("Ticket #%(n)d saved.") % {"n": ticket.pk})
            return redirect("desk:ticket", number=number)
    return render_ticket(request, ticket, status=400, props_form=form)


def _conflict(request, ticket, form):
    """Shows what changed meanwhile and keeps the agent's choices in the form."""
    ticket = ticket_or_404(request.user, ticket.pk)
    seen = form.cleaned_data.get("seen_event") or 0
    since = [e for e in ticket_selectors.ticket_history(request.user, ticket) if e.pk > seen]
    data = form.data.copy()
    data["version"] = ticket.version
    data["seen_event"] = since[-1].pk if since else seen
    fresh = TicketPropertiesForm(data, ticket=ticket)
    fresh.is_valid()
    return render_ticket(request, ticket, status=409, props_form=fresh, conflict=since)
