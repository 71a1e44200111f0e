"""Inbound mail: store the raw bytes first, then turn them into tickets in a task.

Nothing is ever dropped: a message ends processed (created / appended), ignored with a
reason (duplicate, auto-reply, own mail...), or quarantined with the error for an admin.
"""

import hashlib
import logging
import re
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from firstline.accounts import selectors as account_selectors
from firstline.accounts import services as account_services
from firstline.accounts.models import User
from firstline.core import clock
from firstline.core.errors import Conflict, NotAllowed
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel, Ticket

from . import message_ids, thread_matching
from .models import InboundMessage, Mailbox, MessageReference
from .parsing import Limits, MessageRejected, ParsedMessage, parse_message

log = logging.getLogger(__name__)
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*<?([^\s<>]{1,998})>?", re.IGNORECASE | re.MULTILINE)


def receive_message(
    *,
    mailbox: Mailbox,
    raw: bytes,
    source: str,
    imap_uidvalidity: int | None = None,
    imap_uid: int | None = None,
) -> tuple[InboundMessage, bool]:
    """Stores a message durably; returns it and whether it is new. Receiving the same bytes
    (or the same IMAP UID) again returns the stored one: retries never duplicate."""
    digest = hashlib.sha256(raw).hexdigest()
    existing = _existing(mailbox, digest, imap_uidvalidity, imap_uid)
    if existing is not None:
        _adopt_uid(existing, imap_uidvalidity, imap_uid)
        return existing, False
    try:
        with transaction.atomic():
            message = InboundMessage.objects.create(
                message_id=header_message_id(raw),
                mailbox=mailbox,
                source=source,
                raw=raw,
                sha256=digest,
                size=len(raw),
                imap_uidvalidity=imap_uidvalidity,
                imap_uid=imap_uid,
            )
            transaction.on_commit(lambda: _enqueue(message.pk))
    except IntegrityError:  # another poller stored the same UID a moment ago
        found = _existing(mailbox, digest, imap_uidvalidity, imap_uid)
        if found is None:
            raise
        return found, False
    return message, True


def header_message_id(raw: bytes) -> str:
    """The Message-ID as stored on arrival, read from the header block alone (cheap), so
    that copies of one message can be found and locked together before full parsing."""
    head = raw[:65536].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found = _MESSAGE_ID.search(head)
    return found[1].decode("ascii", "replace")[:998] if found else ""


def _adopt_uid(message: InboundMessage, uidvalidity: int | None, uid: int | None) -> None:
    """The same bytes under a new UID (the server renumbered the folder): remember the new
    UID, so that the next poll knows the message without downloading it again."""
    if uid is None or (message.imap_uidvalidity, message.imap_uid) == (uidvalidity, uid):
        return
    taken = InboundMessage.objects.filter(
        mailbox_id=message.mailbox_id, imap_uidvalidity=uidvalidity, imap_uid=uid
    )
    if not taken.exists():
        InboundMessage.objects.filter(pk=message.pk).update(
            imap_uidvalidity=uidvalidity, imap_uid=uid
        )


def _existing(mailbox, digest, uidvalidity, uid) -> InboundMessage | None:
    messages = InboundMessage.objects.filter(mailbox=mailbox).defer("raw")
    if uid is not None:
        found = messages.filter(imap_uidvalidity=uidvalidity, imap_uid=uid).first()
        if found is not None:
            return found
    return messages.filter(sha256=digest).order_by("pk").first()


def _enqueue(message_id: int) -> None:
    from .tasks import process_inbound_message

    process_inbound_message.enqueue(message_id)


def process(message_id: int) -> InboundMessage:
    """Turns one stored message into a ticket or a reply; safe to run twice or concurrently.

    Parsing happens before the transaction, so no lock is held while it runs; then every
    stored copy with the same Message-ID is locked (in one order), so two workers never
    import the same message twice.
    """
    stored = InboundMessage.objects.filter(pk=message_id).values("raw", "message_id", "mailbox")
    stored = stored.first()
    if stored is None:
        raise InboundMessage.DoesNotExist(message_id)
    try:
        parsed: ParsedMessage | MessageRejected = parse_message(bytes(stored["raw"]), Limits())
    except MessageRejected as exc:
        parsed = exc
    with transaction.atomic():
        if stored["message_id"]:
            copies = InboundMessage.objects.select_for_update().filter(
                mailbox_id=stored["mailbox"], message_id=stored["message_id"]
            )
            list(copies.order_by("pk").values_list("pk", flat=True))
        message = (
            InboundMessage.objects.select_for_update()
            .select_related("mailbox")
            .defer("raw")
            .filter(pk=message_id, status=InboundMessage.Status.RECEIVED)
            .first()
        )
        if message is None:
            return InboundMessage.objects.defer("raw").get(pk=message_id)
        message.attempts += 1
        try:
            with transaction.atomic():
                if isinstance(parsed, MessageRejected):
                    raise parsed
                _handle(message, parsed)
        except MessageRejected as exc:
            _finish(message, InboundMessage.Status.QUARANTINED, "rejected", error=exc.reason)
        except Exception as exc:  # anything else is a bug or bad data: keep it for an admin
            log.exception("Inbound message %s could not be processed", message.pk)
            error = f"{type(exc).__name__}: {exc}"[:2000]
            _finish(message, InboundMessage.Status.QUARANTINED, "error", error=error)
    return message


def requeue_stale(older_than: timedelta = timedelta(minutes=10)) -> int:
    """Messages still waiting long after they arrived (the enqueue failed, a worker died)
    are enqueued again; processing them twice is harmless."""
    stale = list(
        InboundMessage.objects.filter(
            status=InboundMessage.Status.RECEIVED, received_at__lt=clock.now() - older_than
        ).values_list("pk", flat=True)[:1000]
    )
    for pk in stale:
        _enqueue(pk)
    return len(stale)


def _finish(message, status, result, *, ticket=None, comment=None, error="") -> None:
    message.status, message.result, message.error = status, result, error
    message.ticket, message.comment = ticket, comment
    message.processed_at = clock.now()
    message.save(
        update_fields=[
            "status",
            "result",
            "error",
            "ticket",
            "comment",
            "processed_at",
            "attempts",
            "message_id",
            "sender",
            "subject",
        ]
    )


def _handle(message: InboundMessage, parsed: ParsedMessage) -> None:
    message.message_id = (parsed.message_id or "")[:998]
    message.sender = parsed.from_address[:254]
    message.subject = parsed.subject[:255]
    ignored = InboundMessage.Status.IGNORED
    if parsed.message_id and message_ids.is_ours(parsed.message_id):
        return _finish(message, ignored, "own_mail")
    if _is_duplicate(message, parsed):
        return _finish(message, ignored, "duplicate")
    if parsed.automation == "bounce":
        return _handle_bounce(message, parsed)
    if parsed.automation is not None:
        return _handle_automatic(message, parsed)
    if not parsed.from_address:
        raise MessageRejected("The message has no usable sender address.")
    domains = message.mailbox.allowed_domains
    if domains and parsed.from_address.rpartition("@")[2] not in domains:
        return _finish(message, ignored, "sender_not_allowed")
    sender = _sender(parsed)
    ticket = thread_matching.find_ticket(parsed, sender)
    if ticket is not None:
        return _append(message, parsed, sender, ticket)
    return _create(message, parsed, sender)


def _is_duplicate(message: InboundMessage, parsed: ParsedMessage) -> bool:
    """The same message delivered twice (two copies, or a retried push) is imported once."""
    if not parsed.message_id:
        return False
    return (
        InboundMessage.objects.filter(
            mailbox=message.mailbox,
            message_id=parsed.message_id,
            status=InboundMessage.Status.PROCESSED,
        )
        .exclude(pk=message.pk)
        .exists()
    )


def _sender(parsed: ParsedMessage) -> User:
    """The known user with this address, or a new requester (organization by e-mail domain)."""
    user = User.objects.filter(email__iexact=parsed.from_address).first()
    if user is not None:
        return user
    first, _sep, last = parsed.from_name.partition(" ")
    return account_services.create_user(
        actor=None,
        username=_free_username(parsed.from_address),
        email=parsed.from_address,
        first_name=first[:150],
        last_name=last[:150],
        organization=account_selectors.organization_for_email(parsed.from_address),
    )


def _free_username(address: str) -> str:
    base = "".join(ch for ch in address.lower() if ch.isalnum() or ch in "@.+-_")[:140] or "user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _uploads(parsed: ParsedMessage) -> list:
    return [
        (ContentFile(a.content), a.filename, a.content_type)
        for a in parsed.attachments
        if a.content
    ]


def _remember(parsed: ParsedMessage, ticket: Ticket) -> None:
    if parsed.message_id:
        MessageReference.objects.create(
            message_id=parsed.message_id,
            ticket=ticket,
            outgoing=False,
            sender=parsed.from_address,
        )


def _append(message, parsed, sender: User, ticket: Ticket) -> None:
    try:
        comment = ticket_services.post_reply(
            actor=sender,
            ticket=ticket,
            body=parsed.reply_text or parsed.subject,
            channel=Channel.EMAIL,
            public=True,
            uploads=_uploads(parsed),
        )
    except (Conflict, NotAllowed):  # closed ticket: the answer starts a follow-up instead
        return _create(message, parsed, sender, follow_up_of=ticket)
    ticket_services.add_participants(
        actor=None,
        ticket=ticket,
        emails=[a for _name, a in parsed.cc + parsed.to],
        exclude=[message.mailbox.address],
    )
    _remember(parsed, ticket)
    _finish(message, InboundMessage.Status.PROCESSED, "appended", ticket=ticket, comment=comment)


def _create(message, parsed, sender: User, follow_up_of: Ticket | None = None) -> None:
    mailbox = message.mailbox
    organization = sender.organization or mailbox.organization
    group = mailbox.group if mailbox.group and mailbox.group.serves(organization) else None
    ticket = ticket_services.open_ticket_with_files(
        actor=None,
        requester=sender,
        organization=organization,
        group=group,
        category=mailbox.category if mailbox.category and mailbox.category.is_active else None,
        subject=parsed.subject or "(no subject)",
        description=parsed.text,
        channel=Channel.EMAIL,
        uploads=_uploads(parsed),
    )
    ticket_services.add_participants(
        actor=None,
        ticket=ticket,
        emails=[a for _name, a in parsed.cc],
        exclude=[mailbox.address, sender.email],
    )
    if follow_up_of is not None:
        ticket_services.link_tickets(
            actor=None, ticket=ticket, other=follow_up_of, channel=Channel.EMAIL
        )
    _remember(parsed, ticket)
    _finish(message, InboundMessage.Status.PROCESSED, "created", ticket=ticket)


def _handle_bounce(message, parsed: ParsedMessage) -> None:
    """A bounce belongs to the ticket whose mail bounced; it never opens a ticket."""
    number = message_ids.ticket_of(parsed.bounced_message_id or "")
    ticket = Ticket.objects.filter(pk=number).first() if number else None
    if ticket is None:
        return _finish(message, InboundMessage.Status.IGNORED, "bounce")
    note = f"Delivery failure reported by {parsed.from_address or 'the mail server'}:\n\n"
    comment = ticket_services.add_system_note(
        ticket=ticket, body=note + (parsed.text[:5000] or parsed.subject), channel=Channel.EMAIL
    )
    _finish(message, InboundMessage.Status.PROCESSED, "bounce", ticket=ticket, comment=comment)


def _handle_automatic(message, parsed: ParsedMessage) -> None:
    """Auto-replies are kept on their ticket as a note, never answered, never a new ticket."""
    sender = User.objects.filter(email__iexact=parsed.from_address).first()
    ticket = thread_matching.find_ticket(parsed, sender) if parsed.from_address else None
    result = parsed.automation or "auto_reply"
    if ticket is None:
        return _finish(message, InboundMessage.Status.IGNORED, result)
    body = f"Automatic message from {parsed.from_address}: {parsed.subject}\n\n{parsed.reply_text}"
    comment = ticket_services.add_system_note(
        ticket=ticket, body=body[:10000], channel=Channel.EMAIL
    )
    _finish(message, InboundMessage.Status.PROCESSED, result, ticket=ticket, comment=comment)


@transaction.atomic
def requeue(*, message: InboundMessage) -> InboundMessage:
    """After a fix, a quarantined message is processed again."""
    if message.status != InboundMessage.Status.QUARANTINED:
        raise Conflict(_("Only quarantined messages can be processed again."))
    message.status, message.error = InboundMessage.Status.RECEIVED, ""
    message.save(update_fields=["status", "error"])
    transaction.on_commit(lambda: _enqueue(message.pk))
    return message
