"""The HTTP inbound endpoint for mail servers that push, and what became of a message."""

from datetime import datetime
from typing import Literal

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.responses import Status as Reply
from ninja.security import HttpBearer

from firstline.accounts import selectors as account_selectors
from firstline.accounts.api import StrictSchema
from firstline.core.errors import (
    InvalidInput,
    NotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    as_field_error,
)
from firstline.tickets import selectors as ticket_selectors

from . import inbound, selectors, services
from .models import InboundMessage, Mailbox

router = Router(tags=["e-mail"])


class MailboxTokenAuth(HttpBearer):
    """A mailbox's own inbound token: it may push mail and read what became of it."""

    def authenticate(self, request, token: str):
        if not token.startswith(services.TOKEN_PREFIX):
            return None
        mailbox = _active_mailbox(services.token_digest(token))
        if mailbox is not None:
            request.mailbox = mailbox
        return mailbox


def _active_mailbox(digest: str) -> Mailbox | None:
    """The active mailbox with this token digest (unique in practice), its other fields
    loaded when first used: every pushed message asks, and the ORM's query cost more to build
    than to run."""
    table = connection.ops.quote_name(Mailbox._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE inbound_token_digest = %s AND is_active = %s LIMIT 1",
            [digest, True],
        )
        row = cursor.fetchone()
    return Mailbox.from_db(connection.alias, ["id"], row) if row else None


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


class MailboxOut(Schema):
    id: int
    address: str
    name: str
    is_active: bool
    group: str | None = Field(None, alias="group.slug")
    organization: str | None = Field(None, alias="organization.slug")
    category: int | None = Field(None, alias="category_id")
    allowed_sender_domains: str
    imap_enabled: bool
    imap_host: str
    imap_port: int
    imap_security: str
    imap_username: str
    imap_password_set: bool
    imap_folder: str
    processed_folder: str
    after_import: str
    poll_interval: int
    last_polled_at: datetime | None
    last_poll_error: str

    @staticmethod
    def resolve_imap_password_set(mailbox) -> bool:
        return bool(mailbox.imap_password)


class MailboxIn(StrictSchema):
    """The IMAP password is write-only: it is never sent back."""

    address: str | None = None
    name: str | None = None
    is_active: bool | None = None
    group: str | None = Field(None, description="Group slug.")
    organization: str | None = Field(None, description="Organization slug.")
    category: int | None = None
    allowed_sender_domains: str | None = None
    imap_enabled: bool | None = None
    imap_host: str | None = None
    imap_port: int | None = None
    imap_security: Literal["ssl", "starttls", "plain"] | None = None
    imap_username: str | None = None
    imap_password: str | None = None
    imap_folder: str | None = None
    processed_folder: str | None = None
    after_import: Literal["move", "flag", "delete"] | None = None
    poll_interval: int | None = None


class MailboxCreated(Schema):
    mailbox: MailboxOut
    inbound_token: str = Field(description="Shown once; only its digest is kept.")


def _mailbox_fields(request, payload: MailboxIn) -> dict:
    fields = payload.dict(exclude_unset=True)
    user = request.user
    with as_field_error("group"):
        if fields.get("group"):
            fields["group"] = account_selectors.get_group(user, fields["group"])
    with as_field_error("organization"):
        if fields.get("organization"):
            fields["organization"] = account_selectors.get_organization(
                user, fields["organization"]
            )
    with as_field_error("category"):
        if fields.get("category"):
            fields["category"] = ticket_selectors.get_category(fields["category"])
    return fields


@router.get("/channels/email/mailboxes", response=list[MailboxOut])
def list_mailboxes(request):
    services.require_admin(request.user)
    return list(selectors.mailboxes(request.user))


@router.post("/channels/email/mailboxes", response={201: MailboxCreated})
def create_mailbox(request, payload: MailboxIn):
    services.require_admin(request.user)
    fields = _mailbox_fields(request, payload)
    address = fields.pop("address", None) or ""
    mailbox, token = services.create_configured_mailbox(
        actor=request.user, address=address, **fields
    )
    return Reply(201, {"mailbox": mailbox, "inbound_token": token})


@router.patch("/channels/email/mailboxes/{mailbox_id}", response=MailboxOut)
def update_mailbox(request, mailbox_id: int, payload: MailboxIn):
    services.require_admin(request.user)
    mailbox = selectors.get_mailbox(request.user, mailbox_id)
    return services.update_mailbox(
        actor=request.user, mailbox=mailbox, **_mailbox_fields(request, payload)
    )


@router.post("/channels/email/mailboxes/{mailbox_id}/token", response=MailboxCreated)
def rotate_token(request, mailbox_id: int):
    mailbox = selectors.get_mailbox(request.user, mailbox_id)
    token = services.rotate_inbound_token(actor=request.user, mailbox=mailbox)
    return {"mailbox": mailbox, "inbound_token": token}


@router.post("/channels/email/messages/{message_id}/reprocess", response=MessageOut)
def reprocess(request, message_id: int):
    services.require_admin(request.user)
    message = selectors.get_inbound_message(request.user, message_id, with_raw=False)
    inbound.requeue(message=message)
    return message_status(request, message_id)
