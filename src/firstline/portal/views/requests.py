from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.core.errors import NotFound, ServiceError
from firstline.core.forms import add_service_error
from firstline.kb import services as kb_services
from firstline.tickets import selectors, services
from firstline.tickets.downloads import attachment_response
from firstline.tickets.lifecycle import ACTIVE_STATUSES
from firstline.tickets.models import Channel, Status

from ..forms import ReplyForm, RequestForm

# Service error fields that have another name on the portal's forms.
FORM_FIELDS = {"file": "attachments"}


def _get_request(user, number: int):
    """A request the user may follow in the portal: visible to them (the selectors decide),
    and, for staff, one they asked for themselves (they work the others at the desk)."""
    try:
        ticket = selectors.get_ticket(user, number)
    except NotFound:
        raise Http404 from None
    if user.is_agent and ticket.requester_id != user.pk:
        raise Http404
    return ticket


def _uploads(files) -> list[services.Upload]:
    return [(f, f.name, f.content_type or "") for f in files]


@login_required
def submit(request):
    form = RequestForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = services.open_ticket_with_files(
                actor=request.user,
                channel=Channel.WEB,
                subject=data["subject"],
                description=data["description"],
                category=data.get("category"),
                priority=data["priority"],
                uploads=_uploads(data["attachments"]),
            )
        except ServiceError as exc:
            add_service_error(form, exc, FORM_FIELDS)
        else:
            # Articles this session opened from the suggestions did not deflect this request.
            kb_services.note_request_submitted(
                session_key=request.session.session_key, ticket=ticket
            )
            messages.success(
                request, _("Thank you. Your request #%(number)s was sent.") % {"number": ticket.pk}
            )
            return redirect("portal:request", number=ticket.pk)
    return render(request, "portal/submit.html", {"form": form, "nav": "new"})


def _render_request(request, ticket, reply_form):
    user = request.user
    # Staff see internal entries through the selectors; the portal shows public ones only.
    comments = selectors.ticket_comments(user, ticket).filter(is_public=True)
    attachments = list(selectors.ticket_attachments(user, ticket).filter(is_public=True))
    context = {
        "ticket": ticket,
        "comments": comments,
        "attachments": attachments,
        "request_attachments": [a for a in attachments if a.comment_id is None],
        "reply_form": reply_form,
        "is_active": ticket.status in ACTIVE_STATUSES,
        "is_resolved": ticket.status == Status.RESOLVED,
        "is_closed": ticket.status == Status.CLOSED,
        "nav": "mine" if ticket.requester_id == user.pk else "organization",
    }
    return render(request, "portal/request.html", context)


@login_required
def detail(request, number: int):
    ticket = _get_request(request.user, number)
    return _render_request(request, ticket, ReplyForm())


@login_required
@require_POST
def reply(request, number: int):
    ticket = _get_request(request.user, number)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            comment = services.post_reply(
                actor=request.user,
                ticket=ticket,
                body=form.cleaned_data["body"],
                channel=Channel.WEB,
                uploads=_uploads(form.cleaned_data["attachments"]),
            )
        except ServiceError as exc:
            add_service_error(form, exc, FORM_FIELDS)
        else:
            messages.success(request, _("Your reply was sent."))
            url = reverse("portal:request", kwargs={"number": ticket.pk})
            return redirect(f"{url}#reply-{comment.pk}")
    return _render_request(request, ticket, form)


def _expected_version(request) -> int | None:
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() else None


def _change_status(request, number: int, status: str, done: str):
    ticket = _get_request(request.user, number)
    try:
        services.update_ticket(
            actor=request.user,
            ticket=ticket,
            channel=Channel.WEB,
            expected_version=_expected_version(request),
            status=status,
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("portal:request", number=ticket.pk)


@login_required
@require_POST
def solve(request, number: int):
    return _change_status(request, number, Status.RESOLVED, _("Marked as solved. Thank you!"))


@login_required
@require_POST
def reopen(request, number: int):
    return _change_status(
        request, number, Status.OPEN, _("Your request is open again. Tell us what is missing.")
    )


@login_required
def download(request, number: int, attachment_id: int):
    ticket = _get_request(request.user, number)
    try:
        attachment = selectors.get_attachment(request.user, ticket, attachment_id)
    except NotFound:
        raise Http404 from None
    if not attachment.is_public:
        raise Http404
    return attachment_response(attachment)
