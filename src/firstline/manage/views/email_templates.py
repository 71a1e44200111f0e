"""The notification e-mails: the built-in texts and the administrators' own versions."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.template import Context, Template
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.accounts.models import Group, User
from firstline.channels import outbound, services
from firstline.channels import selectors as mail_selectors
from firstline.core.decorators import admin_required
from firstline.sla.models import Target
from firstline.tickets.models import Comment, Priority, Ticket

from ..forms import submit
from ..mail_forms import EmailTemplateForm, kind_labels, template_key_valid
from .common import render_page

SAMPLE_TICKET_NUMBER = 1234

# What the notifications pass to their templates (see channels.notifications).
VARIABLES = [
    ("ticket", "ticket.pk, ticket.subject, ticket.description, ticket.get_priority_display"),
    ("recipient_name", ""),
    ("comment", "comment.body"),
    ("author_name", ""),
    ("group", "group.name, group.tier"),
    ("reason", ""),
    ("portal_url", ""),
    ("desk_url", ""),
    ("target", ""),
    ("priority", ""),
    ("due", ""),
    ("time_zone", ""),
    ("count", ""),
    ("items", "item.ticket, item.target, item.due, item.time_zone, item.group, item.reason"),
    ("more", ""),
]


def _variable_help() -> dict[str, str]:
    return {
        "ticket": _("The ticket."),
        "recipient_name": _("The name of the person the e-mail goes to (confirmation)."),
        "comment": _("The reply that is sent (public reply)."),
        "author_name": _("Who wrote the reply (public reply)."),
        "group": _("The group the ticket was escalated to (escalation)."),
        "reason": _("Why the ticket was escalated (escalation)."),
        "portal_url": _("The ticket in the self-service portal."),
        "desk_url": _("The ticket on the agents' desk."),
        "target": _("The SLA target that is due (SLA warning and breach)."),
        "priority": _("The ticket's priority (SLA warning and breach)."),
        "due": _("When the target is due, in the calendar's time zone (SLA)."),
        "time_zone": _("The time zone of the SLA calendar."),
        "count": _("How many tickets a digest is about."),
        "items": _("The tickets a digest lists (the first 20), each with its own variables."),
        "more": _("How many more tickets the digest does not list."),
    }


def default_parts(kind: str) -> tuple[str, str]:
    """The built-in text as a subject and a body that can be saved as they are: the file's
    first line is the subject; own versions are never HTML-escaped, so the file's
    `{% autoescape off %}` wrapper is left out."""
    source = outbound.default_template_source(kind)
    source = source.replace("{% autoescape off %}", "").replace("{% endautoescape %}", "")
    subject, _newline, body = source.lstrip().partition("\n")
    load = "{% load i18n %}"
    if load in subject and load not in body:
        body = f"{load}\n{body}"
    return subject.strip(), body.strip() + "\n"


def sample_context(request) -> dict:
    """A ticket that does not exist, to show what the e-mail will look like."""
    requester = User(username="alice", first_name="Alice", last_name="Example")
    agent = User(username="bob", first_name="Bob", last_name="Agent")
    group = Group(slug="desktop", name=_("Desktop Support"), tier=2)
    ticket = Ticket(
        pk=SAMPLE_TICKET_NUMBER,
        subject=_("The printer on floor 3 jams"),
        description=_("Every print job since this morning stops with a paper jam."),
        priority=Priority.HIGH,
        requester=requester,
        group=group,
    )
    comment = Comment(ticket=ticket, author=agent, body=_("Please try the tray on the left."))
    base = request.build_absolute_uri("/").rstrip("/")
    sla = {
        "target": str(Target.RESOLUTION.label),
        "priority": str(Priority.HIGH.label),
        "due": "2026-03-10 14:20",
        "time_zone": "Asia/Shanghai",
    }
    item = {"ticket": ticket, "group": group, "reason": _("SLA breached: Resolution"), **sla}
    return {
        **sla,
        "count": 2,
        "items": [item, item],
        "more": 0,
        "ticket": ticket,
        "recipient_name": requester.display_name,
        "comment": comment,
        "author_name": agent.display_name,
        "group": group,
        "reason": _("The toner unit must be replaced."),
        "portal_url": f"{base}/requests/{SAMPLE_TICKET_NUMBER}/",
        "desk_url": f"{base}/desk/tickets/{SAMPLE_TICKET_NUMBER}/",
    }


def _preview(request, language: str, subject: str, body: str) -> tuple[str, str]:
    """Renders unsaved text the way outbound.render renders a saved version."""
    with translation.override(language):
        context = Context(sample_context(request), autoescape=False)
        subject = Template(subject).render(context)
        body = Template(body).render(context)
    return " ".join(subject.split()), body.strip() + "\n"


def _saved_preview(request, kind: str, language: str) -> tuple[str, str]:
    with translation.override(language):
        context = sample_context(request)
    return outbound.render(kind, language, context)


def _languages() -> dict[str, str]:
    return dict(settings.LANGUAGES)


@admin_required
def template_list(request):
    custom = mail_selectors.email_templates(request.user)
    rows = [
        {
            "kind": kind,
            "label": label,
            "languages": [
                {"code": code, "name": name, "custom": custom.get((kind, code))}
                for code, name in settings.LANGUAGES
            ],
        }
        for kind, label in kind_labels().items()
    ]
    return render_page(
        request, "manage/email_template_list.html", "email_templates", {"rows": rows}
    )


@admin_required
def template_edit(request, kind, language):
    if not template_key_valid(kind, language):
        raise Http404
    custom = mail_selectors.get_email_template(request.user, kind, language)
    default_subject, default_body = default_parts(kind)
    if custom is not None:
        initial = {"subject": custom.subject, "body": custom.body}
    else:
        initial = {"subject": default_subject, "body": default_body}
    form = EmailTemplateForm(request.POST or None, initial=initial)
    preview = None
    if request.method == "POST" and request.POST.get("action") == "preview":
        if form.is_valid():
            try:
                preview = _preview(
                    request, language, form.cleaned_data["subject"], form.cleaned_data["body"]
                )
            except Exception as exc:  # an admin's template may fail only when rendered
                form.add_error(None, _("The preview failed: %(error)s") % {"error": exc})
    elif request.method == "POST":
        if submit(
            form,
            lambda data: services.save_email_template(
                actor=request.user, kind=kind, language=language, **data
            ),
        ):
            messages.success(request, _("The e-mail template was saved."))
            return redirect("manage:email_template_edit", kind=kind, language=language)
    else:
        try:
            preview = _saved_preview(request, kind, language)
        except Exception as exc:
            messages.error(request, _("The preview failed: %(error)s") % {"error": exc})
    help_texts = _variable_help()
    context = {
        "kind": kind,
        "kind_label": kind_labels()[kind],
        "language": language,
        "language_name": _languages()[language],
        "custom": custom,
        "form": form,
        "preview": preview,
        "default_source": outbound.default_template_source(kind),
        "variables": [(name, help_texts[name], attrs) for name, attrs in VARIABLES],
    }
    return render_page(request, "manage/email_template_edit.html", "email_templates", context)


@admin_required
@require_POST
def template_reset(request, kind, language):
    if not template_key_valid(kind, language):
        raise Http404
    if services.reset_email_template(actor=request.user, kind=kind, language=language):
        messages.success(request, _("The e-mail template is back to the built-in text."))
    else:
        messages.info(request, _("The e-mail template already used the built-in text."))
    return redirect("manage:email_template_edit", kind=kind, language=language)
