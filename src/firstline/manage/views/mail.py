"""The e-mail channel: mailboxes, received messages (and their quarantine), the outbox.

Administrators only: these pages show mail contents and mailbox credentials' settings.
"""

from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from firstline.channels import inbound, outbound, services
from firstline.channels import selectors as mail_selectors
from firstline.channels.models import InboundMessage, OutboundMessage
from firstline.core.decorators import admin_required
from firstline.core.errors import ServiceError

from ..forms import submit
from ..mail_forms import InboundFilterForm, MailboxForm, OutboundFilterForm, kind_labels
from .common import found, render_page

PAGE_SIZE = 50
RAW_SHOWN = 256 * 1024  # bytes of a message shown on its page; the download has them all
HEADERS_READ = 1024 * 1024  # the headers are looked for in this much of a message


def _endpoint(request) -> dict[str, str]:
    """Where mail servers push to, and the base URL `firstline mailgate` needs."""
    return {
        "inbound_url": request.build_absolute_uri(reverse("api:receive")),
        "base_url": request.build_absolute_uri("/").rstrip("/"),
    }


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


# Mailboxes.


@admin_required
def mailbox_list(request):
    context = {"mailboxes": mail_selectors.mailboxes(request.user), **_endpoint(request)}
    return render_page(request, "manage/mailbox_list.html", "mailboxes", context)


@admin_required
def mailbox_create(request):
    form = MailboxForm(request.POST or None)
    created = []

    def create(data):
        created.append(services.create_configured_mailbox(actor=request.user, **form.settings()))

    if request.method == "POST" and submit(form, create):
        mailbox, token = created[0]
        messages.success(request, _("The mailbox was created."))
        return _token_page(request, mailbox, token, created=True)
    return render_page(request, "manage/mailbox_create.html", "mailboxes", {"form": form})


@admin_required
def mailbox_edit(request, mailbox_id):
    mailbox = found(mail_selectors.get_mailbox, request.user, mailbox_id)
    form = MailboxForm(request.POST or None, mailbox=mailbox)
    if request.method == "POST" and submit(
        form,
        lambda data: services.update_mailbox(
            actor=request.user, mailbox=mailbox, **form.settings()
        ),
    ):
        messages.success(request, _("The mailbox was saved."))
        return redirect("manage:mailbox_edit", mailbox_id=mailbox.pk)
    context = {"mailbox": mailbox, "form": form, **_endpoint(request)}
    return render_page(request, "manage/mailbox_edit.html", "mailboxes", context)


@admin_required
@require_POST
def mailbox_token(request, mailbox_id):
    mailbox = found(mail_selectors.get_mailbox, request.user, mailbox_id)
    token = services.rotate_inbound_token(actor=request.user, mailbox=mailbox)
    return _token_page(request, mailbox, token, created=False)


def _token_page(request, mailbox, token: str, *, created: bool) -> HttpResponse:
    """The one time a token is shown: answered to the POST itself, never stored or cached."""
    context = {"mailbox": mailbox, "token": token, "created": created, **_endpoint(request)}
    response = render_page(request, "manage/mailbox_token.html", "mailboxes", context)
    return _no_store(response)


# Received messages and the quarantine.


@admin_required
def message_list(request):
    filter_form = InboundFilterForm(
        request.GET, mailboxes=mail_selectors.mailboxes(request.user).order_by("address")
    )
    received = mail_selectors.inbound_messages(request.user, filter_form.filters())
    page = Paginator(received, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"filter_form": filter_form, "page": page}
    return render_page(request, "manage/mail_message_list.html", "mail_messages", context)


def _header_text(value) -> str:
    """A header as a person reads it: encoded words decoded, anything odd left as it was."""
    try:
        return str(make_header(decode_header(str(value))))
    except Exception:  # a broken header is shown raw rather than not at all
        return str(value)


def _headers(raw: bytes) -> list[tuple[str, str]]:
    parsed = BytesHeaderParser(policy=compat32).parsebytes(raw)
    return [(name, _header_text(value)) for name, value in parsed.items()]


@admin_required
def message_detail(request, message_id):
    message = found(mail_selectors.get_inbound_message, request.user, message_id)
    raw = bytes(message.raw)
    context = {
        "message": message,
        "headers": _headers(raw[:HEADERS_READ]),
        "raw_text": raw[:RAW_SHOWN].decode("utf-8", errors="replace"),
        "raw_cut": len(raw) > RAW_SHOWN,
        "raw_shown_kib": RAW_SHOWN // 1024,
        "can_process_again": message.status == InboundMessage.Status.QUARANTINED,
    }
    response = render_page(request, "manage/mail_message_detail.html", "mail_messages", context)
    return _no_store(response)


@admin_required
def message_raw(request, message_id):
    message = found(mail_selectors.get_inbound_message, request.user, message_id)
    response = HttpResponse(bytes(message.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="message-{message.pk}.eml"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return _no_store(response)


def _without_raw(actor, message_id) -> InboundMessage:
    return mail_selectors.get_inbound_message(actor, message_id, with_raw=False)


@admin_required
@require_POST
def message_process(request, message_id):
    message = found(_without_raw, request.user, message_id)
    refused = _("Only quarantined messages can be processed again.")
    if message.status != InboundMessage.Status.QUARANTINED:
        messages.error(request, refused)
    else:
        try:
            inbound.requeue(message=message)
        except ServiceError:  # someone else was quicker
            messages.error(request, refused)
        else:
            messages.success(request, _("The message was put back in line to be processed."))
    return redirect("manage:mail_message", message_id=message.pk)


# The outbox.


@admin_required
def outbox_list(request):
    filter_form = OutboundFilterForm(request.GET)
    queued = mail_selectors.outbound_messages(request.user, filter_form.filters())
    page = Paginator(queued, PAGE_SIZE).get_page(request.GET.get("page"))
    labels = kind_labels()
    for message in page:
        message.kind_label = labels.get(message.kind, message.kind)
    context = {"filter_form": filter_form, "page": page}
    return render_page(request, "manage/outbox_list.html", "outbox", context)


@admin_required
@require_POST
def outbox_send(request, message_id):
    message = found(mail_selectors.get_outbound_message, request.user, message_id)
    if message.status != OutboundMessage.Status.FAILED:
        messages.error(request, _("Only messages that failed can be sent again."))
    else:
        outbound.retry(message=message)
        messages.success(request, _("The message will be sent again."))
    return redirect("manage:outbox")
