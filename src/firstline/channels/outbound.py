"""The outbox: notifications are written with the change that causes them, then sent by a
task with retries, so an SMTP outage delays mail but loses none."""

import contextlib
import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Min
from django.template import Context, Template, engines
from django.template.loader import render_to_string
from django.utils import translation

from firstline.core import clock
from firstline.core.bulk import insert_one, insert_rows
from firstline.tickets.models import Ticket

from . import message_ids
from .models import EmailTemplate, InboundMessage, Mailbox, MessageReference, OutboundMessage

log = logging.getLogger(__name__)

AUTOMATIC_KINDS = {"ack"}  # answers to a person's mail: RFC 3834 "auto-replied"
MAX_ATTEMPTS = 8
BACKOFF = [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600]  # seconds after each failure
CLAIM_LEASE = timedelta(minutes=5)
# The database queue runs a deferred task (inbound processing, every ENQUEUE_WINDOW while mail
# arrives) before any task enqueued to run at once of the same priority: without a higher
# one, the mail queued would wait for a burst of inbound mail to end.
SEND_PRIORITY = 10


def render(kind: str, language: str, context: dict) -> tuple[str, str]:
    """Subject and body in `language`: the admin's version if there is one, else the file."""
    return _render(_custom_template(kind, language), kind, language, context)


def _custom_template(kind: str, language: str) -> EmailTemplate | None:
    """The admin's version (asked for every mail queued: the ORM's query cost several times
    what running it does)."""
    with connection.cursor() as cursor:
        cursor.execute(_CUSTOM, [kind, language])
        row = cursor.fetchone()
    return EmailTemplate(kind=kind, language=language, subject=row[0], body=row[1]) if row else None


_CUSTOM = (  # one at most: kind and language are unique together
    f'SELECT subject, body FROM "{EmailTemplate._meta.db_table}" WHERE kind = %s AND language = %s'
)


def _render(
    custom: EmailTemplate | None, kind: str, language: str, context: dict
) -> tuple[str, str]:
    with translation.override(language):
        if custom is not None:
            ctx = Context(context, autoescape=False)
            subject = Template(custom.subject).render(ctx)
            body = Template(custom.body).render(ctx)
        else:
            text = render_to_string(f"channels/email/{kind}.txt", context)
            subject, _, body = text.lstrip().partition("\n")
    return " ".join(subject.split())[:900], body.strip() + "\n"


def default_template_source(kind: str) -> str:
    engine = engines["django"]
    return engine.engine.find_template(f"channels/email/{kind}.txt")[0].source


def sender_address(ticket: Ticket | None) -> str:
    """Replies go back to the mailbox the ticket came in through, else the first mailbox."""
    return _sender_address(ticket.pk if ticket is not None else None)


def _sender_address(ticket_id: int | None) -> str:
    if ticket_id is not None:
        origin = (
            InboundMessage.objects.filter(ticket_id=ticket_id, status="processed")
            .order_by("pk")
            .values_list("mailbox__address", "mailbox__is_active")
            .first()
        )
        if origin is not None and origin[1]:
            return origin[0]
    mailbox = Mailbox.objects.filter(is_active=True).order_by("pk").values_list("address")
    first = mailbox.first()
    return first[0] if first else settings.DEFAULT_FROM_EMAIL


def _sender_addresses(ticket_ids: set[int | None]) -> dict[int | None, str]:
    """`sender_address` of many tickets (the ones a run of the outbox writes about) at once:
    the mailbox of each ticket's first processed message, when that mailbox is active."""
    firsts = (
        InboundMessage.objects.filter(ticket_id__in=ticket_ids - {None}, status="processed")
        .values("ticket_id")
        .annotate(first=Min("pk"))
        .values("first")
    )
    origins = InboundMessage.objects.filter(pk__in=firsts, mailbox__is_active=True)
    found = dict(origins.values_list("ticket_id", "mailbox__address"))
    if ticket_ids - found.keys():
        fallback = _sender_address(None)
        found |= {ticket_id: fallback for ticket_id in ticket_ids - found.keys()}
    return found


# The latest ten Message-IDs of the ticket's conversation before this message: all received
# ones, and the ones we sent before it (queued before it: a smaller reference id).
_THREAD = (
    f'SELECT message_id FROM "{MessageReference._meta.db_table}"'
    " WHERE ticket_id = %s AND message_id <> %s AND (outgoing = %s OR id < ("
    f'SELECT id FROM "{MessageReference._meta.db_table}" WHERE message_id = %s LIMIT 1))'
    " ORDER BY id DESC LIMIT 10"
)


def thread_headers(outbound: OutboundMessage) -> dict[str, str]:
    """Worked out when sending, so that the mail that opened the ticket (remembered in the
    same transaction, after this message was queued) is already part of the thread."""
    if outbound.ticket_id is None:
        return {}
    with connection.cursor() as cursor:  # the same query the ORM would build, built once
        cursor.execute(
            _THREAD, [outbound.ticket_id, outbound.message_id, False, outbound.message_id]
        )
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return {}
    ids.reverse()
    return {"In-Reply-To": f"<{ids[-1]}>", "References": " ".join(f"<{i}>" for i in ids)}


def queue(
    *,
    kind: str,
    ticket: Ticket | None,
    recipients: list[str],
    language: str,
    context: dict,
    cc: list[str] | None = None,
) -> OutboundMessage | None:
    """Writes one message to the outbox, in the caller's transaction."""
    recipients = sorted({r.strip().lower() for r in recipients if r and "@" in r})
    if not recipients:
        return None
    subject, body = render(kind, language, context)
    message_id = message_ids.new_message_id(ticket.pk if ticket else None)
    headers = {}
    headers["Auto-Submitted"] = "auto-replied" if kind in AUTOMATIC_KINDS else "auto-generated"
    headers["X-Auto-Response-Suppress"] = "All"
    outbound = OutboundMessage(
        kind=kind,
        ticket=ticket,
        recipients=recipients,
        primary_recipient=recipients[0],
        cc=sorted(set(cc or []) - set(recipients)),
        subject=subject,
        body=body,
        message_id=message_id,
        headers=headers,
    )
    insert_one(outbound)  # every acknowledgement: cheaper than save() (model signals: none)
    if ticket is not None:
        insert_one(MessageReference(message_id=message_id, ticket=ticket, outgoing=True))
    send_after_commit()
    return outbound


def queue_many(items: Iterable[dict]) -> list[OutboundMessage]:
    """`queue` for many messages at once (the SLA sweep): each item holds `queue`'s keyword
    arguments; the same messages are written with a few bulk inserts, and the admins' own
    templates are looked up once per kind and language."""
    customs: dict[tuple[str, str], EmailTemplate | None] = {}
    messages, references = [], []
    for item in items:
        recipients = sorted({r.strip().lower() for r in item["recipients"] if r and "@" in r})
        if not recipients:
            continue
        kind, language, ticket = item["kind"], item["language"], item.get("ticket")
        if (kind, language) not in customs:
            customs[kind, language] = EmailTemplate.objects.filter(
                kind=kind, language=language
            ).first()
        subject, body = _render(customs[kind, language], kind, language, item["context"])
        message_id = message_ids.new_message_id(ticket.pk if ticket else None)
        automatic = "auto-replied" if kind in AUTOMATIC_KINDS else "auto-generated"
        messages.append(
            OutboundMessage(
                kind=kind,
                ticket=ticket,
                recipients=recipients,
                primary_recipient=recipients[0],
                cc=sorted(set(item.get("cc") or []) - set(recipients)),
                subject=subject,
                body=body,
                message_id=message_id,
                headers={"Auto-Submitted": automatic, "X-Auto-Response-Suppress": "All"},
            )
        )
        if ticket is not None:
            references.append(MessageReference(message_id=message_id, ticket=ticket, outgoing=True))
    insert_rows(OutboundMessage, messages)
    insert_rows(MessageReference, references)
    if messages:
        send_after_commit()
    return messages


class _SendHook:
    """One "send the outbox" task per transaction, however many messages it queued."""

    def __init__(self, connection):
        self.done = False
        self.savepoints = set(connection.savepoint_ids)

    def waiting(self, connection) -> bool:
        """Will run when the block the caller is in commits: registered in this block or one
        around it, and neither rolled back nor run yet."""
        return (
            not self.done
            and self.savepoints <= set(connection.savepoint_ids)
            and any(hook[1] == self.run for hook in connection.run_on_commit)
        )

    def run(self) -> None:
        from .tasks import send_outbox

        self.done = True
        if send_outbox.get_backend().supports_priority:
            send_outbox.using(priority=SEND_PRIORITY).enqueue()
        else:
            send_outbox.enqueue()


def send_after_commit() -> None:
    """Has the outbox sent once the current transaction commits (or, in a block of
    one_send_at_the_end, once that ends)."""
    connection = transaction.get_connection()
    batches = getattr(connection, "_firstline_send_batches", None)
    if batches:
        batches[-1].append(True)
        return
    hook = getattr(connection, "_firstline_send_hook", None)
    if hook is not None and hook.waiting(connection):
        return
    hook = _SendHook(connection)
    connection._firstline_send_hook = hook
    transaction.on_commit(hook.run)


@contextlib.contextmanager
def one_send_at_the_end():
    """Around work that commits many transactions queueing mail, each in savepoints (a batch
    of inbound mail): one send task when the block ends, rather than one per transaction.
    (Mail of a transaction that rolled back is gone: the task then finds less to send.)"""
    connection = transaction.get_connection()
    if not hasattr(connection, "_firstline_send_batches"):
        connection._firstline_send_batches = []
    queued: list[bool] = []
    connection._firstline_send_batches.append(queued)
    try:
        yield
    finally:
        connection._firstline_send_batches.pop()
        if queued:
            send_after_commit()  # at once, or when the transaction around the block commits


# What sending runs for every message, written once (the ORM's statements cost more to build
# than to run).
_OUTBOX = f'"{OutboundMessage._meta.db_table}"'
_CLAIM = (
    f"UPDATE {_OUTBOX} SET attempts = %s, next_attempt_at = %s"
    " WHERE id = %s AND status = %s AND attempts = %s AND next_attempt_at <= %s"
)
_SENT = f"UPDATE {_OUTBOX} SET status = %s, sent_at = %s, last_error = %s WHERE id = %s"


def _claim(outbound: OutboundMessage) -> bool:
    """Only one worker sends a message: the one whose update finds it unchanged (as read
    just before; only its sending changes it)."""
    now = clock.now()
    adapt = connection.ops.adapt_datetimefield_value
    claim = [outbound.attempts + 1, adapt(now + CLAIM_LEASE), outbound.pk]
    unchanged = [OutboundMessage.Status.PENDING, outbound.attempts, adapt(now)]
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, [*claim, *unchanged])
        claimed = cursor.rowcount
    if claimed:
        outbound.attempts, outbound.next_attempt_at = outbound.attempts + 1, now + CLAIM_LEASE
    return bool(claimed)


def send_due(limit: int = 100) -> int:
    """Sends what is due; returns how many were sent."""
    due = list(
        OutboundMessage.objects.filter(
            status=OutboundMessage.Status.PENDING, next_attempt_at__lte=clock.now()
        ).order_by("next_attempt_at", "pk")[:limit]
    )
    if not due:
        return 0
    sent, senders = 0, _sender_addresses({outbound.ticket_id for outbound in due})
    connection = get_connection(fail_silently=False)  # opened by the first send, not here:
    try:  # a server that is down must count as a failed attempt of each message
        for outbound in due:
            if _claim(outbound):
                sent += _send_one(outbound, connection, senders[outbound.ticket_id])
    finally:
        with contextlib.suppress(Exception):
            connection.close()
    return sent


def _send_one(outbound: OutboundMessage, connection, reply_to: str) -> int:
    headers = {**outbound.headers, **thread_headers(outbound)}
    headers["Message-ID"] = f"<{outbound.message_id}>"
    headers.pop("Reply-To", None)
    email = EmailMessage(
        subject=outbound.subject,
        body=outbound.body,
        to=outbound.recipients,
        cc=outbound.cc,
        from_email=reply_to or settings.DEFAULT_FROM_EMAIL,
        reply_to=[reply_to] if reply_to else None,
        headers=headers,
        connection=connection,
    )
    try:
        email.send()
    except Exception as exc:  # SMTP down, refused, timed out: retry later, never lose it
        _failed(outbound, exc)
        return 0
    outbound.status, outbound.sent_at, outbound.last_error = "sent", clock.now(), ""
    db = transaction.get_connection()  # `connection` here is the mail server's
    with db.cursor() as cursor:
        sent_at = db.ops.adapt_datetimefield_value(outbound.sent_at)
        cursor.execute(_SENT, [outbound.status, sent_at, "", outbound.pk])
    return 1


def _failed(outbound: OutboundMessage, exc: Exception) -> None:
    # The exception's class and text only: SMTP errors carry the server's reply, not our password.
    outbound.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if outbound.attempts >= MAX_ATTEMPTS:
        outbound.status = OutboundMessage.Status.FAILED
    else:
        delay = BACKOFF[min(outbound.attempts - 1, len(BACKOFF) - 1)]
        outbound.next_attempt_at = clock.now() + timedelta(seconds=delay)
    log.warning("Sending outbound message %s failed: %s", outbound.pk, outbound.last_error)
    outbound.save(update_fields=["last_error", "status", "next_attempt_at"])


@transaction.atomic
def retry(*, message: OutboundMessage) -> None:
    """An admin sends a permanently failed message once more (after fixing SMTP settings)."""
    message.status, message.attempts, message.next_attempt_at = "pending", 0, clock.now()
    message.save(update_fields=["status", "attempts", "next_attempt_at"])
    send_after_commit()
