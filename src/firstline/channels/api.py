"""The HTTP inbound endpoint for mail servers that push, and what became of a message."""

from datetime import datetime

from django.conf import settings
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.responses import Status as Reply
from ninja.security import HttpBearer

from firstline.core.errors import (
    InvalidInput,
    NotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)

from . import inbound, services
from .models import InboundMessage, Mailbox

router = Router(tags=["e-mail"])


class MailboxTokenAuth(HttpBearer):
    """A mailbox's own inbound token: it may push mail and read what became of it."""

    def authenticate(self, request, token: str):
        if not token.startswith(services.TOKEN_PREFIX):
            return None
        digest = services.token_digest(token)
        mailbox = Mailbox.objects.filter(inbound_token_digest=digest, is_active=True).first()
        if mailbox is not None:
            request.mailbox = mailbox
        return mailbox


class ReceivedOut(Schema):
    id: int
    status: str


class MessageOut(Schema):
    id: int
    status: str
    result: str
    ticket: int | None
    error: str
    message_id: str
    sender: str
    subject: str
    received_at: datetime
    processed_at: datetime | None


def _mailbox_auth():
    from firstline.api import TokenAuth

    return [MailboxTokenAuth(), TokenAuth()]


@router.post("/channels/email/inbound", response={202: ReceivedOut}, auth=_mailbox_auth())
def receive(request):
    """Send the raw RFC 822 message as the body with `Content-Type: message/rfc822`. The
    answer is 202 only once the bytes are stored; on any other answer, send again."""
    mailbox = getattr(request, "mailbox", None)
    if mailbox is None:
        raise NotAllowed(_("Use the mailbox's inbound token."))
    content_type = request.content_type or ""
    if content_type not in ("message/rfc822", "application/octet-stream", "text/plain"):
        raise UnsupportedMediaType(_("Send the raw message with Content-Type: message/rfc822."))
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > settings.INBOUND_MAX_MESSAGE_SIZE:
        raise PayloadTooLarge(_("The message is larger than this help desk accepts."))
    raw = request.body
    if not raw.strip():
        raise InvalidInput(_("The message is empty."))
    if len(raw) > settings.INBOUND_MAX_MESSAGE_SIZE:
        raise PayloadTooLarge(_("The message is larger than this help desk accepts."))
    message, _created = inbound.receive_message(mailbox=mailbox, raw=raw, source="http")
    return Reply(202, {"id": message.pk, "status": "received"})


@router.get("/channels/email/messages/{message_id}", response=MessageOut, auth=_mailbox_auth())
def message_status(request, message_id: int):
    messages = InboundMessage.objects.defer("raw")
    mailbox = getattr(request, "mailbox", None)
    if mailbox is not None:
        messages = messages.filter(mailbox=mailbox)
    elif not request.user.is_admin:
        raise NotAllowed(_("Only administrators and the mailbox's token can see messages."))
    message = messages.filter(pk=message_id).first()
    if message is None:
        raise NotFound(_("No message %(id)s.") % {"id": message_id})
    return {
        "id": message.pk,
        "status": message.status,
        "result": message.result,
        "ticket": message.ticket_id,
        "error": message.error,
        "message_id": message.message_id,
        "sender": message.sender,
        "subject": message.subject,
        "received_at": message.received_at,
        "processed_at": message.processed_at,
    }
