"""Inbound mail: store the raw bytes first, then turn them into tickets in a task.

Nothing is ever dropped: a message ends processed (created / appended), ignored with a
reason (duplicate, auto-reply, own mail...), or quarantined with the error for an admin.

Throughput: storing a message is one INSERT, and asks for at most one processing task per
ENQUEUE_WINDOW (per process). A task claims waiting messages a batch at a time (a lease, so
that several workers share the work), parses them with no transaction open, reads what they
share once (mailbox, known senders, the received mail they answer), and processes them a few
per transaction, each in its own savepoint; one task sends the mail the batch queued. Several
workers at once never import one Message-ID twice (a unique constraint on processed
messages), and a reply waits for the message it answers when that one is still being
processed elsewhere.
"""

import hashlib
import logging
import re
import threading
import time
from collections import deque
from contextlib import contextmanager
from datetime import timedelta

from django.core.files.base import ContentFile
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import BooleanField, F, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from firstline.accounts import selectors as account_selectors
from firstline.accounts import services as account_services
from firstline.accounts.models import User
from firstline.core import clock, revisions
from firstline.core.bulk import new_row_values
from firstline.core.errors import Conflict, NotAllowed
from firstline.tickets import services as ticket_services
from firstline.tickets.models import Channel, Ticket

from . import message_ids, outbound, thread_matching
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
    if imap_uid is not None and (known := _existing(mailbox, digest, imap_uidvalidity, imap_uid)):
        _adopt_uid(known, imap_uidvalidity, imap_uid)
        return known, False
    fields = {"message_id": header_message_id(raw), "mailbox": mailbox, "source": source}
    fields |= {"raw": raw, "sha256": digest, "size": len(raw)}
    fields |= {"imap_uidvalidity": imap_uidvalidity, "imap_uid": imap_uid}
    message = InboundMessage(**fields)
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():  # a savepoint, so that a clash leaves the caller's alone
                stored = _insert_unless_stored(message)
        else:  # one INSERT commits on its own: no BEGIN/COMMIT round trips
            stored = _insert_unless_stored(message)
        if stored:  # an enqueue that fails is logged (requeue_stale makes up for it), not an error
            transaction.on_commit(schedule_processing, robust=True)
    except IntegrityError:  # another poller stored the same UID a moment ago
        found = _existing(mailbox, digest, imap_uidvalidity, imap_uid)
        if found is None:
            raise
        return found, False
    if stored:
        return message, True
    found = _existing(mailbox, digest, imap_uidvalidity, imap_uid)  # the same bytes
    if found is None:  # removed since: as when it was never stored, send again
        raise InboundMessage.DoesNotExist(f"Message {digest} was removed while received again.")
    _adopt_uid(found, imap_uidvalidity, imap_uid)
    return found, False


def _insert_unless_stored(message: InboundMessage) -> bool:
    """Inserts the message unless its bytes are stored already, in one statement (most are
    new: no SELECT first); False when they were. Sets the new row's key."""
    with connection.cursor() as cursor:
        cursor.execute(
            _SQL.insert_new(), [*new_row_values(message), message.mailbox_id, message.sha256]
        )
        row = cursor.fetchone()
    if row is None:
        return False
    message.pk = row[0]
    message._state.adding, message._state.db = False, connection.alias
    return True


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
    def stored():
        return InboundMessage.objects.filter(mailbox=mailbox).defer("raw")

    if uid is not None:
        found = stored().filter(imap_uidvalidity=uidvalidity, imap_uid=uid).first()
        if found is not None:
            return found
    # Most messages are new: look for the primary key alone, load the row only when found.
    with connection.cursor() as cursor:
        cursor.execute(_SQL.same_bytes, [mailbox.pk, digest])
        same_bytes = cursor.fetchone()
    return stored().get(pk=same_bytes[0]) if same_bytes else None


class _SQL:
    """The statements every message runs, written once: building them with the ORM cost more
    than running them (and, on arrival, as much as the rest of the request). Double-quoted
    names are what both SQLite and PostgreSQL expect."""

    table = f'"{InboundMessage._meta.db_table}"'
    same_bytes = f"SELECT id FROM {table} WHERE mailbox_id = %s AND sha256 = %s ORDER BY id LIMIT 1"
    # _take: the message is now this transaction's (its row locked until the end), or it was
    # not waiting (no row changed), or a copy was processed (the unique constraint fails).
    take = (
        f"UPDATE {table} SET status = %s, attempts = attempts + 1, claimed_until = NULL,"
        " message_id = %s, sender = %s, subject = %s WHERE id = %s AND status = %s"
    )
    finish = (
        f"UPDATE {table} SET status = %s, result = %s, error = %s, ticket_id = %s,"
        " comment_id = %s, processed_at = %s WHERE id = %s"
    )
    reference = (
        f'INSERT INTO "{MessageReference._meta.db_table}"'
        " (message_id, ticket_id, outgoing, sender, created_at) VALUES (%s, %s, %s, %s, %s)"
    )
    fields = [f for f in InboundMessage._meta.concrete_fields if not f.primary_key]
    _insert_new: dict[str, str] = {}

    @classmethod
    def insert_new(cls) -> str:
        """INSERT ... SELECT <the values> WHERE no row holds the same bytes; typed values on
        PostgreSQL, which cannot infer a SELECT's parameter types from the columns."""
        vendor = connection.vendor
        if vendor not in cls._insert_new:
            fields = cls.fields
            names = ", ".join(f'"{f.column}"' for f in fields)
            cast = vendor == "postgresql"
            marks = ", ".join(f"%s::{f.cast_db_type(connection)}" if cast else "%s" for f in fields)
            cls._insert_new[vendor] = (
                f"INSERT INTO {cls.table} ({names}) SELECT {marks} WHERE NOT EXISTS"
                f" (SELECT 1 FROM {cls.table} WHERE mailbox_id = %s AND sha256 = %s) RETURNING id"
            )
        return cls._insert_new[vendor]


def _enqueue(message_id: int) -> None:
    from .tasks import process_inbound_message

    process_inbound_message.enqueue(message_id)


# --- Asking a worker to process what is waiting --------------------------------------------------

BATCH_SIZE = 50  # messages claimed at once
GROUP_SIZE = 10  # messages per transaction, at most...
GROUP_SECONDS = 0.1  # ...and no new one started after this long
CLAIM_LEASE = timedelta(minutes=5)  # then a message a dead worker had claimed is free again
DRAIN_SECONDS = 20.0  # a task hands over to a new one after this long (other tasks get a turn)
ENQUEUE_WINDOW = 0.2  # seconds: at most one processing task per window and process
PARENT_WAIT = timedelta(minutes=10)  # how long a reply waits for its original to be processed
RETRY_DELAY = timedelta(seconds=1)  # before a waiting reply is looked at again

_window = threading.Lock()
_window_ends = 0.0  # time.monotonic() when the task enqueued last will run


def schedule_processing() -> None:
    """Has the waiting messages processed: at most one task per ENQUEUE_WINDOW in this process,
    deferred to the end of the window, so that every message stored (and committed) before
    this call is waiting when it runs. Backends that cannot defer run one at once."""
    from .tasks import process_inbound_messages

    if not process_inbound_messages.get_backend().supports_defer:
        process_inbound_messages.enqueue()
        return
    global _window_ends
    with _window:
        now = time.monotonic()
        if now < _window_ends:
            return  # the task enqueued in this window runs after now
        _window_ends = now + ENQUEUE_WINDOW
    try:
        run_after = clock.now() + timedelta(seconds=ENQUEUE_WINDOW)
        process_inbound_messages.using(run_after=run_after).enqueue()
    except Exception:
        with _window:
            _window_ends = 0.0  # the next message tries again; requeue_stale is the backstop
        raise


def _schedule_retry() -> None:
    from .tasks import process_inbound_messages

    task = process_inbound_messages
    if task.get_backend().supports_defer:
        task.using(run_after=clock.now() + RETRY_DELAY).enqueue()


def process_waiting(*, budget: float = DRAIN_SECONDS) -> int:
    """Claims waiting messages a batch at a time and processes them until none is left, or
    until `budget` seconds are spent (a new task then carries on); returns how many were
    processed. Several workers can run this at once: each claims different messages."""
    deadline = time.monotonic() + budget
    done = 0
    while True:
        rows = _claim(BATCH_SIZE)
        if not rows:
            return done
        done += _process_batch(rows)
        if time.monotonic() > deadline:
            from .tasks import process_inbound_messages

            process_inbound_messages.enqueue()
            return done


_ROW_FIELDS = ("pk", "raw", "mailbox_id", "received_at")
# Waiting messages, said as the condition of inbound_waiting_idx says it: a literal, which a
# plan PostgreSQL keeps for any parameters can match (`status = %s` cannot use a partial
# index). With statistics taken while nothing waited, the kept plan walked the primary key
# through every processed message instead; SQLite sorted every waiting one. Claims now walk
# the waiting messages alone, in order, and stop at their batch.
_WAITING = RawSQL(
    f'"{InboundMessage._meta.db_table}"."status" = \'{InboundMessage.Status.RECEIVED}\'',
    [],
    output_field=BooleanField(),
)


def _claim(size: int) -> list[dict]:
    """Leases up to `size` waiting messages to this worker (oldest first), skipping those that
    another worker holds; returns their raw bytes."""
    now = clock.now()
    waiting = _claimable(now)
    if not waiting.exists():  # a plain read: no transaction (SQLite: no write lock) for nothing
        return []
    with transaction.atomic():
        with _read_in_order():
            claimed = waiting.select_for_update(skip_locked=True).order_by("pk")
            rows = list(claimed.values(*_ROW_FIELDS)[:size])
        if rows:
            InboundMessage.objects.filter(pk__in=[row["pk"] for row in rows]).update(
                claimed_until=now + CLAIM_LEASE
            )
    return rows


def _claimable(now) -> QuerySet[InboundMessage]:
    return InboundMessage.objects.filter(_WAITING).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


@contextmanager
def _read_in_order():
    """PostgreSQL: the block's queries walk indexes in order rather than sorting. Without
    statistics for the inbound table (a new desk, or a burst of mail since they were taken)
    PostgreSQL expects a handful of waiting messages and sorts all of them to claim the
    first batch: 4 ms at 3,000 waiting, more as the backlog grows, where walking
    inbound_waiting_idx reads one batch (0.1 ms). Must run inside a transaction."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")  # undone with the block's rollback
        yield
        cursor.execute("RESET enable_sort")


def process(message_id: int) -> InboundMessage:
    """Turns one stored message into a ticket or a reply (a reprocessed message, a task queued
    for one message); safe to run twice or concurrently with the batches."""
    rows = list(InboundMessage.objects.filter(pk=message_id).values(*_ROW_FIELDS))
    if not rows:
        raise InboundMessage.DoesNotExist(message_id)
    _process_batch(rows)
    return InboundMessage.objects.defer("raw").get(pk=message_id)


def requeue_stale(older_than: timedelta = timedelta(minutes=10)) -> int:
    """Messages still waiting long after they arrived (the enqueue failed, a worker died) get
    a processing task; processing them twice is harmless. Returns how many are waiting."""
    now = clock.now()
    stale = InboundMessage.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        status=InboundMessage.Status.RECEIVED,
        received_at__lt=now - older_than,
    ).count()
    if stale:
        from .tasks import process_inbound_messages

        process_inbound_messages.enqueue()
    return stale


# --- Processing a batch --------------------------------------------------------------------------


class _WaitForOriginal(Exception):
    """A reply arrived while the message it answers is still waiting to be processed."""


class _Batch:
    """What the messages of a batch share, read once: their mailboxes, the known users among
    their senders, the received mail they refer to, the organizations of new senders'
    domains."""

    def __init__(self, rows: list[dict], parsed: dict[int, ParsedMessage | MessageRejected]):
        mailbox_ids = {row["mailbox_id"] for row in rows}
        self.mailboxes = {
            m.pk: m
            for m in Mailbox.objects.filter(pk__in=mailbox_ids)
            .select_related("group", "organization", "category")
            .prefetch_related("group__organizations")
        }
        addresses = {
            p.from_address.lower()
            for p in parsed.values()
            if isinstance(p, ParsedMessage) and p.from_address
        }
        self.users: dict[str, User] = {}
        if addresses:
            known = (
                User.objects.select_related("organization")
                .exclude(email="")
                .annotate(email_lower=Lower("email"))
                .filter(email_lower__in=addresses)
            )
            self.users = {user.email.lower(): user for user in known}
        references = {
            reference
            for p in parsed.values()
            if isinstance(p, ParsedMessage)
            for reference in [*p.in_reply_to, *reversed(p.references)][:50]  # as find_ticket
        }
        self.references = thread_matching.received_references(references)
        self.organizations = account_selectors.organizations_for_domains(
            {
                p.from_address.rpartition("@")[2].lower()
                for p in parsed.values()
                if isinstance(p, ParsedMessage)
                and p.automation is None
                and p.from_address
                and p.from_address.lower() not in self.users
            }
        )
        self.new_users: list[str] = []  # created by the message being processed
        self.group_users: list[str] = []  # created in the transaction, by messages before it
        self.remembered: set[str] = set()  # Message-IDs of the batch's mail given a ticket
        self.finished: list[InboundMessage] = []  # handled in this transaction, to record
        self.retry = False

    def organization_for(self, address: str):
        domain = address.rpartition("@")[2].lower()
        if domain not in self.organizations:
            self.organizations[domain] = account_selectors.organization_for_email(address)
        return self.organizations[domain]

    def forget_new_users(self) -> None:
        """The message's savepoint rolled back: the users it created do not exist."""
        for address in self.new_users:
            self.users.pop(address, None)
        self.new_users = []

    def forget_group_users(self) -> None:
        """The transaction rolled back: the users any of its messages created do not exist."""
        self.new_users += self.group_users
        self.group_users = []
        self.forget_new_users()


def _parse(raw: bytes) -> ParsedMessage | MessageRejected:
    try:
        return parse_message(bytes(raw), Limits())
    except MessageRejected as exc:
        return exc


def _process_batch(rows: list[dict]) -> int:
    """Parses the messages (no transaction open), then processes them a few per transaction,
    a reply after the message it answers when both are in the batch.

    Committing a group rather than each message saves a commit and the automation rules'
    per-transaction work (one task sends the mail of the whole batch); the group stays short
    (GROUP_SIZE, GROUP_SECONDS, and on PostgreSQL it ends with a new user, whom another worker
    may be about to create too) so that the locks it holds (SQLite's write lock above all) are
    released often. A new message, or a reply to mail known to be processed (_may_wait), runs
    without a savepoint of its own (two round trips on PostgreSQL): when one fails, the group
    rolls back and runs again with one savepoint per message, so that the failure is recorded
    and the others are stored."""
    parsed = {row["pk"]: _parse(row["raw"]) for row in rows}
    batch = _Batch(rows, parsed)
    waiting = deque(_originals_first(rows, parsed))
    done = 0
    with outbound.one_send_at_the_end():  # the mail the batch queued, sent by one task
        while waiting:
            group: list[dict] = []
            try:
                done += _process_group(batch, waiting, parsed, group, isolated=False)
            except Exception:
                batch.forget_group_users()
                batch.finished = []
                again = deque(group)
                while again:
                    done += _process_group(batch, again, parsed, [], isolated=True)
    if batch.retry:
        _schedule_retry()
    return done


def _process_group(batch: _Batch, waiting: deque, parsed: dict, group: list, isolated) -> int:
    """One transaction: messages taken from `waiting` (and added to `group`) while the group
    may grow. Not `isolated`, any failure rolls back the whole group. A message that stored
    files ends the group: a later failure would roll back their rows, not the files."""
    done = 0
    # The snapshot around the transaction: what runs once it commits (the automation rules)
    # reads the revisions as the transaction did, without asking again.
    with revisions.snapshot(), transaction.atomic():
        batch.group_users = []
        began = time.monotonic()
        while waiting and len(group) < GROUP_SIZE and time.monotonic() - began < GROUP_SECONDS:
            row = waiting.popleft()
            group.append(row)
            message = parsed[row["pk"]]
            if isolated or _may_wait(batch, message):  # it may have to wait: a savepoint
                done += _process_one(batch, row, message)
            else:
                done += _take_and_handle(batch, row, message, _mine(row))
            batch.group_users += batch.new_users
            if batch.new_users and _new_users_wait_for_commit():
                break  # another worker may need that user: commit now
            if not isolated and _stores_files(message):
                break  # see above
        _record_finished(batch)
    batch.group_users = []
    return done


def _new_users_wait_for_commit() -> bool:
    """Whether another worker inserting the same new user would wait for this transaction to
    end (PostgreSQL: the unique index makes it wait). SQLite lets one transaction write at a
    time: no other worker is inserting anything meanwhile, so the group may go on."""
    return connection.vendor != "sqlite"


def _answers_mail(parsed: ParsedMessage | MessageRejected) -> bool:
    """A reply, which waits when its original is being processed elsewhere (_WaitForOriginal):
    common enough, when workers share a burst of mail, to keep it from rolling back a group."""
    return isinstance(parsed, ParsedMessage) and bool(parsed.in_reply_to or parsed.references)


def _may_wait(batch: _Batch, parsed: ParsedMessage | MessageRejected) -> bool:
    """A reply that may have to wait for its original, so runs in a savepoint of its own: not
    one that answers mail known to be processed (received before the batch began, processed
    earlier in it, or sent by us), whose ticket is found at once. (Should it wait after all,
    its group rolls back and runs again with a savepoint per message.)"""
    if not _answers_mail(parsed):
        return False
    return not any(
        reference in batch.references
        or reference in batch.remembered
        or message_ids.ticket_of(reference) is not None
        for reference in [*parsed.in_reply_to, *reversed(parsed.references)][:50]
    )


def _stores_files(parsed: ParsedMessage | MessageRejected) -> bool:
    return isinstance(parsed, ParsedMessage) and any(a.content for a in parsed.attachments)


def _originals_first(rows: list[dict], parsed: dict) -> list[dict]:
    """In arrival order, except that a message answering a later one of the batch follows it."""
    position = {
        p.message_id: n
        for n, row in enumerate(rows)
        if isinstance(p := parsed[row["pk"]], ParsedMessage) and p.message_id
    }

    def after(n: int, row: dict) -> int:
        p = parsed[row["pk"]]
        if not isinstance(p, ParsedMessage):
            return n
        answered = [position.get(ref, -1) for ref in (*p.in_reply_to, *p.references)]
        return max([n, *(a + 1 for a in answered if a > n)])

    return [row for _n, row in sorted(enumerate(rows), key=lambda item: (after(*item), item[0]))]


def _process_one(batch: _Batch, row: dict, parsed: ParsedMessage | MessageRejected) -> int:
    """One message, one savepoint: taken (unless processed meanwhile), then handled. When that
    fails, the savepoint rolls back and the message is recorded as it ended (duplicate,
    quarantined with the error), or left for a moment (waiting for the message it answers;
    a deadlock or lock timeout with another worker). Returns 1 when it was processed now."""
    mine = _mine(row)
    try:
        with transaction.atomic():
            return _take_and_handle(batch, row, parsed, mine)
    except (_WaitForOriginal, OperationalError) as exc:
        if isinstance(exc, OperationalError):
            log.warning("Inbound message %s will be tried again: %s", row["pk"], exc)
        batch.forget_new_users()
        batch.retry = True
        mine().update(claimed_until=clock.now() + RETRY_DELAY)
        return 0
    except _Duplicate:
        outcome = {"status": InboundMessage.Status.IGNORED, "result": "duplicate", "error": ""}
    except MessageRejected as exc:
        outcome = {"status": InboundMessage.Status.QUARANTINED, "result": "rejected"}
        outcome["error"] = exc.reason
    except Exception as exc:  # anything else is a bug or bad data: keep it for an admin
        log.exception("Inbound message %s could not be processed", row["pk"])
        outcome = {"status": InboundMessage.Status.QUARANTINED, "result": "error"}
        outcome["error"] = f"{type(exc).__name__}: {exc}"[:2000]
    batch.forget_new_users()
    mine().update(**_taken_fields(parsed), **outcome, processed_at=clock.now())
    return 1


def _mine(row: dict):
    def mine():  # rarely needed: not built for every message
        return InboundMessage.objects.filter(pk=row["pk"], status=InboundMessage.Status.RECEIVED)

    return mine


def _take_and_handle(batch: _Batch, row: dict, parsed, mine) -> int:
    """The message taken and handled in the caller's transaction; 1 when it ended now."""
    batch.new_users = []
    message = _take(batch, row, parsed, mine)
    if message is None or message is _ENDED:
        return int(message is _ENDED)
    _handle(message, parsed, batch)
    if message.processed_at is None:
        raise RuntimeError("The message was handled without an outcome.")
    batch.finished.append(message)
    if message.result in ("created", "appended") and parsed.message_id:  # see _remember
        batch.remembered.add(parsed.message_id)
    return 1


_ENDED = object()  # _take's answer for a message it recorded as ended (over a limit, own mail)


class _Duplicate(Exception):
    """A copy of the message with the same Message-ID was processed already."""


def _taken_fields(parsed: ParsedMessage | MessageRejected) -> dict:
    fields = {"attempts": F("attempts") + 1, "claimed_until": None}
    if isinstance(parsed, ParsedMessage):
        fields["message_id"] = (parsed.message_id or "")[:998]
        fields["sender"] = parsed.from_address[:254]
        fields["subject"] = parsed.subject[:255]
    return fields


def _take(batch: _Batch, row: dict, parsed, mine):
    """Marks the message as this transaction's (its row stays locked until the end) and
    returns it to be handled; _ENDED when it ended here (over a limit, our own mail); None
    when another worker processed it first. A processed copy of the same Message-ID raises
    _Duplicate: the unique constraint says so, even when that copy commits a moment later."""
    fields, now = _taken_fields(parsed), clock.now()
    if isinstance(parsed, MessageRejected):
        rejected = {"status": InboundMessage.Status.QUARANTINED, "result": "rejected"}
        ended = mine().update(**fields, **rejected, error=parsed.reason, processed_at=now)
        return _ENDED if ended else None
    if parsed.message_id and message_ids.is_ours(parsed.message_id):
        ignored = {"status": InboundMessage.Status.IGNORED, "result": "own_mail"}
        ended = mine().update(**fields, **ignored, processed_at=now)
        return _ENDED if ended else None
    try:
        taken = _mark_taken(row["pk"], fields)
    except IntegrityError:
        raise _Duplicate from None
    if not taken:
        return None
    message = InboundMessage(
        pk=row["pk"], mailbox=batch.mailboxes[row["mailbox_id"]], received_at=row["received_at"]
    )
    message.message_id, message.sender = fields["message_id"], fields["sender"]
    message.subject = fields["subject"]
    return message


def _mark_taken(pk: int, fields: dict) -> int:
    """1 when the message was waiting and is now taken, 0 when it was not waiting."""
    status = InboundMessage.Status
    values = [fields["message_id"], fields["sender"], fields["subject"]]
    with connection.cursor() as cursor:
        cursor.execute(_SQL.take, [status.PROCESSED, *values, pk, status.RECEIVED])
        return cursor.rowcount


def _finish(message, status, result, *, ticket=None, comment=None, error="") -> None:
    """How the message ended; written with the others of its transaction (_record_finished)."""
    message.status, message.result, message.error = status, result, error
    message.ticket, message.comment = ticket, comment
    message.processed_at = clock.now()


def _record_finished(batch: _Batch) -> None:
    """One statement for the messages of the transaction that ended well, before it commits."""
    if not batch.finished:
        return
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        (m.status, m.result, m.error, m.ticket_id, m.comment_id, adapt(m.processed_at), m.pk)
        for m in batch.finished
    ]
    with connection.cursor() as cursor:
        cursor.executemany(_SQL.finish, rows)
    batch.finished = []


def _handle(message: InboundMessage, parsed: ParsedMessage, batch: _Batch) -> None:
    ignored = InboundMessage.Status.IGNORED
    if parsed.automation == "bounce":
        return _handle_bounce(message, parsed)
    if parsed.automation is not None:
        return _handle_automatic(message, parsed, batch)
    if not parsed.from_address:
        raise MessageRejected("The message has no usable sender address.")
    domains = message.mailbox.allowed_domains
    if domains and parsed.from_address.rpartition("@")[2] not in domains:
        return _finish(message, ignored, "sender_not_allowed")
    sender = _sender(parsed, batch)
    ticket = _find_ticket(message, parsed, sender, batch)
    if ticket is not None:
        return _append(message, parsed, sender, ticket)
    return _create(message, parsed, sender)


def _find_ticket(message: InboundMessage, parsed: ParsedMessage, sender, batch: _Batch):
    """The ticket the message belongs to. A reply that matches none while the message it
    answers is still waiting (another worker has it, or it arrived later) waits for it, for up
    to PARENT_WAIT, rather than opening a second ticket for one conversation. (An unknown
    sender of an auto-reply may be the author of that message, not created yet.)"""
    known = batch.references
    ticket = thread_matching.find_ticket(parsed, sender, known) if sender is not None else None
    if ticket is None and _nothing_waiting_for(message, parsed):
        # The original may have been committed between the two looks: look again.
        if sender is None:
            sender = User.objects.filter(email__iexact=parsed.from_address).first()
        if sender is not None:
            ticket = thread_matching.find_ticket(parsed, sender)
    return ticket


def _nothing_waiting_for(message: InboundMessage, parsed: ParsedMessage) -> bool:
    """Raises _WaitForOriginal when a message this one answers is still waiting; True when
    none is (so whatever it answers is committed by now), False when that does not apply."""
    from .tasks import process_inbound_messages

    references = [*parsed.in_reply_to, *parsed.references][:50]
    if not references or message.received_at < clock.now() - PARENT_WAIT:
        return False
    if not process_inbound_messages.get_backend().supports_defer:
        return False  # nothing could come back to it later
    waiting = InboundMessage.objects.filter(
        mailbox_id=message.mailbox_id,
        message_id__in=references,
        status=InboundMessage.Status.RECEIVED,
    ).exclude(pk=message.pk)
    if waiting.exists():
        raise _WaitForOriginal
    return True


def _sender(parsed: ParsedMessage, batch: _Batch) -> User:
    """The known user with this address, or a new requester (organization by e-mail domain)."""
    address = parsed.from_address.lower()
    user = batch.users.get(address)
    if user is not None:
        return user
    try:  # create_user is atomic: a clash rolls back its savepoint, not the message
        user = _new_requester(parsed, batch)
    except (Conflict, IntegrityError):  # another worker created them a moment ago
        user = User.objects.select_related("organization").get(email__iexact=parsed.from_address)
    else:
        batch.new_users.append(address)
    batch.users[address] = user
    return user


def _new_requester(parsed: ParsedMessage, batch: _Batch) -> User:
    """Named after the address; create_user checks that the name is free, so another is
    looked for only when it is not (it rarely is not: addresses are unique)."""
    first, _sep, last = parsed.from_name.partition(" ")
    fields = {"email": parsed.from_address, "first_name": first[:150], "last_name": last[:150]}
    fields["organization"] = batch.organization_for(parsed.from_address)
    base = _username_base(parsed.from_address)
    user = account_services.insert_requester(username=base, **fields)  # most: one statement
    if user is not None:
        return user
    try:
        return account_services.create_user(actor=None, username=base, **fields)
    except Conflict as exc:
        if "username" not in exc.errors:
            raise
    return account_services.create_user(actor=None, username=_free_username(base), **fields)


def _username_base(address: str) -> str:
    return "".join(ch for ch in address.lower() if ch.isalnum() or ch in "@.+-_")[:140] or "user"


def _free_username(base: str) -> str:
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
    """Replies to this message will find the ticket."""
    if not parsed.message_id:
        return
    created = connection.ops.adapt_datetimefield_value(clock.now())
    with connection.cursor() as cursor:
        cursor.execute(
            _SQL.reference, [parsed.message_id, ticket.pk, False, parsed.from_address, created]
        )


def _copied(addresses: list[tuple[str, str]], *, exclude: list[str]) -> list[str]:
    """The addresses that may become participants (most mail copies nobody: no query then)."""
    skip = {address.lower() for address in exclude if address}
    return [a for _name, a in addresses if a and "@" in a and a.strip().lower() not in skip]


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
    copied = _copied(parsed.cc + parsed.to, exclude=[message.mailbox.address])
    if copied:
        ticket_services.add_participants(
            actor=None, ticket=ticket, emails=copied, exclude=[message.mailbox.address]
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
    copied = _copied(parsed.cc, exclude=[mailbox.address, sender.email])
    if copied:
        ticket_services.add_participants(
            actor=None, ticket=ticket, emails=copied, exclude=[mailbox.address, sender.email]
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


def _handle_automatic(message, parsed: ParsedMessage, batch: _Batch) -> None:
    """Auto-replies are kept on their ticket as a note, never answered, never a new ticket."""
    sender = batch.users.get(parsed.from_address.lower())
    if sender is None and parsed.from_address:  # perhaps created since the batch began
        sender = User.objects.filter(email__iexact=parsed.from_address).first()
    ticket = _find_ticket(message, parsed, sender, batch) if parsed.from_address else None
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
    message.claimed_until = None
    message.save(update_fields=["status", "error", "claimed_until"])
    transaction.on_commit(lambda: _enqueue(message.pk))
    return message
